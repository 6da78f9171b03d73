// Test-only module: exposes the math helpers the kernels share, so the test suite can compare them
// with V8's Math bit for bit (test/backends-math.test.ts). Not a kernel.
import { fdlibmLog } from './fdlibm';
import { fdlibmExp } from './fdlibmExp';
export { heapBase } from './common';

/** out[i] = log(x[i]) with the kernels' logarithm. */
export function logArray(x: usize, len: i32, out: usize): void {
  for (let i = 0; i < len; i++) store<f64>(out + (<usize>i << 3), fdlibmLog(load<f64>(x + (<usize>i << 3))));
}

/** out[i] = exp(x[i]) with the kernels' exponential. */
export function expArray(x: usize, len: i32, out: usize): void {
  for (let i = 0; i < len; i++) store<f64>(out + (<usize>i << 3), fdlibmExp(load<f64>(x + (<usize>i << 3))));
}

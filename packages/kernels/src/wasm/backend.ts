// The WASM backend: the reference kernel set with every kernel that has an AssemblyScript module
// replaced by a wrapper that runs it. Each wrapper keeps the reference's signature.
import { existsSync } from 'node:fs';
import type { Kernels } from '../reference/index.js';
import { compiledKernelNames } from '../registry.js';
import { binEventsWasm } from './bin-events.js';
import { instantiateKernelModule, type WasmKernelModule } from './module.js';
import { wasmModulePath } from './compile.js';

type AnyKernel = (...args: never[]) => unknown;

/** Builds the wrapper of one kernel from its instantiated module. */
const ADAPTERS: Record<string, (m: WasmKernelModule, reference: Kernels) => AnyKernel> = {
  correlateDisk: (m) =>
    ((img: Float64Array, nx: number, ny: number, kernel: Float64Array, kn: number, out: Float64Array): void => {
      m.call('correlateDisk', ['in', null, null, 'in', null, 'out'], [img.subarray(0, nx * ny), nx, ny, kernel.subarray(0, kn * kn), kn, out.subarray(0, nx * ny)]);
    }) as AnyKernel,
  cashStatistics: (m) =>
    ((nOn: Float64Array, muB: Float64Array, outExcess: Float64Array, outTs: Float64Array, outSqrtTs: Float64Array): void => {
      const len = nOn.length;
      m.call('cashStatistics', ['in', 'in', null, 'out', 'out', 'out'], [nOn, muB.subarray(0, len), len, outExcess.subarray(0, len), outTs.subarray(0, len), outSqrtTs.subarray(0, len)]);
    }) as AnyKernel,
  binEvents: (m, reference) => binEventsWasm(m, reference) as AnyKernel,
};

/** Whether every compiled kernel has its module in build/ (what "WASM is available" means). */
export function wasmMissing(): string[] {
  return compiledKernelNames().filter((k) => ADAPTERS[k] && !existsSync(wasmModulePath(k)));
}

/**
 * The kernel set with WASM where a module exists. Modules are read fresh on every call, so a
 * `rebuildWasm` during watch mode is picked up by the next `loadKernels('wasm')`.
 */
export async function loadWasmKernels(reference: Kernels): Promise<Kernels> {
  const kernels: Record<string, unknown> = { ...reference };
  for (const name of compiledKernelNames()) {
    const adapter = ADAPTERS[name];
    if (!adapter || !(name in reference)) continue;
    kernels[name] = adapter(await instantiateKernelModule(wasmModulePath(name)), reference);
  }
  return kernels as unknown as Kernels;
}

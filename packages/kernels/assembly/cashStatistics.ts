// Port of src/reference/stats.ts `cashStatistics` with fdlibm's log (V8's), so the output is
// bit-identical to the reference.
import { fdlibmLog } from './fdlibm';
export { heapBase } from './common';

const CASH_TRUNCATION: f64 = 1e-25;

@inline function cash(n: f64, mu: f64): f64 {
  const m = mu <= CASH_TRUNCATION ? CASH_TRUNCATION : mu;
  return 2 * (m - n * fdlibmLog(m));
}

/** Per pixel: excess = n − μ, TS = max(0, C(n, μ) − C(n, n)), sqrtTs = sign(excess)·√TS. */
export function cashStatistics(nOn: usize, muB: usize, len: i32, outExcess: usize, outTs: usize, outSqrtTs: usize): void {
  for (let i = 0; i < len; i++) {
    const at = <usize>i << 3;
    const n = load<f64>(nOn + at);
    const mu = load<f64>(muB + at);
    const excess = n - mu;
    let ts = cash(n, mu) - cash(n, n);
    if (ts < 0) ts = 0;
    const root = Math.sqrt(ts);
    store<f64>(outExcess + at, excess);
    store<f64>(outTs + at, ts);
    store<f64>(outSqrtTs + at, excess > 0 ? root : excess < 0 ? -root : excess == 0 ? 0 : NaN);
  }
}

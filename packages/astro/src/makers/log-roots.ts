/**
 * What gammapy's SafeMaskMaker thresholds share (edisp-bias.ts, aeff-max.ts): a quantity tabulated at true-energy
 * centres, interpolated log-log as gammapy's LogScale does, and the first energy where it crosses a target, found as
 * gammapy's `find_roots` does (a log-spaced grid, then the bracket where the sign changes refined).
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';

/**
 * exp of the linear interpolation of `ly` over `lx` at `lv` (extrapolated from the end segments), 0 at or below
 * 2·tiny (LogScale's inverse clips there).
 */
export function logLogAt(lx: ArrayLike<number>, ly: ArrayLike<number>, lv: number): number {
  let i = 0;
  while (i < lx.length - 2 && (lx[i + 1] as number) <= lv) i++;
  const t = (lv - (lx[i] as number)) / ((lx[i + 1] as number) - (lx[i] as number));
  const out = Math.exp((ly[i] as number) * (1 - t) + (ly[i + 1] as number) * t);
  return Math.abs(out) - FLOAT32_TINY <= FLOAT32_TINY ? 0 : out;
}

/**
 * The first root of `f` on `points` energies log-spaced from `lo` to `hi` (both included): a grid energy where f is
 * 0, or the bracket where f changes sign, bisected in log E to relative width `relTol` (brentq's answer to its
 * tolerance); undefined when f keeps its sign.
 */
export function firstRootOnLogGrid(
  f: (e: number) => number,
  lo: number,
  hi: number,
  points: number,
  relTol: number,
): number | undefined {
  const a = Math.log(lo);
  const step = (Math.log(hi) - a) / (points - 1);
  let prevE = lo;
  let prevF = f(lo);
  if (prevF === 0) return lo;
  for (let k = 1; k < points; k++) {
    const e = k === points - 1 ? hi : Math.exp(a + k * step);
    const fe = f(e);
    if (fe === 0) return e;
    if (Math.sign(fe) !== Math.sign(prevF)) return bisectLog(f, prevE, prevF, e, relTol);
    prevE = e;
    prevF = fe;
  }
  return undefined;
}

/** Bisection in log E of a bracket [lo, hi] where f changes sign (f(lo) = flo ≠ 0). */
function bisectLog(f: (e: number) => number, lo: number, flo: number, hi: number, relTol: number): number {
  let a = lo;
  let c = hi;
  let fa = flo;
  for (let it = 0; it < 200 && c - a > relTol * c; it++) {
    const m = Math.sqrt(a * c);
    const fm = f(m);
    if (fm === 0) return m;
    if (Math.sign(fm) === Math.sign(fa)) {
      a = m;
      fa = fm;
    } else c = m;
  }
  return Math.sqrt(a * c);
}

/**
 * The aeff-max energy threshold of gammapy 1.0's SafeMaskMaker (make_mask_energy_aeff_max): the effective area at
 * the centre of the run's map (its exposure there ÷ livetime, float32) as a TemplateSpectralModel over the
 * true-energy centres (log-log interpolation, values clipped to float32 tiny and their logs in float32), and the
 * lowest energy where it reaches aeff_percent % of its maximum: the first sign change of A(E) − threshold on
 * find_roots' grid of 101 log-spaced energies from the first centre with A > 0 to the last centre, solved in that
 * bracket. Without a sign change the threshold is that first centre with A > 0. The reco bins whose lower edge is
 * at or above the threshold are kept (geom.energy_mask).
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';
import { type EnergyAxis, logCentres } from '../geom/energy-axis.js';

/**
 * Threshold energy (TeV) from the effective area per true-energy bin at the map centre (any unit), or undefined
 * when it is zero everywhere (gammapy then masks the whole run).
 */
export function aeffMaxEnergy(
  aeff: ArrayLike<number>,
  energyTrue: EnergyAxis,
  aeffPercent: number,
): number | undefined {
  const centres = logCentres(energyTrue);
  const n = centres.length;
  let first = -1;
  let max = 0;
  for (let t = 0; t < n; t++) {
    const v = aeff[t] as number;
    if (v > 0 && first < 0) first = t;
    if (v > max) max = v;
  }
  if (first < 0) return undefined;
  const energyMin = centres[first] as number;
  if (n < 2) return energyMin;
  const threshold = (aeffPercent / 100) * max;
  const lx = Array.from(centres, Math.log);
  // gammapy's LogScale: values clipped to float32 tiny, log taken in float32 (the aeff map is float32).
  const ly = Array.from(aeff, (v) => Math.fround(Math.log(Math.max(Math.fround(v), FLOAT32_TINY))));
  const f = (e: number) => logLogAt(lx, ly, Math.log(e)) - threshold;
  // find_roots(points_scale="log", nbin=100): exp(np.linspace(ln lo, ln hi, 101)), the last point exactly ln hi.
  const a = Math.log(energyMin);
  const b = Math.log(centres[n - 1] as number);
  const step = (b - a) / 100;
  const grid = Array.from({ length: 101 }, (_, k) => Math.exp(k === 100 ? b : k * step + a));
  let prev = Math.sign(f(grid[0] as number));
  for (let k = 1; k < grid.length; k++) {
    const s = Math.sign(f(grid[k] as number));
    if (s !== prev) return rootInBracket(f, grid[k - 1] as number, grid[k] as number);
    prev = s;
  }
  return energyMin;
}

/** exp of the linear interpolation of ly over lx at lv (extrapolated from the end segments), 0 below 2·tiny. */
function logLogAt(lx: readonly number[], ly: readonly number[], lv: number): number {
  let i = 0;
  while (i < lx.length - 2 && (lx[i + 1] as number) <= lv) i++;
  const t = (lv - (lx[i] as number)) / ((lx[i + 1] as number) - (lx[i] as number));
  const out = Math.exp((ly[i] as number) * (1 - t) + (ly[i + 1] as number) * t);
  return Math.abs(out) - FLOAT32_TINY <= FLOAT32_TINY ? 0 : out;
}

/** The root of f in [lo, hi], where f changes sign (brentq's answer to its tolerance), by bisection in log E. */
function rootInBracket(f: (e: number) => number, lo: number, hi: number): number {
  let a = lo;
  let c = hi;
  let fa = f(a);
  if (fa === 0) return a;
  if (f(c) === 0) return c;
  for (let it = 0; it < 200 && c - a > 1e-14 * c; it++) {
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

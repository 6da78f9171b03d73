/**
 * Grouping reco-energy bins into the excess map's output bins, and squashing a cube to one image per group
 * (science spec §7.1): counts summed where mask_safe holds, background summed without the mask, mask OR-ed.
 */
import { logR } from '../geom/rounded-math.js';
import { roundHalfEven } from '../geom/rounding.js';

/** A run of reco bins [first, last) forming one output bin. */
export interface EnergyGroup {
  first: number;
  last: number;
  eMin: number;
  eMax: number;
}

/** Why output energy edges cannot be used. */
export type EnergyGroupingFailure = {
  reason: 'energy-edges-invalid';
  message: string;
};

/**
 * The output bins for `energyEdges` (TeV, strictly increasing), or a single bin spanning the whole reco axis when
 * `energyEdges` is undefined (gammapy's default). As gammapy's MapAxis.group_table: each edge goes to its
 * fractional position on the reco axis (log-interpolated between reco edges, clipped to the axis), is rounded
 * half-to-even to the nearest reco edge, and repeated edges collapse; so 1–10 TeV on a 0.8–12 TeV axis of 7 bins
 * groups whole reco bins whose edges are nearest to 1 and 10 TeV.
 * gammapy 1.0 then resamples with np.digitize of group edges it recomputes (exp of interpolated log edges) against
 * the axis edges it also recomputes: an edge an ulp off moves a group boundary by one bin (1–10 TeV in 5 groups over
 * 10 bins: [0], [1–3], … instead of [0–1], [2–3], …), and which edges come out an ulp off depends on numpy's build
 * and the CPU (its AVX-512 exp and log round differently from libm's). pipe groups exactly; see README.
 */
export function groupEnergyBins(
  recoEdges: ArrayLike<number>,
  energyEdges?: ArrayLike<number>,
): EnergyGroup[] | EnergyGroupingFailure {
  const nReco = recoEdges.length - 1;
  if (energyEdges === undefined)
    return [{ first: 0, last: nReco, eMin: recoEdges[0] as number, eMax: recoEdges[nReco] as number }];
  if (energyEdges.length < 2)
    return {
      reason: 'energy-edges-invalid',
      message: `energy_edges needs at least 2 values, got ${energyEdges.length}`,
    };
  const logEdges = Array.from(recoEdges, logOf);
  const indices: number[] = [];
  for (let i = 0; i < energyEdges.length; i++) {
    const e = energyEdges[i] as number;
    if (!(e > 0) || !Number.isFinite(e))
      return {
        reason: 'energy-edges-invalid',
        message: `energy edge ${e} TeV is not a positive finite energy`,
      };
    if (i > 0 && !(e > (energyEdges[i - 1] as number)))
      return {
        reason: 'energy-edges-invalid',
        message: `energy_edges must increase strictly; ${e} TeV follows ${energyEdges[i - 1]} TeV`,
      };
    const k = groupEdgeIndex(logEdges, e);
    if (indices[indices.length - 1] !== k) indices.push(k);
  }
  if (indices.length < 2) {
    // Edges computed on a log grid (50.00000000000001): shown to 6 digits, as the axis is.
    const shown = (edges: ArrayLike<number>) => Array.from(edges, (v) => Number(v.toPrecision(6))).join(', ');
    return {
      reason: 'energy-edges-invalid',
      message: `energy_edges ${shown(energyEdges)} TeV do not overlap the reco energy axis (${shown(recoEdges)})`,
    };
  }
  const groups: EnergyGroup[] = [];
  for (let g = 0; g + 1 < indices.length; g++) {
    const first = indices[g] as number;
    const last = indices[g + 1] as number;
    groups.push({ first, last, eMin: recoEdges[first] as number, eMax: recoEdges[last] as number });
  }
  return groups;
}

/** gammapy's LogScale: ln of the value clipped to float32's smallest normal. */
const FLOAT32_TINY = 1.1754943508222875e-38;
const logOf = (v: number) => logR(Math.max(v, FLOAT32_TINY));

/**
 * The reco edge nearest energy `e`, as gammapy 1.0's MapAxis.group_table computes it, operation for operation:
 * coord_to_pix is scipy's interp1d(kind=1) of ln e on (ln edge_k, k), which an integer kind evaluates as a degree-1
 * B-spline (de Boor): in the interval [x_lo, x_hi) holding x (the end intervals beyond the axis),
 * lo·(w·(x_hi − x)) + hi·(w·(x − x_lo)) with w = 1/(x_hi − x_lo); less the edges' 0.5 pixel offset; clipped to
 * [−0.5, n − 0.5], then round(pix + 0.5) half to even. A group boundary mid-way through a reco bin in log (5 reco
 * bins in 2 groups, 9 in 2) is decided by the last bits of this arithmetic: with correctly rounded logs (as glibc's,
 * which numpy calls unless its AVX-512 ones) it lands where gammapy's does.
 */
function groupEdgeIndex(logEdges: readonly number[], e: number): number {
  return roundHalfEven(groupEdgePosition(logEdges, e));
}

/** groupEdgeIndex's position before it is rounded (reco edge k at k). */
function groupEdgePosition(logEdges: readonly number[], e: number): number {
  const n = logEdges.length - 1;
  const x = logOf(e);
  let lo = 0;
  while (lo + 1 < n && (logEdges[lo + 1] as number) <= x) lo++; // scipy's find_interval: x_lo ≤ x < x_hi
  const hi = lo + 1;
  const xLo = logEdges[lo] as number;
  const xHi = logEdges[hi] as number;
  const w = 1 / (xHi - xLo);
  const pix = lo * (w * (xHi - x)) + hi * (w * (x - xLo)) - 0.5;
  const clipped = Math.min(Math.max(pix, -0.5), n - 0.5);
  return clipped + 0.5;
}

/**
 * The energies of `energyEdges` that fall mid-way through a reco bin in log, up to rounding (1e-9 of a bin): where
 * gammapy's group boundary is decided by the last bits of its arithmetic, which pipe reproduces for TeV axes and
 * glibc's exp and log, but not for a config in other units or numpy's AVX-512 functions (README).
 */
export function midBinTies(recoEdges: ArrayLike<number>, energyEdges: ArrayLike<number>): number[] {
  const logEdges = Array.from(recoEdges, logOf);
  const n = logEdges.length - 1;
  return Array.from(energyEdges).filter((e) => {
    const p = groupEdgePosition(logEdges, e);
    return p > 0 && p < n && Math.abs(p - Math.floor(p) - 0.5) < 1e-9;
  });
}

/** One output bin's images (length npix each). */
export interface SquashedImage {
  /** Σ_k counts·mask_k. */
  counts: Float64Array;
  /** Σ_k background (unmasked), what gammapy's estimator correlates. */
  background: Float64Array;
  /**
   * Σ_k background·mask_k: the background of the bins whose counts enter `counts`, for whole-map totals. It differs
   * from `background` only where the mask varies with energy within a pixel, i.e. on an unstacked run (a stack's
   * background is already 0 where no run was safe).
   */
  backgroundSafe: Float64Array;
  /** OR_k mask_k as 0/1. */
  mask: Float64Array;
}

/** Squashes the reco bins of `group` of [E][y][x] cubes (npix = nx·ny per plane). Non-zero mask = safe. */
export function squashGroup(
  counts: ArrayLike<number>,
  background: ArrayLike<number>,
  maskSafe: ArrayLike<number> | undefined,
  npix: number,
  group: EnergyGroup,
): SquashedImage {
  const c = new Float64Array(npix);
  const b = new Float64Array(npix);
  const bSafe = new Float64Array(npix);
  const m = new Float64Array(npix);
  for (let k = group.first; k < group.last; k++) {
    const off = k * npix;
    for (let p = 0; p < npix; p++) {
      const safe = maskSafe === undefined || (maskSafe[off + p] as number) !== 0;
      if (safe) {
        c[p] = (c[p] as number) + (counts[off + p] as number);
        bSafe[p] = (bSafe[p] as number) + (background[off + p] as number);
        m[p] = 1;
      }
      b[p] = (b[p] as number) + (background[off + p] as number);
    }
  }
  return { counts: c, background: b, backgroundSafe: bSafe, mask: m };
}

/**
 * FoV background normalisation, method "scale" (science spec §4.5): one scalar per run, the ratio of counts to
 * background summed over the safe, non-excluded bins.
 */

/** Why a run's background could not be normalised (the run is then masked out entirely). */
export type FovNormInvalidReason =
  | 'norm-not-finite'
  | 'background-not-positive'
  | 'counts-not-positive'
  | 'residual-not-positive'
  /** B ≤ min_npred_background (gammapy's FoVBackgroundMaker requirement), the minimum above 0. */
  | 'background-below-minimum'
  /** N ≤ min_counts, the minimum above 0. */
  | 'counts-below-minimum'
  /** method fit with an lp-norm or ecpl-norm model (fov-spectrum.ts): gammapy's "Fit did not converge". */
  | 'fit-not-converged';

/** gammapy's FoVBackgroundMaker requirements: a run is normalised only if B > minNpredBackground and N > minCounts. */
export interface FovNormRequirements {
  minCounts?: number;
  minNpredBackground?: number;
}

export interface FovNorm {
  /** The scale applied to the background (1 when invalid). */
  norm: number;
  /** Statistical error √N / B. */
  normErr: number;
  /** N = Σ_M counts, B = Σ_M background. */
  countsTotal: number;
  backgroundTotal: number;
  /** Set when the fit was rejected: the run's mask_safe must become all false. */
  invalid?: FovNormInvalidReason;
}

/**
 * N / B over M = mask_safe AND exclusion (broadcast over the nE energy planes) AND background not NaN. A run that
 * fails a requirement (gammapy: "FoVBackgroundMaker failed … Setting mask to False") is returned `invalid`.
 * counts, background, maskSafe: [E][p] with npix pixels per plane; exclusion: npix bytes (1 = usable).
 * `shape`, one factor per energy plane: the background's spectral model at its defaults (lp-norm, ecpl-norm),
 * which gammapy's sums see; without it the factor is 1 (pl-norm).
 */
export function fovBackgroundNorm(
  counts: Float32Array,
  background: Float32Array,
  maskSafe: Uint8Array,
  exclusion: Uint8Array,
  npix: number,
  nE: number,
  requirements: FovNormRequirements = {},
  shape?: ArrayLike<number>,
): FovNorm {
  let n = 0;
  let b = 0;
  for (let k = 0; k < nE; k++) {
    const base = k * npix;
    const factor = shape ? (shape[k] as number) : 1;
    for (let p = 0; p < npix; p++) {
      if (exclusion[p] === 0 || maskSafe[base + p] === 0) continue;
      const bg = background[base + p] as number;
      if (Number.isNaN(bg)) continue;
      n += counts[base + p] as number;
      b += bg * factor;
    }
  }
  const norm = n / b;
  const result: FovNorm = { norm, normErr: Math.sqrt(n) / b, countsTotal: n, backgroundTotal: b };
  // gammapy's checks, in its order. With no source model, Npred_total = B, so the residual N − (Npred_total − B)
  // is N itself.
  const minB = requirements.minNpredBackground ?? 0;
  const minN = requirements.minCounts ?? 0;
  const invalid: FovNormInvalidReason | undefined = !Number.isFinite(norm)
    ? 'norm-not-finite'
    : b <= minB
      ? minB > 0
        ? 'background-below-minimum'
        : 'background-not-positive'
      : n <= minN
        ? minN > 0
          ? 'counts-below-minimum'
          : 'counts-not-positive'
        : undefined;
  if (invalid) return { ...result, norm: 1, normErr: Number.NaN, invalid };
  return result;
}

/** Per energy plane, over the same mask: the counts on pixels with background (the Cash fit's N_k) and B_k. */
export interface FovPlaneSums {
  counts: Float64Array;
  background: Float64Array;
  /** A NaN background inside the mask (gammapy's fit statistic is then NaN). */
  nan: boolean;
}

export function fovPlaneSums(
  counts: Float32Array,
  background: Float32Array,
  maskSafe: Uint8Array,
  exclusion: Uint8Array,
  npix: number,
  nE: number,
): FovPlaneSums {
  const sums: FovPlaneSums = { counts: new Float64Array(nE), background: new Float64Array(nE), nan: false };
  for (let k = 0; k < nE; k++) {
    const base = k * npix;
    let n = 0;
    let b = 0;
    for (let p = 0; p < npix; p++) {
      if (exclusion[p] === 0 || maskSafe[base + p] === 0) continue;
      const bg = background[base + p] as number;
      if (Number.isNaN(bg)) sums.nan = true;
      else if (bg > 0) {
        // A pixel without background predicts 0 whatever the model: gammapy's Cash truncates it to a constant.
        n += counts[base + p] as number;
        b += bg;
      }
    }
    sums.counts[k] = n;
    sums.background[k] = b;
  }
  return sums;
}

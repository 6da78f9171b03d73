// Grid search for the multilinear interpolation of science spec §6 (scipy RegularGridInterpolator with
// extrapolation): the cell i = clamp(searchsorted(g, x) − 1, 0, n − 2) and the weight t = (x − g_i)/(g_{i+1} − g_i),
// which may fall outside [0, 1] (linear extrapolation from the edge cell).

/**
 * Index of the interpolation cell of x among the n ascending nodes g[off .. off + n): the largest i in
 * [0, n − 2] with g[off + i] < x (searchsorted 'left' − 1), 0 when none. For n = 1 it returns 0.
 * NaN gives 0 (numpy would give n − 2); its weight is NaN either way, so the result is the same.
 */
export function cellIndex(g: Float64Array, off: number, n: number, x: number): number {
  if (n < 2) return 0;
  // first index j with g[j] >= x (numpy searchsorted side='left')
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((g[off + mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  let i = lo - 1;
  if (i < 0) i = 0;
  if (i > n - 2) i = n - 2;
  return i;
}

/** Weight t of x in cell i (0 for a single-node axis, which interpolation drops). */
export function cellWeight(g: Float64Array, off: number, n: number, i: number, x: number): number {
  if (n < 2) return 0;
  const g0 = g[off + i] as number;
  return (x - g0) / ((g[off + i + 1] as number) - g0);
}

/** Float32 smallest normal, the clip level of gammapy's log-value interpolation. */
export const FLOAT32_TINY = 1.1754943508222875e-38;

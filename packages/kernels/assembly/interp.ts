// Port of src/reference/interp.ts: the interpolation cell and weight of science spec §6.

/** Largest i in [0, n − 2] with g[i] < x (searchsorted 'left' − 1), 0 when none (and for NaN). */
export function cellIndex(g: usize, n: i32, x: f64): i32 {
  if (n < 2) return 0;
  let lo: i32 = 0;
  let hi: i32 = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<f64>(g + (<usize>mid << 3)) < x) lo = mid + 1;
    else hi = mid;
  }
  let i = lo - 1;
  if (i < 0) i = 0;
  if (i > n - 2) i = n - 2;
  return i;
}

/** Weight t of x in cell i (0 for a single-node axis). */
export function cellWeight(g: usize, n: i32, i: i32, x: f64): f64 {
  if (n < 2) return 0;
  const g0 = load<f64>(g + (<usize>i << 3));
  return (x - g0) / (load<f64>(g + (<usize>(i + 1) << 3)) - g0);
}

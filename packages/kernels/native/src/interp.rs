//! Port of src/reference/interp.ts: the interpolation cell and weight of science spec §6.

/// Largest i in [0, n − 2] with g[i] < x (searchsorted 'left' − 1), 0 when none (and for NaN).
#[inline]
pub fn cell_index(g: &[f64], n: usize, x: f64) -> usize {
  if n < 2 {
    return 0;
  }
  let (mut lo, mut hi) = (0usize, n);
  while lo < hi {
    let mid = (lo + hi) >> 1;
    if g[mid] < x {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  lo.saturating_sub(1).min(n - 2)
}

/// Weight t of x in cell i (0 for a single-node axis).
#[inline]
pub fn cell_weight(g: &[f64], n: usize, i: usize, x: f64) -> f64 {
  if n < 2 {
    return 0.0;
  }
  let g0 = g[i];
  (x - g0) / (g[i + 1] - g0)
}

//! Helpers shared by the kernels: argument checks that turn a caller's size mistake into a JS error
//! instead of an out-of-bounds access.

use napi::{Error, Result, Status};

/// Fails with a clear message when `len < need`.
pub fn need_len(what: &str, len: usize, need: usize) -> Result<()> {
  if len < need {
    return Err(Error::new(Status::InvalidArg, format!("{what}: length {len} < required {need}")));
  }
  Ok(())
}

/// Converts a JS number argument that must be a non-negative integer.
pub fn as_count(what: &str, v: f64) -> Result<usize> {
  if !(v >= 0.0) || v.fract() != 0.0 || v > 9.0e15 {
    return Err(Error::new(Status::InvalidArg, format!("{what}: {v} is not a non-negative integer")));
  }
  Ok(v as usize)
}

/// The part of a cutout placed at (x0, y0) in a destination grid that lands inside it: source columns
/// [xa, xb) and rows [ya, yb); None when nothing overlaps.
pub struct Overlap {
  pub xa: usize,
  pub xb: usize,
  pub ya: usize,
  pub yb: usize,
}

pub fn cutout_overlap(src_nx: usize, src_ny: usize, dst_nx: usize, dst_ny: usize, x0: isize, y0: isize) -> Option<Overlap> {
  let xa = (-x0).max(0) as usize;
  let xb = (src_nx as isize).min(dst_nx as isize - x0).max(0) as usize;
  let ya = (-y0).max(0) as usize;
  let yb = (src_ny as isize).min(dst_ny as isize - y0).max(0) as usize;
  if xa >= xb || ya >= yb {
    return None;
  }
  Some(Overlap { xa, xb, ya, yb })
}

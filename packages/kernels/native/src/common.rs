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

//! Port of src/reference/stack.ts `stackAdd`: the float32 product, then the addition done in float64 and
//! rounded to float32 once, exactly as the reference's `dst[d] = dst[d] + v` on a Float32Array.
//! The overlap of the cutout with the destination is clipped once; each row is then a pass over three
//! equal-length slices (no per-element bounds checks), the skip of masked and non-finite values a select.

use crate::common::{as_count, cutout_overlap, need_len, Overlap};
use napi::bindgen_prelude::Float32Array;
use napi::Result;
use napi_derive::napi;

/// One row: d[i] += scale · s[i] where m[i] != 0 and the float32 product is finite.
#[inline(always)]
fn add_row(d: &mut [f32], s: &[f32], m: &[u8], scale: f64) {
  for ((d, &s), &m) in d.iter_mut().zip(s).zip(m) {
    let v = (scale * s as f64) as f32 as f64;
    let sum = (*d as f64 + v) as f32;
    // v − v is 0 exactly when v is finite (NaN and ±Inf give NaN)
    *d = if m != 0 && v - v == 0.0 { sum } else { *d };
  }
}

/// dst[k][y0 + y][x0 + x] += scale · src[k][y][x] where the mask is set and the product finite.
#[napi(js_name = "stackAdd", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn stack_add(
  mut dst: Float32Array,
  dst_nx: f64,
  dst_ny: f64,
  src: &[f32],
  src_nx: f64,
  src_ny: f64,
  n_planes: f64,
  x0: f64,
  y0: f64,
  mask: &[u8],
  mask_planes: f64,
  scale: f64,
) -> Result<()> {
  let (dst_nx, dst_ny, src_nx, src_ny, n_planes) = (
    as_count("dstNx", dst_nx)?,
    as_count("dstNy", dst_ny)?,
    as_count("srcNx", src_nx)?,
    as_count("srcNy", src_ny)?,
    as_count("nPlanes", n_planes)?,
  );
  let (x0, y0) = (x0 as isize, y0 as isize);
  let dst_plane = dst_nx * dst_ny;
  let src_plane = src_nx * src_ny;
  let broadcast = mask_planes == 1.0;
  need_len("dst", dst.len(), n_planes * dst_plane)?;
  need_len("src", src.len(), n_planes * src_plane)?;
  need_len("mask", mask.len(), if broadcast { src_plane } else { n_planes * src_plane })?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let dst = unsafe { dst.as_mut() };
  let Some(Overlap { xa, xb, ya, yb }) = cutout_overlap(src_nx, src_ny, dst_nx, dst_ny, x0, y0) else {
    return Ok(());
  };
  let w = xb - xa;
  for k in 0..n_planes {
    let src_k = &src[k * src_plane..(k + 1) * src_plane];
    let mask_k = if broadcast {
      &mask[..src_plane]
    } else {
      &mask[k * src_plane..(k + 1) * src_plane]
    };
    let dst_k = &mut dst[k * dst_plane..(k + 1) * dst_plane];
    for y in ya..yb {
      let s0 = y * src_nx + xa;
      let d0 = (y as isize + y0) as usize * dst_nx + (xa as isize + x0) as usize;
      add_row(&mut dst_k[d0..d0 + w], &src_k[s0..s0 + w], &mask_k[s0..s0 + w], scale);
    }
  }
  Ok(())
}

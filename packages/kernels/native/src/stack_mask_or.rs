//! Port of src/reference/stack.ts `stackMaskOr`: byte logic only, bit-identical by construction. The overlap
//! of the cutout with the destination is clipped once; each row is a pass over two equal-length slices.

use crate::common::{as_count, cutout_overlap, need_len, Overlap};
use napi::bindgen_prelude::Uint8Array;
use napi::Result;
use napi_derive::napi;

/// dst[k][y0 + y][x0 + x] |= src[k][y][x] (1 where the source byte is non-zero, else unchanged).
#[napi(js_name = "stackMaskOr", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn stack_mask_or(
  mut dst: Uint8Array,
  dst_nx: f64,
  dst_ny: f64,
  src: &[u8],
  src_nx: f64,
  src_ny: f64,
  n_planes: f64,
  x0: f64,
  y0: f64,
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
  need_len("dst", dst.len(), n_planes * dst_plane)?;
  need_len("src", src.len(), n_planes * src_plane)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let dst = unsafe { dst.as_mut() };
  let Some(Overlap { xa, xb, ya, yb }) = cutout_overlap(src_nx, src_ny, dst_nx, dst_ny, x0, y0) else {
    return Ok(());
  };
  let w = xb - xa;
  for k in 0..n_planes {
    let src_k = &src[k * src_plane..(k + 1) * src_plane];
    let dst_k = &mut dst[k * dst_plane..(k + 1) * dst_plane];
    for y in ya..yb {
      let s0 = y * src_nx + xa;
      let d0 = (y as isize + y0) as usize * dst_nx + (xa as isize + x0) as usize;
      for (d, &s) in dst_k[d0..d0 + w].iter_mut().zip(&src_k[s0..s0 + w]) {
        *d = if s != 0 { 1 } else { *d };
      }
    }
  }
  Ok(())
}

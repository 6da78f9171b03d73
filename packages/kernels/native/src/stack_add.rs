//! Port of src/reference/stack.ts `stackAdd`: the float32 product, then the addition done in float64 and
//! rounded to float32 once, exactly as the reference's `dst[d] = dst[d] + v` on a Float32Array.

use crate::common::{as_count, need_len};
use napi::bindgen_prelude::Float32Array;
use napi::Result;
use napi_derive::napi;

/// dst[k][y0 + y][x0 + x] += scale · src[k][y][x] where the mask is set and the product finite.
#[napi(js_name = "stackAdd", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn stack_add(mut dst: Float32Array, dst_nx: f64, dst_ny: f64, src: &[f32], src_nx: f64, src_ny: f64, n_planes: f64, x0: f64, y0: f64, mask: &[u8], mask_planes: f64, scale: f64) -> Result<()> {
  let (dst_nx, dst_ny, src_nx, src_ny, n_planes) = (as_count("dstNx", dst_nx)?, as_count("dstNy", dst_ny)?, as_count("srcNx", src_nx)?, as_count("srcNy", src_ny)?, as_count("nPlanes", n_planes)?);
  let (x0, y0) = (x0 as isize, y0 as isize);
  let dst_plane = dst_nx * dst_ny;
  let src_plane = src_nx * src_ny;
  let broadcast = mask_planes == 1.0;
  need_len("dst", dst.len(), n_planes * dst_plane)?;
  need_len("src", src.len(), n_planes * src_plane)?;
  need_len("mask", mask.len(), if broadcast { src_plane } else { n_planes * src_plane })?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let dst = unsafe { dst.as_mut() };
  let xa = (-x0).max(0) as usize;
  let xb = (src_nx as isize).min(dst_nx as isize - x0).max(0) as usize;
  for k in 0..n_planes {
    let mask_base = if broadcast { 0 } else { k * src_plane };
    for y in 0..src_ny {
      let dy = y as isize + y0;
      if dy < 0 || dy >= dst_ny as isize {
        continue;
      }
      for x in xa..xb {
        let s = y * src_nx + x;
        if mask[mask_base + s] == 0 {
          continue;
        }
        let v = (scale * src[k * src_plane + s] as f64) as f32 as f64;
        if v - v != 0.0 {
          continue;
        }
        let d = k * dst_plane + dy as usize * dst_nx + (x as isize + x0) as usize;
        dst[d] = (dst[d] as f64 + v) as f32;
      }
    }
  }
  Ok(())
}

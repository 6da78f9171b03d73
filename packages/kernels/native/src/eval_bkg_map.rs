//! Port of src/reference/bkg-map.ts `evalBkgMap` (fdlibm log and exp, the reference's operation order, no
//! FMA): bit-identical.

use crate::common::{as_count, need_len};
use crate::interp::{cell_index, cell_weight};
use crate::{fdlibm, fdlibm_exp};
use napi::bindgen_prelude::{Float32Array, Float64Array};
use napi::Result;
use napi_derive::napi;

const FLOAT32_TINY: f64 = 1.1754943508222875e-38;
/// ln(FLOAT32_TINY) as V8 computes it (bits 0xc055d589f2fe5107).
const LN_TINY: f64 = -87.3365447505531;

#[inline(always)]
fn integrate_log_log_ln(y1: f64, v1: f64, v2: f64, e1: f64, l1: f64, l2: f64) -> f64 {
  let mut lr = v1 - v2;
  if lr < LN_TINY {
    lr = LN_TINY;
  }
  let g = 1.0 + lr / (l1 - l2);
  if g.abs() <= 1e-8 {
    return y1 * e1 * (l2 - l1);
  }
  ((y1 * e1) / g) * (fdlibm_exp::exp(g * (l2 - l1)) - 1.0)
}

/// Background template out[k·npix + p] (float32); `work` holds ≥ 3·(nK + 1) f64; see the reference for layouts.
#[napi(js_name = "evalBkgMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_bkg_map(
  fov_lon: &[f64],
  fov_lat: &[f64],
  npix: f64,
  ln_table: &[f64],
  ln_e_nodes: &[f64],
  n_e: f64,
  lon_nodes: &[f64],
  n_lon: f64,
  lat_nodes: &[f64],
  n_lat: f64,
  bounds: &[f64],
  edges: &[f64],
  n_k: f64,
  solid_angle: &[f64],
  scale: f64,
  mut work: Float64Array,
  mut out: Float32Array,
) -> Result<()> {
  let (npix, n_e, n_lon, n_lat, n_k) = (
    as_count("npix", npix)?,
    as_count("nE", n_e)?,
    as_count("nLon", n_lon)?,
    as_count("nLat", n_lat)?,
    as_count("nK", n_k)?,
  );
  need_len("fovLon", fov_lon.len(), npix)?;
  need_len("fovLat", fov_lat.len(), npix)?;
  need_len("lnTable", ln_table.len(), n_e * n_lon * n_lat)?;
  need_len("lnENodes", ln_e_nodes.len(), n_e)?;
  need_len("lonNodes", lon_nodes.len(), n_lon)?;
  need_len("latNodes", lat_nodes.len(), n_lat)?;
  need_len("bounds", bounds.len(), 6)?;
  need_len("edges", edges.len(), n_k + 1)?;
  need_len("solidAngle", solid_angle.len(), npix)?;
  need_len("work", work.len(), 3 * (n_k + 1))?;
  need_len("out", out.len(), n_k * npix)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let (work, out) = unsafe { (work.as_mut(), out.as_mut()) };
  let (lon_min, lon_max, lat_min, lat_max) = (bounds[2], bounds[3], bounds[4], bounds[5]);
  for j in 0..=n_k {
    let e = edges[j];
    let ln_e = fdlibm::log(e);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    work[3 * j] = if e >= bounds[0] && e <= bounds[1] { ie as f64 } else { -1.0 };
    work[3 * j + 1] = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    work[3 * j + 2] = ln_e;
  }
  let plane_e = n_lon * n_lat;
  let d_e = if n_e > 1 { plane_e } else { 0 };
  let d_lon = if n_lon > 1 { n_lat } else { 0 };
  let d_lat = if n_lat > 1 { 1 } else { 0 };
  for p in 0..npix {
    let lon = fov_lon[p];
    let lat = fov_lat[p];
    if !(lon >= lon_min && lon <= lon_max && lat >= lat_min && lat <= lat_max) {
      for k in 0..n_k {
        out[k * npix + p] = 0.0;
      }
      continue;
    }
    let il = cell_index(lon_nodes, n_lon, lon);
    let tl = cell_weight(lon_nodes, n_lon, il, lon);
    let ib = cell_index(lat_nodes, n_lat, lat);
    let tb = cell_weight(lat_nodes, n_lat, ib, lat);
    let w00 = (1.0 - tl) * (1.0 - tb);
    let w01 = (1.0 - tl) * tb;
    let w10 = tl * (1.0 - tb);
    let w11 = tl * tb;
    let base = il * n_lat + ib;
    let factor = scale * solid_angle[p];
    // The bilinear value of energy plane e at this pixel does not depend on the edge: consecutive edges in the
    // same cell, or in the next one, reuse the planes already interpolated (same expression, same bits).
    let plane = |e: usize| -> f64 {
      let a = e * plane_e + base;
      ln_table[a] * w00 + ln_table[a + d_lat] * w01 + ln_table[a + d_lon] * w10 + ln_table[a + d_lon + d_lat] * w11
    };
    let (mut cell, mut lo, mut hi) = (usize::MAX, 0.0f64, 0.0f64);
    let (mut y1, mut v1) = (0.0f64, 0.0f64);
    for j in 0..=n_k {
      let ie = work[3 * j];
      let (mut y2, mut v2) = (0.0f64, 0.0f64);
      if ie >= 0.0 {
        let te = work[3 * j + 1];
        let c = ie as usize;
        if c != cell {
          lo = if d_e != 0 && cell != usize::MAX && c == cell + 1 {
            hi
          } else {
            plane(c)
          };
          hi = if d_e != 0 { plane(c + 1) } else { lo };
          cell = c;
        }
        v2 = lo * (1.0 - te) + hi * te;
        y2 = fdlibm_exp::exp(v2);
        if !(y2 - FLOAT32_TINY > FLOAT32_TINY) {
          y2 = 0.0;
        }
      }
      if j > 0 {
        let integral = if y1 > 0.0 && y2 > 0.0 {
          integrate_log_log_ln(y1, v1, v2, edges[j - 1], work[3 * j - 1], work[3 * j + 2])
        } else {
          0.0
        };
        out[(j - 1) * npix + p] = (integral * factor) as f32;
      }
      y1 = y2;
      v1 = v2;
    }
  }
  Ok(())
}

//! Port of src/reference/aeff-map.ts `evalAeffMap` (fdlibm log, same operation order): bit-identical.

use crate::common::{as_count, need_len};
use crate::fdlibm;
use crate::interp::{cell_index, cell_weight};
use napi::bindgen_prelude::Float32Array;
use napi::Result;
use napi_derive::napi;

/// out[t][p] = A(E_t, offset_p) × scale (float32); see the reference for the layouts.
#[napi(js_name = "evalAeffMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_aeff_map(offsets: &[f64], npix: f64, table: &[f64], ln_e_nodes: &[f64], n_e: f64, off_nodes: &[f64], n_off: f64, bounds: &[f64], energies: &[f64], n_t: f64, scale: f64, mut out: Float32Array) -> Result<()> {
  let (npix, n_e, n_off, n_t) = (as_count("npix", npix)?, as_count("nE", n_e)?, as_count("nOff", n_off)?, as_count("nT", n_t)?);
  need_len("offsets", offsets.len(), npix)?;
  need_len("table", table.len(), n_e * n_off)?;
  need_len("lnENodes", ln_e_nodes.len(), n_e)?;
  need_len("offNodes", off_nodes.len(), n_off)?;
  need_len("bounds", bounds.len(), 4)?;
  need_len("energies", energies.len(), n_t)?;
  need_len("out", out.len(), n_t * npix)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  let (e_min, e_max, off_min, off_max) = (bounds[0], bounds[1], bounds[2], bounds[3]);
  for t in 0..n_t {
    let energy = energies[t];
    let row = &mut out[t * npix..(t + 1) * npix];
    if !(energy >= e_min && energy <= e_max) {
      row.fill(0.0);
      continue;
    }
    let ln_e = fdlibm::log(energy);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    let te = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    let ie1 = if n_e > 1 { ie + 1 } else { ie };
    for (p, o) in row.iter_mut().enumerate() {
      let off = offsets[p];
      if !(off >= off_min && off <= off_max) {
        *o = 0.0;
        continue;
      }
      let io = cell_index(off_nodes, n_off, off);
      let to = cell_weight(off_nodes, n_off, io, off);
      let io1 = if n_off > 1 { io + 1 } else { io };
      let v00 = table[ie * n_off + io];
      let v10 = table[ie1 * n_off + io];
      let v01 = table[ie * n_off + io1];
      let v11 = table[ie1 * n_off + io1];
      let lower = v00 * (1.0 - te) + v10 * te;
      let upper = v01 * (1.0 - te) + v11 * te;
      let mut v = lower * (1.0 - to) + upper * to;
      if !(v > 0.0) || v == f64::INFINITY {
        v = 0.0;
      }
      *o = (v * scale) as f32;
    }
  }
  Ok(())
}

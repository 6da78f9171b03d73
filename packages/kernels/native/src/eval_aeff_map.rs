//! Port of src/reference/aeff-map.ts `evalAeffMap` (fdlibm log, same operation order): bit-identical.

use crate::common::{as_count, need_len};
use crate::fdlibm;
use crate::interp::{cell_index, cell_weight};
use napi::bindgen_prelude::{Float32Array, Float64Array};
use napi::Result;
use napi_derive::napi;

/// v where v > 0 and v ≠ +Inf, else +0 (the reference's `if (!(v > 0) || v === Infinity) v = 0`), without a
/// branch (a mispredicted branch per value cost more than the arithmetic).
#[inline(always)]
fn positive_finite_or_zero(v: f64) -> f64 {
  let keep = ((v > 0.0) & (v != f64::INFINITY)) as u64;
  f64::from_bits(v.to_bits() & keep.wrapping_neg())
}

/// out[t][p] = A(E_t, offset_p) × scale (float32); `work` holds ≥ 2·nT f64; see the reference for layouts.
#[napi(js_name = "evalAeffMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_aeff_map(
  offsets: &[f64],
  npix: f64,
  table: &[f64],
  ln_e_nodes: &[f64],
  n_e: f64,
  off_nodes: &[f64],
  n_off: f64,
  bounds: &[f64],
  energies: &[f64],
  n_t: f64,
  scale: f64,
  mut work: Float64Array,
  mut out: Float32Array,
) -> Result<()> {
  let (npix, n_e, n_off, n_t) = (
    as_count("npix", npix)?,
    as_count("nE", n_e)?,
    as_count("nOff", n_off)?,
    as_count("nT", n_t)?,
  );
  need_len("offsets", offsets.len(), npix)?;
  need_len("table", table.len(), n_e * n_off)?;
  need_len("lnENodes", ln_e_nodes.len(), n_e)?;
  need_len("offNodes", off_nodes.len(), n_off)?;
  need_len("bounds", bounds.len(), 4)?;
  need_len("energies", energies.len(), n_t)?;
  need_len("work", work.len(), 2 * n_t)?;
  need_len("out", out.len(), n_t * npix)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let (work, out) = unsafe { (work.as_mut(), out.as_mut()) };
  let (e_min, e_max, off_min, off_max) = (bounds[0], bounds[1], bounds[2], bounds[3]);
  for t in 0..n_t {
    let energy = energies[t];
    if !(energy >= e_min && energy <= e_max) {
      work[2 * t] = -1.0;
      continue;
    }
    let ln_e = fdlibm::log(energy);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    work[2 * t] = ie as f64;
    work[2 * t + 1] = cell_weight(ln_e_nodes, n_e, ie, ln_e);
  }
  let de = if n_e > 1 { n_off } else { 0 };
  let d_off = if n_off > 1 { 1 } else { 0 };
  // The offset cell and weight of every pixel, then one contiguous pass over the pixels per energy (the
  // reference's loops interchanged: each output is computed by the same operations).
  let pixels: Vec<(bool, usize, f64)> = offsets[..npix]
    .iter()
    .map(|&off| {
      let inside = off >= off_min && off <= off_max;
      let io = if inside { cell_index(off_nodes, n_off, off) } else { 0 };
      (inside, io, if inside { cell_weight(off_nodes, n_off, io, off) } else { 0.0 })
    })
    .collect();
  for t in 0..n_t {
    let out_t = &mut out[t * npix..(t + 1) * npix];
    let ie = work[2 * t];
    if ie < 0.0 {
      out_t.fill(0.0);
      continue;
    }
    let te = work[2 * t + 1];
    let row = ie as usize * n_off;
    for (o, &(inside, io, to)) in out_t.iter_mut().zip(&pixels) {
      if !inside {
        *o = 0.0;
        continue;
      }
      let a = row + io;
      let lower = table[a] * (1.0 - to) + table[a + d_off] * to;
      let upper = table[a + de] * (1.0 - to) + table[a + de + d_off] * to;
      let v = positive_finite_or_zero(lower * (1.0 - te) + upper * te);
      *o = (v * scale) as f32;
    }
  }
  Ok(())
}

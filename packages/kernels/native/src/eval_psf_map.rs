//! Port of src/reference/irf-maps.ts `evalPsfMap` (fdlibm log, the reference's operation order, no FMA):
//! bit-identical.

use crate::common::{as_count, need_len};
use crate::fdlibm;
use crate::interp::{cell_index, cell_weight};
use napi::bindgen_prelude::Float32Array;
use napi::Result;
use napi_derive::napi;

/// v where v > 0 and v ≠ +Inf, else +0 (the reference's `if (!(v > 0) || v === Infinity) v = 0`), without a
/// branch (a mispredicted branch per value cost more than the arithmetic).
#[inline(always)]
fn positive_finite_or_zero(v: f64) -> f64 {
  let keep = ((v > 0.0) & (v != f64::INFINITY)) as u64;
  f64::from_bits(v.to_bits() & keep.wrapping_neg())
}

/// PSF map out[(t·nR + r)·npix + p], normalised along rad; see the reference for layouts.
#[napi(js_name = "evalPsfMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_psf_map(
  offsets: &[f64],
  npix: f64,
  table: &[f64],
  ln_e_nodes: &[f64],
  n_e: f64,
  off_nodes: &[f64],
  n_off: f64,
  rad_nodes: &[f64],
  n_rad: f64,
  bounds: &[f64],
  energies: &[f64],
  n_t: f64,
  rad_edges: &[f64],
  n_r: f64,
  mut out: Float32Array,
) -> Result<()> {
  let (npix, n_e, n_off, n_rad, n_t, n_r) = (
    as_count("npix", npix)?,
    as_count("nE", n_e)?,
    as_count("nOff", n_off)?,
    as_count("nRad", n_rad)?,
    as_count("nT", n_t)?,
    as_count("nR", n_r)?,
  );
  need_len("offsets", offsets.len(), npix)?;
  need_len("table", table.len(), n_e * n_off * n_rad)?;
  need_len("lnENodes", ln_e_nodes.len(), n_e)?;
  need_len("offNodes", off_nodes.len(), n_off)?;
  need_len("radNodes", rad_nodes.len(), n_rad)?;
  need_len("bounds", bounds.len(), 6)?;
  need_len("energies", energies.len(), n_t)?;
  need_len("radEdges", rad_edges.len(), if n_r > 0 { n_r + 1 } else { 0 })?;
  need_len("out", out.len(), n_t * n_r * npix)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  let deg = std::f64::consts::PI / 180.0;
  let d_r = if n_rad > 1 { 1 } else { 0 };
  let d_o = if n_off > 1 { n_rad } else { 0 };
  let d_e = if n_e > 1 { n_off * n_rad } else { 0 };
  // What depends on the rad bin alone, computed once rather than for every energy and pixel: whether its centre
  // is inside the rad axis, its interpolation cell (advanced as the reference advances it, over the in-bounds
  // centres in order) and weight, and the annulus factor 2π·rad·deg·(hi − lo)·deg (the reference's product,
  // evaluated left to right, before the final · v).
  let mut rad_bins: Vec<(bool, usize, f64, f64)> = Vec::with_capacity(n_r);
  let mut ir = 0usize;
  for r in 0..n_r {
    let lo = rad_edges[r];
    let hi = rad_edges[r + 1];
    let rad = (lo + hi) / 2.0;
    let annulus = 2.0 * std::f64::consts::PI * rad * deg * (hi - lo) * deg;
    if rad >= bounds[4] && rad <= bounds[5] {
      while n_rad >= 2 && ir < n_rad - 2 && rad_nodes[ir + 1] < rad {
        ir += 1;
      }
      rad_bins.push((true, ir, cell_weight(rad_nodes, n_rad, ir, rad), annulus));
    } else {
      rad_bins.push((false, 0, 0.0, annulus));
    }
  }
  // What depends on the pixel alone: inside the offset axis, the offset cell and weight.
  let pixels: Vec<(bool, usize, f64)> = offsets[..npix]
    .iter()
    .map(|&off| {
      let io = cell_index(off_nodes, n_off, off);
      (off >= bounds[2] && off <= bounds[3], io, cell_weight(off_nodes, n_off, io, off))
    })
    .collect();
  for t in 0..n_t {
    let energy = energies[t];
    let e_inside = energy >= bounds[0] && energy <= bounds[1];
    let ln_e = fdlibm::log(energy);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    let te = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    let out_t = &mut out[t * n_r * npix..(t + 1) * n_r * npix];
    for (p, &(off_inside, io, to)) in pixels.iter().enumerate() {
      let inside = e_inside && off_inside;
      let w00 = (1.0 - te) * (1.0 - to);
      let w01 = (1.0 - te) * to;
      let w10 = te * (1.0 - to);
      let w11 = te * to;
      let base = (ie * n_off + io) * n_rad;
      let mut norm = 0.0f64;
      for (r, &(rad_inside, ir, tr, annulus)) in rad_bins.iter().enumerate() {
        let mut v = 0.0f64;
        if inside && rad_inside {
          let a = base + ir;
          let c0 = table[a] * w00 + table[a + d_o] * w01 + table[a + d_e] * w10 + table[a + d_e + d_o] * w11;
          let c1 = table[a + d_r] * w00 + table[a + d_o + d_r] * w01 + table[a + d_e + d_r] * w10 + table[a + d_e + d_o + d_r] * w11;
          v = positive_finite_or_zero(c0 * (1.0 - tr) + c1 * tr);
        }
        norm += annulus * v;
        out_t[r * npix + p] = v as f32;
      }
      let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
      for r in 0..n_r {
        let k = r * npix + p;
        out_t[k] = (out_t[k] as f64 * inv) as f32;
      }
    }
  }
  Ok(())
}

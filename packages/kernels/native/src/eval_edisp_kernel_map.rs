//! Port of src/reference/irf-maps.ts `evalEdispKernelMap` (fdlibm log, the reference's operation order, no
//! FMA): bit-identical.

use crate::common::{as_count, need_len};
use crate::fdlibm;
use crate::interp::{cell_index, cell_weight};
use napi::bindgen_prelude::Float64Array;
use napi::Result;
use napi_derive::napi;

/// Piecewise-linear interpolation of cum (nM + 1 values at migra_edges) at mu; 0 below, cum[nM] above.
#[inline]
fn cumulative_at(cum: &[f64], migra_edges: &[f64], n_m: usize, mu: f64) -> f64 {
  if !(mu > migra_edges[0]) {
    return 0.0;
  }
  if mu >= migra_edges[n_m] {
    return cum[n_m];
  }
  let i = cell_index(migra_edges, n_m + 1, mu);
  let t = cell_weight(migra_edges, n_m + 1, i, mu);
  cum[i] * (1.0 - t) + cum[i + 1] * t
}

/// Energy-dispersion kernel map out[(t·nK + k)·npix + p]; `work` holds ≥ nM + 1 f64; see the reference.
#[napi(js_name = "evalEdispKernelMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_edisp_kernel_map(offsets: &[f64], npix: f64, table: &[f64], ln_e_nodes: &[f64], n_e: f64, n_m: f64, off_nodes: &[f64], n_off: f64, migra_edges: &[f64], bounds: &[f64], energies: &[f64], n_t: f64, reco_edges: &[f64], n_k: f64, mut work: Float64Array, mut out: Float64Array) -> Result<()> {
  let (npix, n_e, n_m, n_off, n_t, n_k) = (as_count("npix", npix)?, as_count("nE", n_e)?, as_count("nM", n_m)?, as_count("nOff", n_off)?, as_count("nT", n_t)?, as_count("nK", n_k)?);
  need_len("offsets", offsets.len(), npix)?;
  need_len("table", table.len(), n_e * n_m * n_off)?;
  need_len("lnENodes", ln_e_nodes.len(), n_e)?;
  need_len("offNodes", off_nodes.len(), n_off)?;
  need_len("migraEdges", migra_edges.len(), n_m + 1)?;
  need_len("bounds", bounds.len(), 4)?;
  need_len("energies", energies.len(), n_t)?;
  need_len("recoEdges", reco_edges.len(), n_k + 1)?;
  need_len("work", work.len(), n_m + 1)?;
  need_len("out", out.len(), n_t * n_k * npix)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let (work, out) = unsafe { (work.as_mut(), out.as_mut()) };
  for t in 0..n_t {
    let energy = energies[t];
    let e_inside = energy >= bounds[0] && energy <= bounds[1];
    let ln_e = fdlibm::log(energy);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    let te = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    for p in 0..npix {
      let off = offsets[p];
      let inside = e_inside && off >= bounds[2] && off <= bounds[3];
      let io = cell_index(off_nodes, n_off, off);
      let to = cell_weight(off_nodes, n_off, io, off);
      work[0] = 0.0;
      let jo = if n_off > 1 { io + 1 } else { io };
      let je = if n_e > 1 { ie + 1 } else { ie };
      let w00 = (1.0 - te) * (1.0 - to);
      let w01 = (1.0 - te) * to;
      let w10 = te * (1.0 - to);
      let w11 = te * to;
      for m in 0..n_m {
        let mut v = 0.0f64;
        if inside {
          let a = (ie * n_m + m) * n_off;
          let b = (je * n_m + m) * n_off;
          v = table[a + io] * w00 + table[a + jo] * w01 + table[b + io] * w10 + table[b + jo] * w11;
          if !(v > 0.0) || v == f64::INFINITY {
            v = 0.0;
          }
        }
        work[m + 1] = work[m] + v * (migra_edges[m + 1] - migra_edges[m]);
      }
      let total = work[n_m];
      let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
      let mut prev = cumulative_at(work, migra_edges, n_m, reco_edges[0] / energy) * inv;
      for k in 0..n_k {
        let next = cumulative_at(work, migra_edges, n_m, reco_edges[k + 1] / energy) * inv;
        let d = next - prev;
        out[(t * n_k + k) * npix + p] = if d > 0.0 { d } else { 0.0 };
        prev = next;
      }
    }
  }
  Ok(())
}

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

/// v where finite and positive, else +0 (the reference's `if (!Number.isFinite(v) || v < 0) v = 0`: gammapy 1.0's
/// interpolator clips its values at 0, the negatives an extrapolated true energy or offset gives included), without a
/// branch: table values are often 0, and a mispredicted branch per value cost more than the arithmetic.
#[inline(always)]
fn finite_or_zero(v: f64) -> f64 {
  let keep = (v.is_finite() & (v > 0.0)) as u64;
  f64::from_bits(v.to_bits() & keep.wrapping_neg())
}

/// Pixels whose cumulative sums are built together.
const LANES: usize = 4;

/// The arguments that do not change over the call.
struct Grid<'a> {
  table: &'a [f64],
  n_m: usize,
  n_off: usize,
  migra_edges: &'a [f64],
  /// migraEdges[m + 1] − migraEdges[m].
  widths: &'a [f64],
  reco_edges: &'a [f64],
  n_k: usize,
  npix: usize,
}

/// The kernel of true-energy bin t at pixels p .. p + L (the reference's steps, pixel by pixel, interleaved).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<const L: usize>(
  g: &Grid,
  t: usize,
  p: usize,
  energy: f64,
  ie: usize,
  je: usize,
  te: f64,
  offsets: &[f64],
  off_nodes: &[f64],
  bounds: &[f64],
  cum: &mut [f64],
  out: &mut [f64],
) {
  let (n_m, n_off, stride) = (g.n_m, g.n_off, g.n_m + 1);
  let mut inside = [false; L];
  let (mut io, mut jo) = ([0usize; L], [0usize; L]);
  let (mut w00, mut w01, mut w10, mut w11) = ([0.0f64; L], [0.0f64; L], [0.0f64; L], [0.0f64; L]);
  for l in 0..L {
    let off = offsets[p + l];
    inside[l] = off >= bounds[2] && off <= bounds[3];
    io[l] = cell_index(off_nodes, n_off, off);
    let to = cell_weight(off_nodes, n_off, io[l], off);
    jo[l] = if n_off > 1 { io[l] + 1 } else { io[l] };
    w00[l] = (1.0 - te) * (1.0 - to);
    w01[l] = (1.0 - te) * to;
    w10[l] = te * (1.0 - to);
    w11[l] = te * to;
    cum[l * stride] = 0.0;
  }
  let mut run = [0.0f64; L];
  for m in 0..n_m {
    let a = (ie * n_m + m) * n_off;
    let b = (je * n_m + m) * n_off;
    let width = g.widths[m];
    for l in 0..L {
      let mut v = 0.0f64;
      if inside[l] {
        v = finite_or_zero(
          g.table[a + io[l]] * w00[l] + g.table[a + jo[l]] * w01[l] + g.table[b + io[l]] * w10[l] + g.table[b + jo[l]] * w11[l],
        );
      }
      run[l] += v * width;
      cum[l * stride + m + 1] = run[l];
    }
  }
  for l in 0..L {
    let c = &cum[l * stride..(l + 1) * stride];
    let total = c[n_m];
    let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
    let mut prev = cumulative_at(c, g.migra_edges, n_m, g.reco_edges[0] / energy) * inv;
    for k in 0..g.n_k {
      let next = cumulative_at(c, g.migra_edges, n_m, g.reco_edges[k + 1] / energy) * inv;
      let d = next - prev;
      out[(t * g.n_k + k) * g.npix + p + l] = if d > 0.0 { d } else { 0.0 };
      prev = next;
    }
  }
}

/// Energy-dispersion kernel map out[(t·nK + k)·npix + p]; `work` holds ≥ nM + 1 f64; see the reference.
#[napi(js_name = "evalEdispKernelMap", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn eval_edisp_kernel_map(
  offsets: &[f64],
  npix: f64,
  table: &[f64],
  ln_e_nodes: &[f64],
  n_e: f64,
  n_m: f64,
  off_nodes: &[f64],
  n_off: f64,
  migra_edges: &[f64],
  bounds: &[f64],
  energies: &[f64],
  n_t: f64,
  reco_edges: &[f64],
  n_k: f64,
  work: Float64Array,
  mut out: Float64Array,
) -> Result<()> {
  let (npix, n_e, n_m, n_off, n_t, n_k) = (
    as_count("npix", npix)?,
    as_count("nE", n_e)?,
    as_count("nM", n_m)?,
    as_count("nOff", n_off)?,
    as_count("nT", n_t)?,
    as_count("nK", n_k)?,
  );
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
  let out = unsafe { out.as_mut() };
  // `work` (the reference's scratch) is not needed: the cumulative sums of LANES pixels are built side by side in
  // `cum`, so that their running additions (one dependent chain per pixel) overlap. Each pixel's operations and
  // their order are the reference's.
  let _ = work;
  let stride = n_m + 1;
  let mut cum = vec![0.0f64; LANES * stride];
  let widths: Vec<f64> = (0..n_m).map(|m| migra_edges[m + 1] - migra_edges[m]).collect();
  let g = Grid {
    table,
    n_m,
    n_off,
    migra_edges,
    widths: &widths,
    reco_edges,
    n_k,
    npix,
  };
  for t in 0..n_t {
    let energy = energies[t];
    // A true energy outside the table is extrapolated, not zeroed (gammapy masks by offset here; see the reference).
    let ln_e = fdlibm::log(energy);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    let te = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    let je = if n_e > 1 { ie + 1 } else { ie };
    let mut p = 0;
    while p + LANES <= npix {
      block::<LANES>(&g, t, p, energy, ie, je, te, offsets, off_nodes, bounds, &mut cum, out);
      p += LANES;
    }
    while p < npix {
      block::<1>(&g, t, p, energy, ie, je, te, offsets, off_nodes, bounds, &mut cum, out);
      p += 1;
    }
  }
  Ok(())
}

//! Port of src/reference/stack.ts `stackIrfWeighted`: the same float64 products and sums in the same order, no
//! FMA: bit-identical. Segments are checked against the grids once; each is then a pass over equal-length slices.

use crate::common::{as_count, need_len};
use napi::bindgen_prelude::Float64Array;
use napi::{Error, Result, Status};
use napi_derive::napi;

/// den[t][q] += w[t][p]; num[t][a][q] += data[t][a][p] · w[t][p] over the segments p = from[s] + j → q = to[s] + j.
#[napi(js_name = "stackIrfWeighted", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn stack_irf_weighted(
  mut num: Float64Array,
  mut den: Float64Array,
  data: &[f32],
  weight: &[f32],
  from: &[i32],
  to: &[i32],
  len: &[i32],
  n_seg: f64,
  ni: f64,
  stack_npix: f64,
  n_t: f64,
  n_a: f64,
) -> Result<()> {
  let (n_seg, ni, stack_npix, n_t, n_a) = (
    as_count("nSeg", n_seg)?,
    as_count("ni", ni)?,
    as_count("stackNpix", stack_npix)?,
    as_count("nT", n_t)?,
    as_count("nA", n_a)?,
  );
  need_len("num", num.len(), n_t * n_a * stack_npix)?;
  need_len("den", den.len(), n_t * stack_npix)?;
  need_len("data", data.len(), n_t * n_a * ni)?;
  need_len("weight", weight.len(), n_t * ni)?;
  need_len("from", from.len(), n_seg)?;
  need_len("to", to.len(), n_seg)?;
  need_len("len", len.len(), n_seg)?;
  // Every segment inside both grids, so the slices below cannot go out of bounds.
  let mut segs = Vec::with_capacity(n_seg);
  for s in 0..n_seg {
    let (p, q, n) = (from[s], to[s], len[s]);
    if p < 0 || q < 0 || n < 0 || p as usize + n as usize > ni || q as usize + n as usize > stack_npix {
      return Err(Error::new(
        Status::InvalidArg,
        format!("segment {s} ({p}, {q}, {n}) is outside the grids"),
      ));
    }
    segs.push((p as usize, q as usize, n as usize));
  }
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let (num, den) = unsafe { (num.as_mut(), den.as_mut()) };
  for t in 0..n_t {
    let w_t = &weight[t * ni..(t + 1) * ni];
    let den_t = &mut den[t * stack_npix..(t + 1) * stack_npix];
    for &(p, q, n) in &segs {
      for (d, &w) in den_t[q..q + n].iter_mut().zip(&w_t[p..p + n]) {
        *d += w as f64;
      }
    }
    for a in 0..n_a {
      let src = &data[(t * n_a + a) * ni..(t * n_a + a + 1) * ni];
      let dst = &mut num[(t * n_a + a) * stack_npix..(t * n_a + a + 1) * stack_npix];
      for &(p, q, n) in &segs {
        for ((d, &v), &w) in dst[q..q + n].iter_mut().zip(&src[p..p + n]).zip(&w_t[p..p + n]) {
          *d += v as f64 * w as f64;
        }
      }
    }
  }
  Ok(())
}

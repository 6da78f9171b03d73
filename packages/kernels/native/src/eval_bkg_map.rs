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
  for j in 0..=n_k {
    let e = edges[j];
    let ln_e = fdlibm::log(e);
    let ie = cell_index(ln_e_nodes, n_e, ln_e);
    work[3 * j] = if e >= bounds[0] && e <= bounds[1] { ie as f64 } else { -1.0 };
    work[3 * j + 1] = cell_weight(ln_e_nodes, n_e, ie, ln_e);
    work[3 * j + 2] = ln_e;
  }
  let t = Table {
    ln_table,
    lon_nodes,
    n_lon,
    lat_nodes,
    n_lat,
    plane_e: n_lon * n_lat,
    d_e: if n_e > 1 { n_lon * n_lat } else { 0 },
    d_lon: if n_lon > 1 { n_lat } else { 0 },
    d_lat: if n_lat > 1 { 1 } else { 0 },
    bounds: (bounds[2], bounds[3], bounds[4], bounds[5]),
    edges,
    n_k,
    work,
    scale,
    npix,
  };
  let mut p = 0;
  #[cfg(target_arch = "x86_64")]
  if std::is_x86_feature_detected!("avx2") {
    while p + 4 <= npix {
      // SAFETY: AVX2 was just detected on this CPU; p + 4 <= npix.
      let done = (p..p + 4).all(|q| t.inside(fov_lon[q], fov_lat[q])) && unsafe { pixels4_avx2(&t, fov_lon, fov_lat, solid_angle, p, out) };
      if !done {
        for q in p..p + 4 {
          pixel(&t, fov_lon[q], fov_lat[q], solid_angle[q], q, out);
        }
      }
      p += 4;
    }
  }
  for q in p..npix {
    pixel(&t, fov_lon[q], fov_lat[q], solid_angle[q], q, out);
  }
  Ok(())
}

/// The inputs every pixel shares (see eval_bkg_map).
struct Table<'a> {
  ln_table: &'a [f64],
  lon_nodes: &'a [f64],
  n_lon: usize,
  lat_nodes: &'a [f64],
  n_lat: usize,
  plane_e: usize,
  d_e: usize,
  d_lon: usize,
  d_lat: usize,
  bounds: (f64, f64, f64, f64),
  edges: &'a [f64],
  n_k: usize,
  /// Per edge j: energy cell (−1 outside the axis), weight, ln E.
  work: &'a [f64],
  scale: f64,
  npix: usize,
}

impl Table<'_> {
  #[inline(always)]
  fn inside(&self, lon: f64, lat: f64) -> bool {
    let (lon_min, lon_max, lat_min, lat_max) = self.bounds;
    lon >= lon_min && lon <= lon_max && lat >= lat_min && lat <= lat_max
  }

  /// The bilinear weights of a pixel and its cell corner in the table.
  #[inline(always)]
  fn weights(&self, lon: f64, lat: f64) -> ([f64; 4], usize) {
    let il = cell_index(self.lon_nodes, self.n_lon, lon);
    let tl = cell_weight(self.lon_nodes, self.n_lon, il, lon);
    let ib = cell_index(self.lat_nodes, self.n_lat, lat);
    let tb = cell_weight(self.lat_nodes, self.n_lat, ib, lat);
    (
      [(1.0 - tl) * (1.0 - tb), (1.0 - tl) * tb, tl * (1.0 - tb), tl * tb],
      il * self.n_lat + ib,
    )
  }

  /// The bilinear value of energy plane e at a pixel (weights w, cell corner base).
  #[inline(always)]
  fn plane(&self, e: usize, base: usize, w: &[f64; 4]) -> f64 {
    let a = e * self.plane_e + base;
    let t = self.ln_table;
    t[a] * w[0] + t[a + self.d_lat] * w[1] + t[a + self.d_lon] * w[2] + t[a + self.d_lon + self.d_lat] * w[3]
  }
}

/// One pixel: the reference's loop, in its operation order.
/// The interpolated planes (`lo`, `hi`) of energy cell `c` at a pixel (one value, or four lanes), moving on from
/// `cell`: the same cell keeps them, the next one reuses `hi` as its `lo` (same expression, same bits).
#[inline(always)]
fn next_cell<T: Copy>(c: usize, cell: &mut usize, lo: &mut T, hi: &mut T, spaced: bool, mut plane: impl FnMut(usize) -> T) {
  if c == *cell {
    return;
  }
  *lo = if spaced && *cell != usize::MAX && c == *cell + 1 {
    *hi
  } else {
    plane(c)
  };
  *hi = if spaced { plane(c + 1) } else { *lo };
  *cell = c;
}

#[inline(always)]
fn pixel(t: &Table, lon: f64, lat: f64, omega: f64, p: usize, out: &mut [f32]) {
  let (n_k, npix, work, edges) = (t.n_k, t.npix, t.work, t.edges);
  if !t.inside(lon, lat) {
    for k in 0..n_k {
      out[k * npix + p] = 0.0;
    }
    return;
  }
  let (w, base) = t.weights(lon, lat);
  let factor = t.scale * omega;
  // The bilinear value of energy plane e at this pixel does not depend on the edge: consecutive edges in the
  // same cell, or in the next one, reuse the planes already interpolated (same expression, same bits).
  let (mut cell, mut lo, mut hi) = (usize::MAX, 0.0f64, 0.0f64);
  let (mut y1, mut v1) = (0.0f64, 0.0f64);
  for j in 0..=n_k {
    let ie = work[3 * j];
    let (mut y2, mut v2) = (0.0f64, 0.0f64);
    if ie >= 0.0 {
      let te = work[3 * j + 1];
      let c = ie as usize;
      next_cell(c, &mut cell, &mut lo, &mut hi, t.d_e != 0, |e| t.plane(e, base, &w));
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

/// Four pixels (all inside the FoV bounds) at once, one per lane of AVX2 vectors: per lane exactly the operations of
/// `pixel` in its order (IEEE add, mul, div, no FMA; fdlibm exp as `exp4`), so the same bits. Every pixel shares the
/// energy cells of the edges, so the lanes take the same branches; where they would not (an exp argument that needs
/// fdlibm's special cases, |x| > 700, tiny or exactly 1), false is returned and the caller redoes the pixels one by
/// one. 0.2 µs per pixel and bin instead of ~0.6 µs in the scalar loop on PKS 2155's maps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pixels4_avx2(t: &Table, fov_lon: &[f64], fov_lat: &[f64], solid_angle: &[f64], p: usize, out: &mut [f32]) -> bool {
  use std::arch::x86_64::*;
  let (n_k, npix, work, edges) = (t.n_k, t.npix, t.work, t.edges);
  let mut w = [[0.0f64; 4]; 4];
  let mut base = [0usize; 4];
  let mut factor = [0.0f64; 4];
  for l in 0..4 {
    let (wl, bl) = t.weights(fov_lon[p + l], fov_lat[p + l]);
    w[l] = wl;
    base[l] = bl;
    factor[l] = t.scale * solid_angle[p + l];
  }
  let factor = _mm256_loadu_pd(factor.as_ptr());
  let plane = |e: usize| -> __m256d {
    let mut v = [0.0f64; 4];
    for l in 0..4 {
      v[l] = t.plane(e, base[l], &w[l]);
    }
    _mm256_loadu_pd(v.as_ptr())
  };
  let zero = _mm256_setzero_pd();
  let tiny = _mm256_set1_pd(FLOAT32_TINY);
  let (mut cell, mut lo, mut hi) = (usize::MAX, zero, zero);
  let (mut y1, mut v1) = (zero, zero);
  for j in 0..=n_k {
    let ie = work[3 * j];
    let (mut y2, mut v2) = (zero, zero);
    if ie >= 0.0 {
      let te = work[3 * j + 1];
      let c = ie as usize;
      next_cell(c, &mut cell, &mut lo, &mut hi, t.d_e != 0, plane);
      v2 = _mm256_add_pd(_mm256_mul_pd(lo, _mm256_set1_pd(1.0 - te)), _mm256_mul_pd(hi, _mm256_set1_pd(te)));
      let (e, special) = exp4(v2);
      if _mm256_movemask_pd(special) != 0 {
        return false;
      }
      // y2 = 0 unless y2 − tiny > tiny (false for NaN too)
      y2 = _mm256_and_pd(e, _mm256_cmp_pd::<_CMP_GT_OQ>(_mm256_sub_pd(e, tiny), tiny));
    }
    if j > 0 {
      // integrate_log_log_ln where y1 > 0 and y2 > 0, else 0
      let used = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(y1, zero), _mm256_cmp_pd::<_CMP_GT_OQ>(y2, zero));
      let (e1, l1, l2) = (edges[j - 1], work[3 * j - 1], work[3 * j + 2]);
      let mut lr = _mm256_sub_pd(v1, v2);
      lr = _mm256_blendv_pd(
        lr,
        _mm256_set1_pd(LN_TINY),
        _mm256_cmp_pd::<_CMP_LT_OQ>(lr, _mm256_set1_pd(LN_TINY)),
      );
      let g = _mm256_add_pd(_mm256_set1_pd(1.0), _mm256_div_pd(lr, _mm256_set1_pd(l1 - l2)));
      let flat = _mm256_cmp_pd::<_CMP_LE_OQ>(_mm256_andnot_pd(_mm256_set1_pd(-0.0), g), _mm256_set1_pd(1e-8));
      let y1e1 = _mm256_mul_pd(y1, _mm256_set1_pd(e1));
      let (eg, special) = exp4(_mm256_mul_pd(g, _mm256_set1_pd(l2 - l1)));
      if _mm256_movemask_pd(_mm256_andnot_pd(flat, _mm256_and_pd(used, special))) != 0 {
        return false;
      }
      let power = _mm256_mul_pd(_mm256_div_pd(y1e1, g), _mm256_sub_pd(eg, _mm256_set1_pd(1.0)));
      let linear = _mm256_mul_pd(y1e1, _mm256_set1_pd(l2 - l1));
      let integral = _mm256_and_pd(used, _mm256_blendv_pd(power, linear, flat));
      _mm_storeu_ps(
        out.as_mut_ptr().add((j - 1) * npix + p),
        _mm256_cvtpd_ps(_mm256_mul_pd(integral, factor)),
      );
    }
    y1 = y2;
    v1 = v2;
  }
  true
}

/// fdlibm's exp (fdlibm_exp::exp) on four lanes, and the lanes it does not cover: |x| > 700 (and NaN), |x| < 2⁻²⁸,
/// x = 1 — fdlibm's special cases, which take other branches there. Elsewhere each lane runs exactly the scalar
/// operations: the reduction by k·ln 2 (k = ±1 from the table below 1.5 ln 2, else rounded), the rational
/// approximation, and the scaling by 2^k built from its bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exp4(x: std::arch::x86_64::__m256d) -> (std::arch::x86_64::__m256d, std::arch::x86_64::__m256d) {
  use std::arch::x86_64::*;
  const LN2_HI0: f64 = 6.93147180369123816490e-01;
  const LN2_LO0: f64 = 1.90821492927058770002e-10;
  const P1: f64 = 1.66666666666666019037e-01;
  const P2: f64 = -2.77777777770155933842e-03;
  const P3: f64 = 6.61375632143793436117e-05;
  const P4: f64 = -1.65339022054652515390e-06;
  const P5: f64 = 4.13813679705723846039e-08;
  let sign = _mm256_set1_pd(-0.0);
  let ax = _mm256_andnot_pd(sign, x);
  // |x|'s high word (hx with the sign cleared), one per 64-bit lane
  let hx = _mm256_srli_epi64::<32>(_mm256_castpd_si256(ax));
  let special = _mm256_or_pd(
    _mm256_or_pd(
      _mm256_cmp_pd::<_CMP_NLE_UQ>(ax, _mm256_set1_pd(700.0)),
      _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(0x3e30_0000), hx)),
    ),
    _mm256_cmp_pd::<_CMP_EQ_OQ>(x, _mm256_set1_pd(1.0)),
  );
  let reduce = _mm256_castsi256_pd(_mm256_cmpgt_epi64(hx, _mm256_set1_epi64x(0x3fd6_2e42)));
  let near = _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(0x3FF0_A2B2), hx));
  // xsb: x < 0 (−0 and NaN are special lanes)
  let is_neg = _mm256_cmp_pd::<_CMP_LT_OQ>(x, _mm256_setzero_pd());
  // |x| < 1.5 ln 2: hi = x − LN2_HI[xsb], lo = LN2_LO[xsb], k = 1 − 2·xsb
  let hi_near = _mm256_sub_pd(x, _mm256_blendv_pd(_mm256_set1_pd(LN2_HI0), _mm256_set1_pd(-LN2_HI0), is_neg));
  let lo_near = _mm256_blendv_pd(_mm256_set1_pd(LN2_LO0), _mm256_set1_pd(-LN2_LO0), is_neg);
  let k_near = _mm256_blendv_pd(_mm256_set1_pd(1.0), _mm256_set1_pd(-1.0), is_neg);
  // else: k = (int)(INVLN2·x + HALF[xsb]), hi = x − k·LN2_HI[0], lo = k·LN2_LO[0]
  let half = _mm256_blendv_pd(_mm256_set1_pd(0.5), _mm256_set1_pd(-0.5), is_neg);
  let k_far = _mm256_cvtepi32_pd(_mm256_cvttpd_epi32(_mm256_add_pd(
    _mm256_mul_pd(_mm256_set1_pd(std::f64::consts::LOG2_E), x),
    half,
  )));
  let hi_far = _mm256_sub_pd(x, _mm256_mul_pd(k_far, _mm256_set1_pd(LN2_HI0)));
  let lo_far = _mm256_mul_pd(k_far, _mm256_set1_pd(LN2_LO0));
  let hi = _mm256_blendv_pd(hi_far, hi_near, near);
  let lo = _mm256_blendv_pd(lo_far, lo_near, near);
  let k = _mm256_and_pd(reduce, _mm256_blendv_pd(k_far, k_near, near)); // 0 where x is not reduced
  let xr = _mm256_blendv_pd(x, _mm256_sub_pd(hi, lo), reduce);
  let t = _mm256_mul_pd(xr, xr);
  let mut poly = _mm256_add_pd(_mm256_set1_pd(P4), _mm256_mul_pd(t, _mm256_set1_pd(P5)));
  poly = _mm256_add_pd(_mm256_set1_pd(P3), _mm256_mul_pd(t, poly));
  poly = _mm256_add_pd(_mm256_set1_pd(P2), _mm256_mul_pd(t, poly));
  poly = _mm256_add_pd(_mm256_set1_pd(P1), _mm256_mul_pd(t, poly));
  let c = _mm256_sub_pd(xr, _mm256_mul_pd(t, poly));
  let two = _mm256_set1_pd(2.0);
  // k = 0: 1 − ((x·c)/(c − 2) − x); else 1 − ((lo − (x·c)/(2 − c)) − hi), times 2^k
  let q = _mm256_div_pd(
    _mm256_mul_pd(xr, c),
    _mm256_blendv_pd(
      _mm256_sub_pd(two, c),
      _mm256_sub_pd(c, two),
      _mm256_cmp_pd::<_CMP_EQ_OQ>(k, _mm256_setzero_pd()),
    ),
  );
  let one = _mm256_set1_pd(1.0);
  let y0 = _mm256_sub_pd(one, _mm256_sub_pd(q, xr));
  let yk = _mm256_sub_pd(one, _mm256_sub_pd(_mm256_sub_pd(lo, q), hi));
  // 2^k from its bits, (1023 + k) << 52 (|k| ≤ 1010 here: |x| ≤ 700)
  let k64 = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k));
  let twopk = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(k64, _mm256_set1_epi64x(1023))));
  let is_zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(k, _mm256_setzero_pd());
  (_mm256_blendv_pd(_mm256_mul_pd(yk, twopk), y0, is_zero), special)
}

/// Test hook: out[i] = e^x[i] as this kernel computes it, four arguments per `exp4` call (the scalar exp for a lane
/// `exp4` leaves to it, and without AVX2), compared with V8's Math.exp by the test suite.
#[napi(js_name = "mathProbeExp4", catch_unwind)]
pub fn math_probe_exp4(x: &[f64], mut out: Float64Array) {
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  let n = x.len().min(out.len());
  let mut i = 0;
  #[cfg(target_arch = "x86_64")]
  if std::is_x86_feature_detected!("avx2") {
    use std::arch::x86_64::*;
    while i + 4 <= n {
      // SAFETY: AVX2 was just detected; i + 4 <= n for both slices.
      unsafe {
        let (e, special) = exp4(_mm256_loadu_pd(x.as_ptr().add(i)));
        _mm256_storeu_pd(out.as_mut_ptr().add(i), e);
        let lanes = _mm256_movemask_pd(special);
        for l in 0..4 {
          if lanes & (1 << l) != 0 {
            out[i + l] = fdlibm_exp::exp(x[i + l]);
          }
        }
      }
      i += 4;
    }
  }
  for j in i..n {
    out[j] = fdlibm_exp::exp(x[j]);
  }
}

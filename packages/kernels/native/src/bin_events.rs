//! Event binning (science spec §4.1; reference: src/reference/bin-events.ts): sky → pixel through the WCS
//! parameter block (CAR or TAN, half-even rounding), energy → log bin, counts added into a caller-owned
//! float32 cube [ie][iy][ix].
//!
//! Fast path, exact result: a branch-free projection with polynomial sin/cos/atan (absolute error
//! ≲ 1e-13 rad, vectorised in blocks) decides the bin of every event that lies farther than a safety
//! band from any pixel or energy edge. An event inside the band (≈ 1e-5 of real events, and every
//! event placed exactly on an edge) is not guessed: its index is returned, and the caller bins it with
//! the reference kernel. Counts are therefore identical to the reference's exact projection.

use crate::common::{as_count, need_len};
use napi::bindgen_prelude::{AbortSignal, AsyncTask, Float32Array, Float64Array, Uint32Array};
use napi::{Env, Task};
use napi::{Error, Result, Status};
use napi_derive::napi;
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Geometry of the counts cube, decoded from the reference's WCS parameter block (src/reference/sky.ts).
#[derive(Clone, Copy)]
pub struct Geometry<'a> {
  pub tan: bool,
  pub x0: f64,
  pub y0: f64,
  pub cdelt1: f64,
  pub cdelt2: f64,
  /// ICRS unit vector → native unit vector, row-major.
  pub r: [f64; 9],
  pub nx: usize,
  pub ny: usize,
  /// Energy edges (exp of the reference's ln edges), ascending, length ne + 1.
  pub edges: &'a [f64],
  /// When the ln edges are evenly spaced (log bins): (ln edge 0, 1/Δ); the energy bin is then computed
  /// from a fast logarithm instead of comparing with every edge.
  pub log_uniform: Option<(f64, f64)>,
}

impl<'a> Geometry<'a> {
  /// Reads the 14-value WCS block; None for an unknown projection code.
  pub fn from_wcs(wcs: &[f64], nx: usize, ny: usize, edges: &'a [f64]) -> Option<Self> {
    let tan = match wcs[0] {
      c if c == 0.0 => false,
      c if c == 1.0 => true,
      _ => return None,
    };
    let mut r = [0.0; 9];
    r.copy_from_slice(&wcs[5..14]);
    Some(Geometry {
      tan,
      x0: wcs[1],
      y0: wcs[2],
      cdelt1: wcs[3],
      cdelt2: wcs[4],
      r,
      nx,
      ny,
      edges,
      log_uniform: None,
    })
  }

  /// Records that `ln_edges` are evenly spaced (to 1e-12 of a bin), enabling the fast energy path.
  pub fn with_ln_edges(mut self, ln_edges: &[f64]) -> Self {
    let n = ln_edges.len();
    if n >= 2 && ln_edges.iter().all(|v| v.is_finite()) {
      let step = (ln_edges[n - 1] - ln_edges[0]) / (n - 1) as f64;
      let even = step > 0.0
        && ln_edges
          .iter()
          .enumerate()
          .all(|(k, &v)| ((v - ln_edges[0]) / step - k as f64).abs() < 1e-12);
      if even {
        self.log_uniform = Some((ln_edges[0], 1.0 / step));
      }
    }
    self
  }
}

/// ln x for normal positive finite x, branch-free (exponent bits + atanh series on [√½, √2):
/// |error| < 2e-11). Other inputs give garbage; the caller masks them.
#[inline(always)]
fn fast_ln<const FMA: bool>(x: f64) -> f64 {
  let bits = x.to_bits();
  // Exponent as a double without an int→float conversion (AVX2 has none for 64-bit lanes).
  let mut k = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52)) - (4503599627370496.0 + 1023.0);
  let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
  let big = m > std::f64::consts::SQRT_2;
  m = if big { m * 0.5 } else { m };
  k = if big { k + 1.0 } else { k };
  let s = (m - 1.0) / (m + 1.0);
  let z = s * s;
  let m = madd::<FMA>;
  let p = m(
    z,
    m(
      z,
      m(z, m(z, m(z, m(z, 2.0 / 13.0, 2.0 / 11.0), 2.0 / 9.0), 2.0 / 7.0), 2.0 / 5.0),
      2.0 / 3.0,
    ),
    2.0,
  );
  k * std::f64::consts::LN_2 + s * p
}

/// a·b + c, fused when the caller's code path runs with FMA (the fast path's error budget covers both).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
  if FMA {
    a.mul_add(b, c)
  } else {
    a * b + c
  }
}

const DEG: f64 = PI / 180.0;
const RAD: f64 = 180.0 / PI;
/// Bound on the fast path's angular error (rad), with a wide margin over the ≲ 1e-13 measured.
const ANGLE_ERROR: f64 = 1e-9;
/// Relative band around each energy edge handed to the reference.
const ENERGY_BAND: f64 = 1e-9;
const BLOCK: usize = 256;

/// Taylor coefficients (−1)^k/(2k+1)! and (−1)^k/(2k)! to degree 15/16: on [−π/2, π/2] the truncation
/// error is < 7e-12, far inside the fast path's 1e-9 rad error budget.
const SIN_C: [f64; 8] = [
  1.0,
  -0.16666666666666666,
  0.008333333333333333,
  -0.0001984126984126984,
  2.7557319223985893e-06,
  -2.505210838544172e-08,
  1.6059043836821613e-10,
  -7.647163731819816e-13,
];
const COS_C: [f64; 9] = [
  1.0,
  -0.5,
  0.041666666666666664,
  -0.001388888888888889,
  2.48015873015873e-05,
  -2.755731922398589e-07,
  2.08767569878681e-09,
  -1.1470745597729725e-11,
  4.779477332387385e-14,
];

/// sin and cos on [−π/2, π/2].
#[inline(always)]
fn sincos_half<const FMA: bool>(a: f64) -> (f64, f64) {
  let z = a * a;
  let mut s = SIN_C[7];
  for k in (0..7).rev() {
    s = madd::<FMA>(s, z, SIN_C[k]);
  }
  let mut c = COS_C[8];
  for k in (0..8).rev() {
    c = madd::<FMA>(c, z, COS_C[k]);
  }
  (a * s, c)
}

/// sin and cos on [−π, π]: folded into [−π/2, π/2] by sin(π − a) = sin a, cos(π − a) = −cos a.
#[inline(always)]
fn sincos<const FMA: bool>(a: f64) -> (f64, f64) {
  let fold = a.abs() > FRAC_PI_2;
  let b = if fold { PI.copysign(a) - a } else { a };
  let (s, c) = sincos_half::<FMA>(b);
  (s, if fold { -c } else { c })
}

/// atan(mn/mx) for 0 ≤ mn ≤ mx: fdlibm's reduction (atan(c) + atan((t − c)/(1 + c·t)), c ∈ {0, ½, 1},
/// chosen by comparing mn with 7/16·mx and 11/16·mx, so one division) and its minimax polynomial.
#[inline(always)]
fn atan_ratio<const FMA: bool>(mn: f64, mx: f64) -> f64 {
  let hi = mn >= 11.0 / 16.0 * mx;
  let mid = mn >= 7.0 / 16.0 * mx;
  let c = if hi {
    1.0
  } else if mid {
    0.5
  } else {
    0.0
  };
  let base = if hi {
    FRAC_PI_4
  } else if mid {
    4.63647609000806093515e-01
  } else {
    0.0
  };
  let den = mx + c * mn;
  let u = if den > 0.0 { (mn - c * mx) / den } else { 0.0 };
  let z = u * u;
  let w = z * z;
  let m = madd::<FMA>;
  let s1 = z
    * m(
      w,
      m(
        w,
        m(
          w,
          m(
            w,
            m(w, 1.62858201153657823623e-02, 4.97687799461593236017e-02),
            6.66107313738753120669e-02,
          ),
          9.09088713343650656196e-02,
        ),
        1.42857142725034663711e-01,
      ),
      3.33333333333329318027e-01,
    );
  let s2 = w
    * m(
      w,
      m(
        w,
        m(
          w,
          m(w, -3.65315727442169155270e-02, -5.83357013379057348645e-02),
          -7.69187620504482999495e-02,
        ),
        -1.11111104054623557880e-01,
      ),
      -1.99999999998764832476e-01,
    );
  base + (u - u * (s1 + s2))
}

/// atan2(y, x) for finite arguments, without branches (quadrant fix-ups by selects).
#[inline(always)]
fn atan2<const FMA: bool>(y: f64, x: f64) -> f64 {
  let ax = x.abs();
  let ay = y.abs();
  let mut r = atan_ratio::<FMA>(ax.min(ay), ax.max(ay));
  r = if ay > ax { FRAC_PI_2 - r } else { r };
  r = if x < 0.0 { PI - r } else { r };
  if y < 0.0 {
    -r
  } else {
    r
  }
}

/// Reduces degrees to [−180, 180].
#[inline(always)]
fn wrap180(d: f64) -> f64 {
  d - 360.0 * (d * (1.0 / 360.0)).round()
}

const UNCERTAIN: i32 = -2;

#[inline(always)]
fn sel(c: bool, a: f64, b: f64) -> f64 {
  if c {
    a
  } else {
    b
  }
}

/// Pass 1 over one block: the cube index of every event (−1 outside, UNCERTAIN when the fast path cannot
/// decide it). Written as stages of simple loops over the block, each a pure element-wise computation
/// with selects instead of branches, so that the compiler vectorises every stage.
#[inline(always)]
fn classify_block<const TAN: bool, const FMA: bool>(
  g: &Geometry,
  bands: (f64, f64),
  ra: &[f64],
  dec: &[f64],
  energy: &[f64],
  out: &mut [i32],
) {
  let len = out.len();
  let (ra, dec, energy) = (&ra[..len], &dec[..len], &energy[..len]);
  let mut x = [0.0f64; BLOCK];
  let mut y = [0.0f64; BLOCK];
  let mut flag = [0.0f64; BLOCK];
  let (x, y, flag) = (&mut x[..len], &mut y[..len], &mut flag[..len]);
  let r = g.r;
  // Multiplications by the reciprocals (≤ 2 ulp from the reference's divisions, inside the bands).
  let (sx, sy) = (RAD / g.cdelt1, RAD / g.cdelt2);
  // Stage 1: sky → native unit vector → fractional pixel.
  for i in 0..len {
    let (sa, ca) = sincos::<FMA>(wrap180(ra[i]) * DEG);
    let (sb, cb) = sincos::<FMA>(dec[i] * DEG);
    let (cx, cy, cz) = (cb * ca, cb * sa, sb);
    let nx = r[0] * cx + r[1] * cy + r[2] * cz;
    let ny = r[3] * cx + r[4] * cy + r[5] * cz;
    let nz = r[6] * cx + r[7] * cy + r[8] * cz;
    // Outside [−90°, 90°] the latitude polynomials do not hold; beyond 1e6° the reference's own
    // ra·π/180 rounds by more than 1e-11 rad: the reference decides.
    let bad_dec = (dec[i].abs() > 90.0) | (ra[i].abs() > 1e6);
    if TAN {
      let inv = sel(nx > 0.0, 1.0 / nx, f64::NAN);
      x[i] = g.x0 + ny * inv * sx;
      y[i] = g.y0 + nz * inv * sy;
      flag[i] = sel(bad_dec, 1.0, 0.0);
    } else {
      let phi = atan2::<FMA>(ny, nx);
      let theta = atan2::<FMA>(nz, (nx * nx + ny * ny).sqrt());
      let seam = (nx < 0.0) & (ny.abs() < 1e-9);
      let pole = nz.abs() > 1.0 - 1e-10;
      x[i] = g.x0 + phi * sx;
      y[i] = g.y0 + theta * sy;
      flag[i] = sel(seam | pole | bad_dec, 1.0, 0.0);
    }
  }
  // Stage 2: energy bin and whether E is within the band of an edge.
  let mut ie = [-1.0f64; BLOCK];
  let mut near = [0.0f64; BLOCK];
  let (ie, near) = (&mut ie[..len], &mut near[..len]);
  if let Some((ln0, inv_step)) = g.log_uniform {
    let band = ENERGY_BAND * inv_step + 1e-9;
    for i in 0..len {
      let e = energy[i];
      let ok = (e >= f64::MIN_POSITIVE) & (e < f64::INFINITY);
      let f = (fast_ln::<FMA>(e) - ln0) * inv_step;
      let k = f.floor();
      let r = f - k;
      ie[i] = if ok { k } else { -2.0 };
      near[i] = if ok & ((r < band) | (r > 1.0 - band)) { 1.0 } else { 0.0 };
    }
  } else {
    for &edge in g.edges {
      let band = ENERGY_BAND * edge;
      for i in 0..len {
        let e = energy[i];
        ie[i] += sel(e >= edge, 1.0, 0.0);
        near[i] = near[i].max(sel((e - edge).abs() <= band, 1.0, 0.0));
      }
    }
  }
  // Stage 3: rounding, the pixel bands, range checks, the verdict.
  let (nx, ny, ne) = (g.nx as f64, g.ny as f64, (g.edges.len() - 1) as f64);
  for i in 0..len {
    let (xv, yv, iev) = (x[i], y[i], ie[i]);
    let fx = (xv + 0.5).floor();
    let fy = (yv + 0.5).floor();
    let rx = xv + 0.5 - fx;
    let ry = yv + 0.5 - fy;
    let near_xy = (rx < bands.0) | (rx > 1.0 - bands.0) | (ry < bands.1) | (ry > 1.0 - bands.1);
    let valid = (xv == xv) & (yv == yv);
    let inside = valid & (fx >= 0.0) & (fx < nx) & (fy >= 0.0) & (fy < ny) & (iev >= 0.0) & (iev < ne);
    // Only events that could land in the cube need the reference's verdict.
    let close = (fx >= -1.0) & (fx <= nx) & (fy >= -1.0) & (fy <= ny) & (iev >= -1.0) & (iev <= ne);
    // A flagged event goes to the reference even when the polynomials gave NaN for it.
    let uncertain = (flag[i] != 0.0) | (valid & (near_xy | (near[i] != 0.0)) & close);
    let index = sel(inside, (iev * ny + fy) * nx + fx, -1.0);
    // SAFETY: the value is −2, −1 or a cube index (< 2³¹, checked by the caller), so it converts
    // exactly; the unchecked conversion vectorises, `as` (saturating) does not.
    out[i] = unsafe { sel(uncertain, UNCERTAIN as f64, index).to_int_unchecked::<i32>() };
  }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,sse4.1")]
unsafe fn classify_block_avx512<const TAN: bool>(
  g: &Geometry,
  bands: (f64, f64),
  ra: &[f64],
  dec: &[f64],
  energy: &[f64],
  out: &mut [i32],
) {
  classify_block::<TAN, true>(g, bands, ra, dec, energy, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,sse4.1")]
unsafe fn classify_block_avx2<const TAN: bool>(g: &Geometry, bands: (f64, f64), ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  classify_block::<TAN, true>(g, bands, ra, dec, energy, out)
}

/// Pass 1 with the widest instructions this CPU has (`level`: simd_level(), checked at run time, so the addon
/// loads anywhere).
#[allow(clippy::too_many_arguments)]
fn classify_dispatch(g: &Geometry, bands: (f64, f64), level: u8, ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  #[cfg(target_arch = "x86_64")]
  {
    // SAFETY: `level` comes from simd_level(), which detected the features on this CPU.
    unsafe {
      match (level, g.tan) {
        (2, true) => return classify_block_avx512::<true>(g, bands, ra, dec, energy, out),
        (2, false) => return classify_block_avx512::<false>(g, bands, ra, dec, energy, out),
        (1, true) => return classify_block_avx2::<true>(g, bands, ra, dec, energy, out),
        (1, false) => return classify_block_avx2::<false>(g, bands, ra, dec, energy, out),
        _ => {}
      }
    }
  }
  let _ = level;
  if g.tan {
    classify_block::<true, false>(g, bands, ra, dec, energy, out)
  } else {
    classify_block::<false, false>(g, bands, ra, dec, energy, out)
  }
}

// ---- Tier 1: float32, eight events per AVX2 vector (sixteen with AVX-512) ----
//
// The projection above in float32 with a bound on its error for every event; the events within their
// bound of a pixel or energy edge go to the float64 tier. Every bound below is a worst case over the
// float32 roundings (u = 2⁻²⁴), each operation taken unfused (an FMA rounds once, never worse):
//
// Angles. a = longitude from the map centre α_c, reduced in float64 to [−π, π], b = latitude, rounded
// to float32: ≤ u·|a|, u·|b| (the float64 steps, and the reference's own ra·π/180 for |ra| ≤ 1e6°, add
// < 1e-11 rad). α_c is folded into the rotation, R' = R·Rz(α_c), so that R'·c(a, b) = R·c(α_c + a, b).
// sin/cos (Cody–Waite reduction by π/2 with a 8-bit first constant, exact; Taylor to degree 9/8 on
// |r| ≤ π/4: truncation 1.8e-9 / 2.5e-8): |Δsin| ≤ 1.7u, |Δcos| ≤ 2.5u, of which 0.79u is the reduced
// argument's error, common to both: the pair is off by ≤ 0.79u + √(0.9² + 1.9²)u < 3.1u. The vector
// c = (cos b·cos a, cos b·sin a, sin b) is then off by ≤ 3.1u + 3.1u + u (products) = 7.2u in norm.
// Rotation: R' rounded to float32 (≤ u·|R'ᵢ|), three products and two sums (≤ 3u·|R'ᵢ|): each native
// component is off by E = N·(11.2u + u·(|a| + |b|)) with N the largest row norm of R (1 here, R is
// checked orthonormal); the code takes EC0 = 14u, ECA = 1.25u.
// CAR. φ = atan2(p_y, p_x) moves by ≤ √2·E/ρ (ρ ≥ 4.4e-3 off the flagged poles, so second-order
// terms stay < 1e-3 of it), θ = atan2(p_z, ρ) by ≤ √3·E + 2u (ρ's rounding). The float32 atan2
// (fdlibm-style reduction to |t| ≤ tan(π/16) around tan(π/16) or tan(3π/16), Taylor to degree 7,
// truncation 0.91u) is off by ≤ 4u for |angle| ≤ π/4 (argument 1.6u, atan(c) 0.5u, sums 1u), 5.7u up to
// π/2 (π/2 − r), 9.2u up to π (π − r): ≤ 4.5u + 3.5u·|angle|.
// TAN. ξ = p_y/p_x moves by ≤ E·(1 + |ξ|)/p_x·(1 + 1.2e-3) for p_x ≥ 1e-3 (smaller p_x is flagged),
// plus 2u·|ξ| for the reciprocal and the product.
// CAR on a small map (every pixel, plus 2 pixels and 1e-4 rad, within SMALL_ANGLE = 0.25 rad of the
// native origin): φ = atan(t), t = p_y/p_x, θ = asin(p_z) (the reference's formula) by odd Taylor
// polynomials to degree 11 without reduction, for |t| ≤ tan 0.25, |p_z| ≤ sin 0.25 (truncation
// < 1.6e-9 = 0.03u and 2.3e-10 rad); events beyond TMAX/SMAX, or with p_x ≤ 0, lie beyond that margin:
// surely off the map, dropped. φ moves by ≤ E·(1 + |t|)/p_x·(1 + 1e-5) (p_x ≥ 0.93 here), plus 2u·|t|
// for t's reciprocal and product and 1.2u·|t| for the polynomial; θ by ≤ E/√(1 − p_z²) ≤ 1.033·E, plus
// 1.1u·|θ|. The code takes 1.01·E·(1 + |t|)/p_x + 4u·|t| and 1.05·E + 2u·|θ| (the extra 1 % and 1.7 % of
// E ≥ 14u cover the truncations and the bounds' own rounding).
// Pixel. x = x0 + angle·sx in float32, then x + 0.5: ≤ |sx|·Δangle + u·(4|x| + 3|x0| + 1), plus u for
// comparing with 1 − band. Bands are scaled by 1 + 1e-5 for their own evaluation in float32.
// Energy (log-uniform edges). ln in float32 (exponent + atanh series to s⁹, |s| ≤ 0.172): ≤ u·(|ln E|
// + 2.8) including E's rounding to float32; f = (ln E − ln e₀)/Δ: ≤ u·(|ln E| + |ln e₀| + 3)/Δ + 3u·|f|,
// plus 1e-9·(1 + |f|) for the reference's edges being uniform to 1e-12 only; the code takes twice the
// rounding terms (0.7 of them is reached at |f| ≈ 10: a tight worst case). Uneven edges: E and the
// edge are compared in float32 (≤ 2u relative error) with a band of 1e-6 relative.
// Verdict. |x − x_ref| < band, so when rx = x + 0.5 − ⌊x + 0.5⌋ lies strictly between band and
// 1 − band, rint(x_ref) = ⌊x + 0.5⌋; and when x + band < −0.5 or x − band > nx − 0.5 the event is
// surely off the map (whatever the band: it can exceed a pixel far from a TAN map's centre). The same
// for y and the energy bin. Everything else goes to the float64 tier: events near an edge, the special
// cases (|RA| > 1e6°, angles beyond ±3.5 rad where the reduction by π/2 stops (|Dec| up to 200° is
// covered), the CAR seam and poles, |p_x| < 1e-3 for TAN, energies ≥ 0 that float32 cannot hold),
// NaN aside (dropped, as by the reference).

const U: f32 = 5.960_464_5e-8; // 2⁻²⁴
const EC0: f32 = 14.0 * U;
const ECA: f32 = 1.25 * U;
const BAND_MARGIN: f32 = 1.0 + 1e-5;
/// Index of an event tier 1 leaves to the float64 tier.
const TIER2: i32 = -3;
/// Largest native angle (rad) of a CAR map, margin included, for the small-map path.
const SMALL_ANGLE: f64 = 0.25;

/// Largest |native angle| (rad) of pixel coordinates −0.5 … n − 0.5 around x0 at s pixels per radian,
/// plus 2 pixels and 1e-4 rad.
fn angle_reach(x0: f64, s: f64, n: usize) -> f64 {
  let lo = ((-0.5 - x0) / s).abs();
  let hi = ((n as f64 - 0.5 - x0) / s).abs();
  lo.max(hi) + 2.0 / s.abs() + 1e-4
}

#[inline(always)]
fn m32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
  if FMA {
    a.mul_add(b, c)
  } else {
    a * b + c
  }
}

#[inline(always)]
fn sel32(c: bool, a: f32, b: f32) -> f32 {
  if c {
    a
  } else {
    b
  }
}

/// sin and cos of a ∈ [−π − ε, π + ε] in float32 (see the error model above).
#[inline(always)]
fn sincos32<const FMA: bool>(a: f32) -> (f32, f32) {
  let m = m32::<FMA>;
  let q = (a * std::f32::consts::FRAC_2_PI).round_ties_even();
  // q·1.5703125 is exact (8 significant bits), and so is a − q·1.5703125 (Sterbenz).
  let r = m(-q, 1.570_312_5, a);
  let r = m(-q, 4.838_267_9e-4, r);
  let z = r * r;
  let ps = m(m(m(2.755_731_9e-6, z, -1.984_127e-4), z, 8.333_333e-3), z, -0.166_666_67);
  let s = m(r * z, ps, r);
  let pc = m(m(m(2.480_158_7e-5, z, -1.388_888_9e-3), z, 4.166_666_8e-2), z, -0.5);
  let c = m(pc, z, 1.0);
  let aq = q.abs();
  let odd = aq == 1.0;
  let two = aq == 2.0;
  let sa = sel32(odd, c, s);
  let ca = sel32(odd, s, c);
  let neg_s = two | (q == -1.0);
  let neg_c = two | (q == 1.0);
  (sel32(neg_s, -sa, sa), sel32(neg_c, -ca, ca))
}

/// atan2(y, x) in float32 for finite arguments (see the error model above); NaN for (0, 0).
#[inline(always)]
fn atan2_32<const FMA: bool>(y: f32, x: f32) -> f32 {
  let m = m32::<FMA>;
  let (ax, ay) = (x.abs(), y.abs());
  let (mn, mx) = (sel32(ax < ay, ax, ay), sel32(ax < ay, ay, ax));
  // Reduction around c = tan(π/16) or tan(3π/16) (float32 values; the atan constants are of them).
  let hi = mn >= 0.414_213_57 * mx;
  let c = sel32(hi, 0.668_178_65, 0.198_912_37);
  let base = sel32(hi, 0.589_048_6, 0.196_349_54);
  let t = m(-c, mx, mn) / m(c, mn, mx);
  let z = t * t;
  let p = m(m(-0.142_857_15, z, 0.2), z, -0.333_333_34);
  let r = base + m(t * z, p, t);
  let r = sel32(ay > ax, std::f32::consts::FRAC_PI_2 - r, r);
  let r = sel32(x < 0.0, std::f32::consts::PI - r, r);
  sel32(y < 0.0, -r, r)
}

/// ln x for normal positive finite float32 x (see the error model above); garbage otherwise.
#[inline(always)]
fn ln32<const FMA: bool>(x: f32) -> f32 {
  let m = m32::<FMA>;
  let bits = x.to_bits();
  let mut k = ((bits >> 23) as i32 - 127) as f32;
  let mut mant = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
  let big = mant > std::f32::consts::SQRT_2;
  mant = sel32(big, mant * 0.5, mant);
  k = sel32(big, k + 1.0, k);
  let s = (mant - 1.0) / (mant + 1.0);
  let z = s * s;
  let p = m(m(m(m(0.222_222_22, z, 0.285_714_3), z, 0.4), z, 0.666_666_7), z, 2.0);
  // ln 2 = 0.693145751953125 (exact in 16 bits, so k·LN2_HI is exact) + 1.4286068e-6.
  m(k, 0.693_145_751_953_125, m(k, 1.428_606_8e-6, s * p))
}

/// Fractional energy bin f = (ln E − ln e₀)/Δ (bin k covers [k, k + 1)) of a normal positive E and the
/// bound on its error (see the error model above); `axis` is Tier1::log_uniform.
#[inline(always)]
fn energy_coordinate<const FMA: bool>(ev: f32, axis: (f32, f32, f32, f32)) -> (f32, f32) {
  let (ln0, inv_step, bel, be0) = axis;
  let m = m32::<FMA>;
  let l = ln32::<FMA>(ev);
  let f = (l - ln0) * inv_step;
  (f, m(l.abs(), bel, m(f.abs(), 6.0 * U + 1e-9, be0)))
}

/// Per-call constants of tier 1.
pub struct Tier1 {
  ac_deg: f64,
  r: [f32; 9],
  x0: f32,
  y0: f32,
  sx: f32,
  sy: f32,
  abs_sx: f32,
  abs_sy: f32,
  /// u·(3|x0| + 2)·margin: the constant part of the pixel rounding band.
  bx0: f32,
  by0: f32,
  nx: f32,
  ny: f32,
  ne: f32,
  /// Log-uniform energy axis: (ln e₀, 1/Δ, band per |ln E|, constant band) in float32.
  log_uniform: Option<(f32, f32, f32, f32)>,
  /// Uneven axis: the edges in float32.
  edges: Vec<f32>,
  /// CAR map within SMALL_ANGLE of the native origin: the small-map path, with its reach in t = p_y/p_x
  /// and in p_z.
  small: bool,
  tmax: f32,
  smax: f32,
}

impl Tier1 {
  /// None when the call is outside what tier 1 covers (then the float64 tier decides every event).
  pub fn new(g: &Geometry) -> Option<Tier1> {
    let limit = (1u32 << 22) as usize;
    let ne = g.edges.len() - 1;
    if g.nx > limit || g.ny > limit || ne > limit {
      return None;
    }
    let finite = [g.x0, g.y0, g.cdelt1, g.cdelt2].iter().all(|v| v.is_finite() && v.abs() < 4e6);
    if !finite || g.cdelt1 == 0.0 || g.cdelt2 == 0.0 {
      return None;
    }
    // Longitudes from the map centre: α_c = atan2(R[0][1], R[0][0]); R' = R·Rz(α_c).
    let r = g.r;
    let ac = if r[0] == 0.0 && r[1] == 0.0 { 0.0 } else { r[1].atan2(r[0]) };
    let (cc, sc) = (ac.cos(), ac.sin());
    let mut rr = [0f32; 9];
    for i in 0..3 {
      let (m0, m1, m2) = (r[3 * i], r[3 * i + 1], r[3 * i + 2]);
      rr[3 * i] = (m0 * cc + m1 * sc) as f32;
      rr[3 * i + 1] = (m1 * cc - m0 * sc) as f32;
      rr[3 * i + 2] = m2 as f32;
    }
    let (sx, sy) = (RAD / g.cdelt1, RAD / g.cdelt2);
    let u = U as f64;
    let margin = BAND_MARGIN as f64;
    let log_uniform = match g.log_uniform {
      Some((ln0, inv_step)) => {
        if !(ln0.abs() < 1e4 && inv_step < 1e6) {
          return None;
        }
        // Twice the bound derived above: its rounding terms are nearly attained (0.7 of it seen), and
        // the energy band is so thin that doubling it costs nothing.
        let bel = 2.0 * u * inv_step * margin;
        let be0 = (2.0 * u * inv_step * (ln0.abs() + 3.0) + 1e-9 + u) * margin;
        Some((ln0 as f32, inv_step as f32, bel as f32, be0 as f32))
      }
      None => None,
    };
    let edges: Vec<f32> = g.edges.iter().map(|&e| e as f32).collect();
    let (reach_x, reach_y) = (angle_reach(g.x0, sx, g.nx), angle_reach(g.y0, sy, g.ny));
    let small = !g.tan && reach_x <= SMALL_ANGLE && reach_y <= SMALL_ANGLE;
    if log_uniform.is_none() && !edges.iter().all(|e| e.is_normal() && *e > 0.0) {
      return None;
    }
    Some(Tier1 {
      ac_deg: ac * RAD,
      r: rr,
      x0: g.x0 as f32,
      y0: g.y0 as f32,
      sx: sx as f32,
      sy: sy as f32,
      abs_sx: (sx.abs() * margin) as f32,
      abs_sy: (sy.abs() * margin) as f32,
      bx0: (u * (3.0 * g.x0.abs() + 2.0) * margin) as f32,
      by0: (u * (3.0 * g.y0.abs() + 2.0) * margin) as f32,
      nx: g.nx as f32,
      ny: g.ny as f32,
      ne: ne as f32,
      log_uniform,
      edges,
      small,
      tmax: reach_x.min(SMALL_ANGLE).tan() as f32,
      smax: reach_y.min(SMALL_ANGLE).sin() as f32,
    })
  }
}

/// Per-event working arrays of tier 1 (one per thread, reused for every block). Arrays of 2·BLOCK hold
/// two quantities of the block one after the other, so that sincos and atan2 run as one loop each.
pub struct Scratch {
  /// Longitudes then latitudes (rad); their sines; their cosines.
  ab: [f32; 2 * BLOCK],
  s: [f32; 2 * BLOCK],
  c: [f32; 2 * BLOCK],
  e: [f32; BLOCK],
  /// Energy bin when sure, E_OFF when surely off the axis, E_NEAR when tier 2 must decide.
  ebin: [f32; BLOCK],
  /// atan2 arguments: (p_y, p_z) and (p_x, ρ) for CAR; p_y, p_z, p_x for TAN.
  num: [f32; 2 * BLOCK],
  den: [f32; 2 * BLOCK],
  ang: [f32; 2 * BLOCK],
  ec: [f32; BLOCK],
  x: [f32; BLOCK],
  y: [f32; BLOCK],
  bx: [f32; BLOCK],
  by: [f32; BLOCK],
}

const E_OFF: f32 = -1.0;
const E_NEAR: f32 = -2.0;

impl Scratch {
  pub fn new() -> Box<Scratch> {
    Box::new(Scratch {
      ab: [0.0; 2 * BLOCK],
      s: [0.0; 2 * BLOCK],
      c: [0.0; 2 * BLOCK],
      e: [0.0; BLOCK],
      ebin: [0.0; BLOCK],
      num: [0.0; 2 * BLOCK],
      den: [0.0; 2 * BLOCK],
      ang: [0.0; 2 * BLOCK],
      ec: [0.0; BLOCK],
      x: [0.0; BLOCK],
      y: [0.0; BLOCK],
      bx: [0.0; BLOCK],
      by: [0.0; BLOCK],
    })
  }
}

/// Tier 1 over one block: the cube index of every event, −1 when it is surely off the cube, TIER2 when
/// the float64 tier must decide. Stages of short element-wise loops with selects, as in classify_block:
/// one loop for the whole chain (sincos → rotation → atan2 → verdict) was bound by its latency and
/// spilled its constants. The float64 inputs are converted first, so that the other loops are float32
/// only (full vector width). Special cases travel as values: an infinite band sends an event to tier 2.
#[inline(always)]
fn tier1_block<const TAN: bool, const FMA: bool>(t: &Tier1, w: &mut Scratch, ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  let len = out.len();
  let (ra, dec, energy) = (&ra[..len], &dec[..len], &energy[..len]);
  let m = m32::<FMA>;
  // Stage 1: angles (longitude from the map centre, reduced in float64) and energies to float32.
  // |RA| > 1e6° (the reference's own ra·π/180 rounds by more than the model allows) becomes an angle
  // beyond the range of sincos32, which sends the event to tier 2.
  {
    let (ab, e) = (&mut w.ab[..2 * len], &mut w.e[..len]);
    let (a, b) = ab.split_at_mut(len);
    for i in 0..len {
      let d = ra[i] - t.ac_deg;
      let d = d - 360.0 * (d * (1.0 / 360.0)).round_ties_even();
      a[i] = sel(ra[i].abs() <= 1e6, d * DEG, 1e30) as f32;
      b[i] = (dec[i] * DEG) as f32;
      e[i] = energy[i] as f32;
    }
  }
  // Stage 2: the energy bin.
  let ne = t.ne;
  {
    let (e, ebin) = (&w.e[..len], &mut w.ebin[..len]);
    // E ≥ 0 that float32 does not hold as a normal number (it may be a positive float64) is left to
    // tier 2 (E_NEAR); negative and NaN energies are dropped, as by the reference.
    if let Some((ln0, inv_step, bel, be0)) = t.log_uniform {
      for i in 0..len {
        let ev = e[i];
        let ok = (ev >= f32::MIN_POSITIVE) & (ev < f32::INFINITY);
        let (f, band) = energy_coordinate::<FMA>(ev, (ln0, inv_step, bel, be0));
        let k = f.floor();
        let rf = f - k;
        let sure = (rf > band) & (rf < 1.0 - band);
        let close = (f + band >= 0.0) & (f - band <= ne);
        let v = sel32(sure & (k >= 0.0) & (k < ne), k, sel32(close & !sure, E_NEAR, E_OFF));
        ebin[i] = sel32(ok, v, sel32(ev >= 0.0, E_NEAR, E_OFF));
      }
    } else {
      let near = &mut w.ang[..len];
      for i in 0..len {
        ebin[i] = -1.0;
        near[i] = 0.0;
      }
      for &edge in &t.edges {
        let band = 1e-6 * edge;
        for i in 0..len {
          let ev = e[i];
          ebin[i] += sel32(ev >= edge, 1.0, 0.0);
          near[i] = near[i].max(sel32((ev - edge).abs() <= band, 1.0, 0.0));
        }
      }
      for i in 0..len {
        let ev = e[i];
        let ok = (ev >= f32::MIN_POSITIVE) & (ev < f32::INFINITY);
        // Near edge k means bin k − 1 or k: on the axis or next to it.
        let k = ebin[i];
        let v = sel32(near[i] != 0.0, E_NEAR, sel32((k >= 0.0) & (k < ne), k, E_OFF));
        ebin[i] = sel32(ok, v, sel32(ev >= 0.0, E_NEAR, E_OFF));
      }
    }
  }
  // Stage 3: sin and cos of every longitude and latitude.
  {
    let (ab, s, c) = (&w.ab[..2 * len], &mut w.s[..2 * len], &mut w.c[..2 * len]);
    for j in 0..2 * len {
      (s[j], c[j]) = sincos32::<FMA>(ab[j]);
    }
  }
  // Stage 4: unit vector, native vector, its error bound E.
  {
    let r = &t.r;
    let (ab, s, c) = (&w.ab[..2 * len], &w.s[..2 * len], &w.c[..2 * len]);
    let (num, den, ec) = (&mut w.num[..2 * len], &mut w.den[..2 * len], &mut w.ec[..len]);
    for i in 0..len {
      let (ai, bi) = (ab[i], ab[len + i]);
      let (sa, ca, sb, cb) = (s[i], c[i], s[len + i], c[len + i]);
      let (cx, cy, cz) = (cb * ca, cb * sa, sb);
      den[i] = m(r[2], cz, m(r[1], cy, r[0] * cx));
      num[i] = m(r[5], cz, m(r[4], cy, r[3] * cx));
      num[len + i] = m(r[8], cz, m(r[7], cy, r[6] * cx));
      // Beyond ±3.5 rad the reduction by π/2 is not covered (NaN fails the test and stays NaN).
      let big = (ai.abs() > 3.5) | (bi.abs() > 3.5);
      ec[i] = sel32(big, f32::INFINITY, m(ai.abs() + bi.abs(), ECA, EC0));
    }
  }
  // Stage 5: native angles, pixel coordinates and their bands.
  {
    let (num, den, ec) = (&w.num[..2 * len], &mut w.den[..2 * len], &w.ec[..len]);
    let (x, y, bx, by) = (&mut w.x[..len], &mut w.y[..len], &mut w.bx[..len], &mut w.by[..len]);
    if TAN {
      for i in 0..len {
        let (pxi, pyi, pzi, eci) = (den[i], num[i], num[len + i], ec[i]);
        let inv = 1.0 / pxi;
        let (xi, eta) = (pyi * inv, pzi * inv);
        let k = eci * inv * (1.0 + 1.2e-3);
        let ex = m(k, 1.0 + xi.abs(), 2.0 * U * xi.abs());
        let ey = m(k, 1.0 + eta.abs(), 2.0 * U * eta.abs());
        // p_x ≤ 0: off the projection (NaN, as in the reference); near 0: tier 2 decides.
        let xv = m(sel32(pxi > 0.0, xi, f32::NAN), t.sx, t.x0);
        let yv = m(eta, t.sy, t.y0);
        // (An infinite or NaN E, from stage 4, is a special case too.)
        let special = (pxi.abs() < 1e-3) | !(eci < f32::INFINITY);
        x[i] = sel32(special, 0.0, xv);
        y[i] = sel32(special, 0.0, yv);
        bx[i] = sel32(special, f32::INFINITY, m(ex, t.abs_sx, m(xv.abs(), 4.0 * U * BAND_MARGIN, t.bx0)));
        by[i] = sel32(special, f32::INFINITY, m(ey, t.abs_sy, m(yv.abs(), 4.0 * U * BAND_MARGIN, t.by0)));
      }
    } else if t.small {
      for i in 0..len {
        let (pxi, pyi, pzi, eci) = (den[i], num[i], num[len + i], ec[i]);
        // Beyond the small-angle reach (or p_x ≤ 0): surely off the map, NaN (dropped).
        let reach = (pxi > 0.0) & (pyi.abs() <= t.tmax * pxi) & (pzi.abs() <= t.smax);
        let inv = 1.0 / pxi;
        let tt = pyi * inv;
        let z = tt * tt;
        let q = m(m(m(m(-1.0 / 11.0, z, 1.0 / 9.0), z, -1.0 / 7.0), z, 0.2), z, -1.0 / 3.0);
        let phi = m(tt * z, q, tt);
        let w = pzi * pzi;
        let r = m(
          m(m(m(63.0 / 2816.0, w, 35.0 / 1152.0), w, 5.0 / 112.0), w, 3.0 / 40.0),
          w,
          1.0 / 6.0,
        );
        let theta = m(pzi * w, r, pzi);
        let ex = m(eci * inv * 1.01, 1.0 + tt.abs(), 4.0 * U * tt.abs());
        let ey = m(eci, 1.05, 2.0 * U * theta.abs());
        // (An infinite or NaN E, from stage 4, is a special case: tier 2 decides.)
        let special = !(eci < f32::INFINITY);
        let xv = sel32(reach, m(phi, t.sx, t.x0), f32::NAN);
        let yv = m(theta, t.sy, t.y0);
        x[i] = sel32(special, 0.0, xv);
        y[i] = sel32(special, 0.0, yv);
        bx[i] = sel32(special, f32::INFINITY, m(ex, t.abs_sx, m(xv.abs(), 4.0 * U * BAND_MARGIN, t.bx0)));
        by[i] = sel32(special, f32::INFINITY, m(ey, t.abs_sy, m(yv.abs(), 4.0 * U * BAND_MARGIN, t.by0)));
      }
    } else {
      let (den, den2) = den.split_at_mut(len);
      for i in 0..len {
        den2[i] = m(den[i], den[i], num[i] * num[i]).sqrt();
      }
      let ang = &mut w.ang[..2 * len];
      for j in 0..2 * len {
        let d = if j < len { den[j] } else { den2[j - len] };
        ang[j] = atan2_32::<FMA>(num[j], d);
      }
      for i in 0..len {
        let (pxi, pyi, pzi, rho, eci) = (den[i], num[i], num[len + i], den2[i], ec[i]);
        let (phi, theta) = (ang[i], ang[len + i]);
        let ex = m(
          eci * (std::f32::consts::SQRT_2 * (1.0 + 1e-3)),
          1.0 / rho,
          m(phi.abs(), 3.5 * U, 4.5 * U),
        );
        let ey = m(eci, 1.732_050_8 * (1.0 + 1e-3), m(theta.abs(), 3.5 * U, 6.5 * U));
        // The seam (φ = ±π: the sign of p_y decides, |p_y| ≤ E < 1e-5) and the native poles.
        // (An infinite or NaN E, from stage 4, is a special case too: NaN would drop the event.)
        let special = ((pxi < 0.0) & (pyi.abs() < 1e-5)) | (pzi.abs() > 1.0 - 1e-5) | !(eci < f32::INFINITY);
        let xv = m(phi, t.sx, t.x0);
        let yv = m(theta, t.sy, t.y0);
        x[i] = sel32(special, 0.0, xv);
        y[i] = sel32(special, 0.0, yv);
        bx[i] = sel32(special, f32::INFINITY, m(ex, t.abs_sx, m(xv.abs(), 4.0 * U * BAND_MARGIN, t.bx0)));
        by[i] = sel32(special, f32::INFINITY, m(ey, t.abs_sy, m(yv.abs(), 4.0 * U * BAND_MARGIN, t.by0)));
      }
    }
  }
  // Stage 6: the verdict.
  {
    let (x, y, bx, by, ebin) = (&w.x[..len], &w.y[..len], &w.bx[..len], &w.by[..len], &w.ebin[..len]);
    let (nx, ny) = (t.nx, t.ny);
    let (nxi, nyi) = (t.nx as i32, t.ny as i32);
    for i in 0..len {
      let (xv, yv, bxv, byv, eb) = (x[i], y[i], bx[i], by[i], ebin[i]);
      let (xh, yh) = (xv + 0.5, yv + 0.5);
      let (fx, fy) = (xh.floor(), yh.floor());
      let (rx, ry) = (xh - fx, yh - fy);
      // NaN coordinates (dropped, as by the reference) fail every comparison; a special case has
      // coordinates 0 and infinite bands: close to the map and never sure, so tier 2 decides it
      // unless its energy is surely off the axis.
      let sure = (rx > bxv) & (rx < 1.0 - bxv) & (ry > byv) & (ry < 1.0 - byv);
      let close = (xv + bxv >= -0.5) & (xv - bxv <= nx - 0.5) & (yv + byv >= -0.5) & (yv - byv <= ny - 0.5);
      let tier2 = close & ((eb == E_NEAR) | ((eb >= 0.0) & !sure));
      let inside = sure & (fx >= 0.0) & (fx < nx) & (fy >= 0.0) & (fy < ny) & (eb >= 0.0);
      // Selected in range, so the conversions are exact (and the unchecked ones vectorise).
      // SAFETY: the selected values are integers in [0, 2²²].
      let (ix, iy, iz) = unsafe {
        (
          sel32(inside, fx, 0.0).to_int_unchecked::<i32>(),
          sel32(inside, fy, 0.0).to_int_unchecked::<i32>(),
          sel32(inside, eb, 0.0).to_int_unchecked::<i32>(),
        )
      };
      let index = (iz * nyi + iy) * nxi + ix;
      out[i] = if tier2 {
        TIER2
      } else if inside {
        index
      } else {
        -1
      };
    }
  }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,sse4.1")]
unsafe fn tier1_block_avx512<const TAN: bool>(t: &Tier1, w: &mut Scratch, ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  tier1_block::<TAN, true>(t, w, ra, dec, energy, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,sse4.1")]
unsafe fn tier1_block_avx2<const TAN: bool>(t: &Tier1, w: &mut Scratch, ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  tier1_block::<TAN, true>(t, w, ra, dec, energy, out)
}

/// Tier 1 with the widest instructions this CPU has.
#[allow(clippy::too_many_arguments)]
fn tier1_dispatch(t: &Tier1, w: &mut Scratch, tan: bool, level: u8, ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  #[cfg(target_arch = "x86_64")]
  {
    // SAFETY: `level` comes from simd_level(), which detected the features on this CPU.
    unsafe {
      match (level, tan) {
        (2, true) => return tier1_block_avx512::<true>(t, w, ra, dec, energy, out),
        (2, false) => return tier1_block_avx512::<false>(t, w, ra, dec, energy, out),
        (1, true) => return tier1_block_avx2::<true>(t, w, ra, dec, energy, out),
        (1, false) => return tier1_block_avx2::<false>(t, w, ra, dec, energy, out),
        _ => {}
      }
    }
  }
  let _ = level;
  if tan {
    tier1_block::<true, false>(t, w, ra, dec, energy, out)
  } else {
    tier1_block::<false, false>(t, w, ra, dec, energy, out)
  }
}

/// 2 with AVX-512, 1 with AVX2 + FMA, else 0.
fn simd_level() -> u8 {
  #[cfg(target_arch = "x86_64")]
  {
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl") {
      return 2;
    }
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("sse4.1") {
      return 1;
    }
  }
  0
}

/// Something counts can be accumulated into.
pub trait Counter: Copy + Default {
  fn add_one(&mut self);
  /// Adds `c` as `c` successive `add_one` calls would (the reference's float `+= 1`, rounding included).
  fn add_count(&mut self, c: u64);
}
impl Counter for f32 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1.0;
  }
  fn add_count(&mut self, c: u64) {
    let v = *self;
    let sum = v as f64 + c as f64;
    // From an integer, every partial sum up to 2²⁴ is an integer float32 holds: the sum is exact.
    if v == v.trunc() && v.abs() <= 16777216.0 && sum <= 16777216.0 {
      *self = sum as f32;
      return;
    }
    // Otherwise one add at a time, until an add no longer changes the value (it never will again).
    for _ in 0..c {
      let next = *self + 1.0;
      if next == *self || next.is_nan() {
        break;
      }
      *self = next;
    }
  }
}
impl Counter for f64 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1.0;
  }
  fn add_count(&mut self, c: u64) {
    let v = *self;
    let sum = v + c as f64;
    let exact = 9007199254740992.0; // 2⁵³
    if v == v.trunc() && v.abs() <= exact && (c as f64) <= exact && sum <= exact {
      *self = sum;
      return;
    }
    for _ in 0..c {
      let next = *self + 1.0;
      if next == *self || next.is_nan() {
        break;
      }
      *self = next;
    }
  }
}
impl Counter for u32 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1;
  }
  fn add_count(&mut self, c: u64) {
    *self = self.wrapping_add(c as u32);
  }
}

/// How far ahead (in blocks) the input is prefetched.
const PREFETCH_BLOCKS: usize = 2;

/// Prefetches the cache line of event `i` in each input array (8 events of float64 per line): spread
/// over the counting loop, so that the next blocks' reads overlap the arithmetic instead of stalling
/// tier 1's first loop (the hardware prefetcher stops at every 4 KB page, 512 events).
#[inline(always)]
fn prefetch_event_lines(lon: &[f64], lat: &[f64], energy: &[f64], i: usize) {
  #[cfg(target_arch = "x86_64")]
  if let (Some(a), Some(b), Some(c)) = (lon.get(i), lat.get(i), energy.get(i)) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: a prefetch neither reads nor faults (and these are addresses of elements).
    unsafe {
      _mm_prefetch::<_MM_HINT_T0>(a as *const f64 as *const i8);
      _mm_prefetch::<_MM_HINT_T0>(b as *const f64 as *const i8);
      _mm_prefetch::<_MM_HINT_T0>(c as *const f64 as *const i8);
    }
  }
  #[cfg(not(target_arch = "x86_64"))]
  let _ = (lon, lat, energy, i);
}

/// Bins events [start, start + lon.len()) of the caller's arrays into `counts`; indices of events
/// the fast path leaves to the reference are appended to `uncertain`.
#[allow(clippy::too_many_arguments)]
pub fn bin_block<C: Counter>(
  g: &Geometry,
  t1: Option<&Tier1>,
  lon: &[f64],
  lat: &[f64],
  energy: &[f64],
  start: usize,
  counts: &mut [C],
  uncertain: &mut Vec<u32>,
) {
  let bands = (1e-6 + ANGLE_ERROR * RAD / g.cdelt1.abs(), 1e-6 + ANGLE_ERROR * RAD / g.cdelt2.abs());
  let level = simd_level();
  // Tier 1 and its scratch space go together.
  let mut tier1 = t1.map(|t| (t, Scratch::new()));
  let mut index = [0i32; BLOCK];
  // The events tier 1 leaves: their positions in the block, their inputs, the float64 verdicts.
  let mut pos = [0u32; BLOCK];
  let (mut ra2, mut dec2, mut e2, mut index2) = ([0f64; BLOCK], [0f64; BLOCK], [0f64; BLOCK], [0i32; BLOCK]);
  let n = lon.len().min(lat.len()).min(energy.len());
  let mut b0 = 0;
  let cube = counts.len();
  assert!(cube <= i32::MAX as usize, "counts cube larger than 2^31 - 1 values");
  let mut sink = [C::default(); BLOCK];
  let (base, scratch) = (counts.as_mut_ptr(), sink.as_mut_ptr());
  // Branch-free (a third of real events miss the cube, at random): an event outside the cube counts
  // into a scratch slot of its own in the block. (With a few shared slots, hit again within a few
  // events, the processor predicted that the count's loads depend on its recent stores and made
  // every load wait: a third of the kernel's time once tier 1 was fast.)
  let add = |k: i32, i: usize| {
    let at = k as u32 as usize; // −1, −2 and −3 become huge
                                // SAFETY: `at < cube` is checked, and i < BLOCK = sink.len().
    let p = if at < cube {
      unsafe { base.add(at) }
    } else {
      unsafe { scratch.add(i) }
    };
    // SAFETY: p points into `counts` or `sink`, and no reference to either is alive in the loop.
    unsafe { (*p).add_one() };
  };
  // The float64 tier on the m2 gathered events (positions pos, ascending), then counted or listed.
  let mut m2 = 0;
  let tier2 = |m2: &mut usize, pos: &[u32], ra2: &[f64], dec2: &[f64], e2: &[f64], index2: &mut [i32], uncertain: &mut Vec<u32>| {
    let m = *m2;
    classify_dispatch(g, bands, level, &ra2[..m], &dec2[..m], &e2[..m], &mut index2[..m]);
    for j in 0..m {
      let k = index2[j];
      if k == UNCERTAIN {
        uncertain.push((start + pos[j] as usize) as u32);
      }
      add(k, j);
    }
    *m2 = 0;
  };
  while b0 < n {
    let len = BLOCK.min(n - b0);
    let (ra, dec, en) = (&lon[b0..b0 + len], &lat[b0..b0 + len], &energy[b0..b0 + len]);
    match tier1.as_mut() {
      Some((t1, w)) => {
        tier1_dispatch(t1, w, g.tan, level, ra, dec, en, &mut index[..len]);
        // Count what tier 1 decided; gather the rest (≈ 1.5 %, a branch mispredicted for each) until
        // a block of them is ready for tier 2: on a few events, its vectorised loops cost their setup.
        let ahead = b0 + PREFETCH_BLOCKS * BLOCK;
        for (i, &k) in index[..len].iter().enumerate() {
          if i % 8 == 0 {
            prefetch_event_lines(lon, lat, energy, ahead + i);
          }
          add(k, i);
          if k == TIER2 {
            if m2 == BLOCK {
              tier2(&mut m2, &pos, &ra2, &dec2, &e2, &mut index2, uncertain);
            }
            (pos[m2], ra2[m2], dec2[m2], e2[m2]) = ((b0 + i) as u32, ra[i], dec[i], en[i]);
            m2 += 1;
          }
        }
      }
      None => {
        classify_dispatch(g, bands, level, ra, dec, en, &mut index[..len]);
        for (i, &k) in index[..len].iter().enumerate() {
          if k == UNCERTAIN {
            uncertain.push((start + b0 + i) as u32);
          }
          add(k, i);
        }
      }
    }
    b0 += len;
  }
  tier2(&mut m2, &pos, &ra2, &dec2, &e2, &mut index2, uncertain);
}

/// Whether R is orthonormal to 1e-14: both tiers take θ = atan2(n_z, ρ) for the reference's asin(n_z),
/// which needs |n| = 1 (near the poles the difference is |n| − 1 over ρ).
fn orthonormal(r: &[f64; 9]) -> bool {
  (0..3).all(|i| {
    (0..3).all(|j| {
      let d = r[3 * i] * r[3 * j] + r[3 * i + 1] * r[3 * j + 1] + r[3 * i + 2] * r[3 * j + 2];
      (d - if i == j { 1.0 } else { 0.0 }).abs() <= 1e-14
    })
  })
}

/// Events per unit of work handed to a binning thread (≈ 0.5 ms of work).
const CHUNK: usize = 1 << 16;

/// Bins chunks of CHUNK events, taken from `next`, until none is left.
fn bin_chunks<C: Counter>(
  g: &Geometry,
  t1: Option<&Tier1>,
  (lon, lat, energy): (&[f64], &[f64], &[f64]),
  next: &AtomicUsize,
  counts: &mut [C],
  uncertain: &mut Vec<u32>,
) {
  let n = lon.len().min(lat.len()).min(energy.len());
  loop {
    let a = next.fetch_add(CHUNK, Ordering::Relaxed);
    if a >= n {
      return;
    }
    let b = (a + CHUNK).min(n);
    bin_block(g, t1, &lon[a..b], &lat[a..b], &energy[a..b], a, counts, uncertain);
  }
}

/// Bins all events, on `threads` threads when it pays; returns the indices left to the reference,
/// ascending. The calling thread bins into `counts` itself; each helper thread fills a private u32 cube,
/// added at the end. The threads take chunks of CHUNK events from a shared counter rather than fixed
/// halves: on a machine shared with other jobs, a thread that gets a core to itself takes more chunks
/// (with fixed halves, one descheduled thread held the whole call back, and 2 threads were no faster
/// than 1 whenever the second core was busy).
pub fn bin_all<C: Counter + Send>(g: &Geometry, lon: &[f64], lat: &[f64], energy: &[f64], counts: &mut [C], threads: usize) -> Vec<u32> {
  let n = lon.len().min(lat.len()).min(energy.len());
  if !orthonormal(&g.r) {
    return (0..n as u32).collect();
  }
  let t1 = Tier1::new(g);
  let t1 = t1.as_ref();
  let cube = counts.len();
  // A private cube per thread costs its size in zeroing and merging: only worth it for many events.
  let threads = threads.max(1).min(n / (4 * cube + 65536) + 1);
  let mut uncertain = Vec::new();
  if threads <= 1 {
    bin_block(g, t1, &lon[..n], &lat[..n], &energy[..n], 0, counts, &mut uncertain);
    return uncertain;
  }
  let next = AtomicUsize::new(0);
  let helpers: Vec<(Vec<u32>, Vec<u32>)> = std::thread::scope(|scope| {
    let handles: Vec<_> = (1..threads)
      .map(|_| {
        scope.spawn(|| {
          let (mut local, mut unc) = (vec![0u32; cube], Vec::new());
          bin_chunks(g, t1, (lon, lat, energy), &next, &mut local, &mut unc);
          (local, unc)
        })
      })
      .collect();
    bin_chunks(g, t1, (lon, lat, energy), &next, counts, &mut uncertain);
    handles.into_iter().map(|h| h.join().expect("binning thread panicked")).collect()
  });
  // Each helper's counts are added as its additions of 1 would have been (so past 2²⁴ in a value too;
  // every addition is +1, so their order does not change the result).
  for (local, unc) in helpers {
    for (c, &v) in counts.iter_mut().zip(&local) {
      if v != 0 {
        c.add_count(v as u64);
      }
    }
    uncertain.extend(unc);
  }
  uncertain.sort_unstable();
  uncertain
}

/// The fast path writes cube indices as i32.
fn cube_fits(len: usize) -> Result<()> {
  if len > i32::MAX as usize {
    return Err(Error::new(
      Status::InvalidArg,
      format!("out: a cube of {len} values exceeds 2^31 - 1"),
    ));
  }
  Ok(())
}

/// binEvents with the reference's arguments (src/reference/bin-events.ts) plus `threads`; adds into
/// `out` every event the fast path decides and returns the indices of the others (ascending), which the
/// JavaScript wrapper bins with the reference.
#[napi(js_name = "binEventsFast", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn bin_events_fast(
  ra: &[f64],
  dec: &[f64],
  energy: &[f64],
  count: f64,
  wcs: &[f64],
  nx: f64,
  ny: f64,
  ln_edges: &[f64],
  n_e: f64,
  mut out: Float32Array,
  threads: Option<u32>,
) -> Result<Uint32Array> {
  let (count, nx, ny, n_e) = (
    as_count("count", count)?,
    as_count("nx", nx)?,
    as_count("ny", ny)?,
    as_count("nE", n_e)?,
  );
  need_len("ra", ra.len(), count)?;
  need_len("dec", dec.len(), count)?;
  need_len("energy", energy.len(), count)?;
  need_len("wcs", wcs.len(), 14)?;
  need_len("lnEdges", ln_edges.len(), n_e + 1)?;
  need_len("out", out.len(), n_e * nx * ny)?;
  cube_fits(n_e * nx * ny)?;
  let edges: Vec<f64> = ln_edges[..n_e + 1].iter().map(|v| v.exp()).collect();
  let Some(g) = Geometry::from_wcs(wcs, nx, ny, &edges).map(|g| g.with_ln_edges(&ln_edges[..n_e + 1])) else {
    return Err(Error::new(
      Status::InvalidArg,
      format!("wcs[0]: unknown projection code {}", wcs[0]),
    ));
  };
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let cube = unsafe { &mut out.as_mut()[..n_e * nx * ny] };
  let threads = threads
    .map(|t| t as usize)
    .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
  let uncertain = bin_all(&g, &ra[..count], &dec[..count], &energy[..count], cube, threads);
  Ok(Uint32Array::new(uncertain))
}

/// Cube index of each (fx, fy, fe) after half-even rounding, −1 when outside (NaN included); selects
/// only, so that the loop vectorises.
#[inline(always)]
fn accumulate_indices(fx: &[f64], fy: &[f64], fe: &[f64], dims: (f64, f64, f64), out: &mut [i32]) {
  let (nx, ny, ne) = dims;
  let len = out.len();
  let (fx, fy, fe) = (&fx[..len], &fy[..len], &fe[..len]);
  for i in 0..len {
    let (ix, iy, ie) = (fx[i].round_ties_even(), fy[i].round_ties_even(), fe[i].round_ties_even());
    let inside = (ix >= 0.0) & (ix < nx) & (iy >= 0.0) & (iy < ny) & (ie >= 0.0) & (ie < ne);
    // SAFETY: −1 or an index < 2³¹ (checked by the caller): exact conversions.
    out[i] = unsafe { sel(inside, (ie * ny + iy) * nx + ix, -1.0).to_int_unchecked::<i32>() };
  }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,sse4.1")]
unsafe fn accumulate_indices_avx512(fx: &[f64], fy: &[f64], fe: &[f64], dims: (f64, f64, f64), out: &mut [i32]) {
  accumulate_indices(fx, fy, fe, dims, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,sse4.1")]
unsafe fn accumulate_indices_avx2(fx: &[f64], fy: &[f64], fe: &[f64], dims: (f64, f64, f64), out: &mut [i32]) {
  accumulate_indices(fx, fy, fe, dims, out)
}

/// Bench baseline (not a kernel of the reference set): fractional bin coordinates → half-even rounding
/// → accumulate, the "accumulation" part of binning alone, the way binEvents accumulates: indices of a
/// block computed with vector instructions, then added branch-free. NaN and out-of-range drop.
#[napi(js_name = "accumulateBinsBench", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn accumulate_bins_bench(fx: &[f64], fy: &[f64], fe: &[f64], nx: f64, ny: f64, n_e: f64, mut out: Float32Array) -> Result<()> {
  let (nx, ny, n_e) = (as_count("nx", nx)?, as_count("ny", ny)?, as_count("nE", n_e)?);
  need_len("out", out.len(), nx * ny * n_e)?;
  cube_fits(nx * ny * n_e)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { &mut out.as_mut()[..nx * ny * n_e] };
  let dims = (nx as f64, ny as f64, n_e as f64);
  let n = fx.len().min(fy.len()).min(fe.len());
  #[cfg(target_arch = "x86_64")]
  let level = simd_level();
  let mut index = [0i32; BLOCK];
  let mut scratch = [0.0f32; BLOCK];
  let cube = out.len();
  let mut b0 = 0;
  while b0 < n {
    let len = BLOCK.min(n - b0);
    let (x, y, e, idx) = (&fx[b0..b0 + len], &fy[b0..b0 + len], &fe[b0..b0 + len], &mut index[..len]);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the features were detected on this CPU.
    unsafe {
      match level {
        2 => accumulate_indices_avx512(x, y, e, dims, idx),
        1 => accumulate_indices_avx2(x, y, e, dims, idx),
        _ => accumulate_indices(x, y, e, dims, idx),
      }
    }
    #[cfg(not(target_arch = "x86_64"))]
    accumulate_indices(x, y, e, dims, idx);
    for (i, &k) in idx.iter().enumerate() {
      let at = k as u32 as usize;
      let slot = if at < cube { &mut out[at] } else { &mut scratch[i] };
      *slot += 1.0;
    }
    b0 += len;
  }
  Ok(())
}

/// Test seam (not a kernel): what tier 1 computes for each event, from the same code as binEventsFast:
/// 7 values per event: x, y and their bands (infinite for the special cases), the fractional energy bin
/// f = e + 0.5 and its band (NaN for uneven edges), and the verdict (cube index, −1 off the cube, −3
/// left to the float64 tier). None when tier 1 does not apply to this call.
#[napi(js_name = "binEventsTier1Probe", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn bin_events_tier1_probe(
  ra: &[f64],
  dec: &[f64],
  energy: &[f64],
  wcs: &[f64],
  nx: f64,
  ny: f64,
  ln_edges: &[f64],
  n_e: f64,
) -> Result<Option<Float64Array>> {
  let (nx, ny, n_e) = (as_count("nx", nx)?, as_count("ny", ny)?, as_count("nE", n_e)?);
  let n = ra.len().min(dec.len()).min(energy.len());
  need_len("wcs", wcs.len(), 14)?;
  need_len("lnEdges", ln_edges.len(), n_e + 1)?;
  cube_fits(n_e * nx * ny)?;
  let edges: Vec<f64> = ln_edges[..n_e + 1].iter().map(|v| v.exp()).collect();
  let Some(g) = Geometry::from_wcs(wcs, nx, ny, &edges).map(|g| g.with_ln_edges(&ln_edges[..n_e + 1])) else {
    return Err(Error::new(
      Status::InvalidArg,
      format!("wcs[0]: unknown projection code {}", wcs[0]),
    ));
  };
  let Some(t) = Tier1::new(&g).filter(|_| orthonormal(&g.r)) else {
    return Ok(None);
  };
  let (level, mut w) = (simd_level(), Scratch::new());
  let mut out = vec![0.0; 7 * n];
  let mut index = [0i32; BLOCK];
  for b0 in (0..n).step_by(BLOCK) {
    let len = BLOCK.min(n - b0);
    let r = b0..b0 + len;
    tier1_dispatch(
      &t,
      &mut w,
      g.tan,
      level,
      &ra[r.clone()],
      &dec[r.clone()],
      &energy[r],
      &mut index[..len],
    );
    for i in 0..len {
      let o = &mut out[7 * (b0 + i)..7 * (b0 + i + 1)];
      let (f, fb) = match t.log_uniform {
        Some(axis) => energy_coordinate_at(level, w.e[i], axis),
        None => (f32::NAN, f32::NAN),
      };
      let v = [w.x[i], w.y[i], w.bx[i], w.by[i], f, fb];
      for k in 0..6 {
        o[k] = v[k] as f64;
      }
      o[6] = index[i] as f64;
    }
  }
  Ok(Some(Float64Array::new(out)))
}

/// energy_coordinate as the tier-1 stage at `level` computes it (fused or not).
fn energy_coordinate_at(level: u8, ev: f32, axis: (f32, f32, f32, f32)) -> (f32, f32) {
  #[cfg(target_arch = "x86_64")]
  if level >= 1 {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fused(ev: f32, axis: (f32, f32, f32, f32)) -> (f32, f32) {
      energy_coordinate::<true>(ev, axis)
    }
    // SAFETY: level ≥ 1 means AVX2 and FMA were detected on this CPU.
    return unsafe { fused(ev, axis) };
  }
  let _ = level;
  energy_coordinate::<false>(ev, axis)
}

/// binEventsFast off the JavaScript thread (libuv pool): the typed arrays are held by reference and must
/// not be touched by JavaScript until the promise settles; abortable through an AbortSignal.
pub struct BinEventsTask {
  ra: Float64Array,
  dec: Float64Array,
  energy: Float64Array,
  count: usize,
  wcs: Vec<f64>,
  nx: usize,
  ny: usize,
  ln_edges: Vec<f64>,
  n_e: usize,
  out: Float32Array,
  threads: usize,
}

impl Task for BinEventsTask {
  type Output = Vec<u32>;
  type JsValue = Uint32Array;

  fn compute(&mut self) -> Result<Self::Output> {
    let edges: Vec<f64> = self.ln_edges.iter().map(|v| v.exp()).collect();
    let Some(g) = Geometry::from_wcs(&self.wcs, self.nx, self.ny, &edges).map(|g| g.with_ln_edges(&self.ln_edges)) else {
      return Err(Error::new(
        Status::InvalidArg,
        format!("wcs[0]: unknown projection code {}", self.wcs[0]),
      ));
    };
    let n = self.count;
    let cube_len = self.n_e * self.nx * self.ny;
    // SAFETY: the caller promised not to touch the arrays until the promise settles.
    let cube = unsafe { &mut self.out.as_mut()[..cube_len] };
    Ok(bin_all(&g, &self.ra[..n], &self.dec[..n], &self.energy[..n], cube, self.threads))
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
    Ok(Uint32Array::new(output))
  }
}

/// Asynchronous binEventsFast (same arguments, plus an optional AbortSignal).
#[napi(js_name = "binEventsFastAsync")]
#[allow(clippy::too_many_arguments)]
pub fn bin_events_fast_async(
  ra: Float64Array,
  dec: Float64Array,
  energy: Float64Array,
  count: f64,
  wcs: &[f64],
  nx: f64,
  ny: f64,
  ln_edges: &[f64],
  n_e: f64,
  out: Float32Array,
  threads: Option<u32>,
  signal: Option<AbortSignal>,
) -> Result<AsyncTask<BinEventsTask>> {
  let (count, nx, ny, n_e) = (
    as_count("count", count)?,
    as_count("nx", nx)?,
    as_count("ny", ny)?,
    as_count("nE", n_e)?,
  );
  need_len("ra", ra.len(), count)?;
  need_len("dec", dec.len(), count)?;
  need_len("energy", energy.len(), count)?;
  need_len("wcs", wcs.len(), 14)?;
  need_len("lnEdges", ln_edges.len(), n_e + 1)?;
  need_len("out", out.len(), n_e * nx * ny)?;
  cube_fits(n_e * nx * ny)?;
  let threads = threads
    .map(|t| t as usize)
    .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
  let task = BinEventsTask {
    ra,
    dec,
    energy,
    count,
    wcs: wcs[..14].to_vec(),
    nx,
    ny,
    ln_edges: ln_edges[..n_e + 1].to_vec(),
    n_e,
    out,
    threads,
  };
  Ok(AsyncTask::with_optional_signal(task, signal))
}

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

/// Pass 1 with the widest instructions this CPU has (checked at run time, so the addon loads anywhere).
fn classify_dispatch(g: &Geometry, bands: (f64, f64), ra: &[f64], dec: &[f64], energy: &[f64], out: &mut [i32]) {
  #[cfg(target_arch = "x86_64")]
  {
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl") {
      // SAFETY: the features were just detected on this CPU.
      unsafe {
        if g.tan {
          classify_block_avx512::<true>(g, bands, ra, dec, energy, out)
        } else {
          classify_block_avx512::<false>(g, bands, ra, dec, energy, out)
        }
      }
      return;
    }
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("sse4.1") {
      // SAFETY: the features were just detected on this CPU.
      unsafe {
        if g.tan {
          classify_block_avx2::<true>(g, bands, ra, dec, energy, out)
        } else {
          classify_block_avx2::<false>(g, bands, ra, dec, energy, out)
        }
      }
      return;
    }
  }
  if g.tan {
    classify_block::<true, false>(g, bands, ra, dec, energy, out)
  } else {
    classify_block::<false, false>(g, bands, ra, dec, energy, out)
  }
}

/// Something counts can be accumulated into.
pub trait Counter: Copy + Default {
  fn add_one(&mut self);
}
impl Counter for f32 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1.0;
  }
}
impl Counter for f64 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1.0;
  }
}
impl Counter for u32 {
  #[inline(always)]
  fn add_one(&mut self) {
    *self += 1;
  }
}

/// Bins events [start, start + lon.len()) of the caller's arrays into `counts`; indices of events
/// the fast path leaves to the reference are appended to `uncertain`.
pub fn bin_block<C: Counter>(
  g: &Geometry,
  lon: &[f64],
  lat: &[f64],
  energy: &[f64],
  start: usize,
  counts: &mut [C],
  uncertain: &mut Vec<u32>,
) {
  let bands = (1e-6 + ANGLE_ERROR * RAD / g.cdelt1.abs(), 1e-6 + ANGLE_ERROR * RAD / g.cdelt2.abs());
  let mut index = [0i32; BLOCK];
  let n = lon.len().min(lat.len()).min(energy.len());
  let mut b0 = 0;
  let cube = counts.len();
  assert!(cube <= i32::MAX as usize, "counts cube larger than 2^31 - 1 values");
  let mut sink = [C::default(); 16];
  let (base, scratch) = (counts.as_mut_ptr(), sink.as_mut_ptr());
  while b0 < n {
    let len = BLOCK.min(n - b0);
    classify_dispatch(
      g,
      bands,
      &lon[b0..b0 + len],
      &lat[b0..b0 + len],
      &energy[b0..b0 + len],
      &mut index[..len],
    );
    for (i, &k) in index[..len].iter().enumerate() {
      if k == UNCERTAIN {
        uncertain.push((start + b0 + i) as u32);
      }
      // Branch-free (a third of real events miss the cube, at random): an event outside the cube
      // counts into one of 16 scratch slots, 16 so that they do not form one chain of dependent adds.
      let at = k as u32 as usize; // −1 and −2 become huge
                                  // SAFETY: `at < cube` is checked, and i & 15 < 16 = sink.len().
      let p = if at < cube {
        unsafe { base.add(at) }
      } else {
        unsafe { scratch.add(i & 15) }
      };
      // SAFETY: p points into `counts` or `sink`, and no reference to either is alive in the loop.
      unsafe { (*p).add_one() };
    }
    b0 += len;
  }
}

/// Bins all events, on `threads` threads when it pays (each thread fills its own u32 cube, the cubes
/// are added at the end); returns the indices left to the reference, ascending.
pub fn bin_all<C: Counter + Send + AddU32>(
  g: &Geometry,
  lon: &[f64],
  lat: &[f64],
  energy: &[f64],
  counts: &mut [C],
  threads: usize,
) -> Vec<u32> {
  let n = lon.len().min(lat.len()).min(energy.len());
  let cube = counts.len();
  // A private cube per thread costs its size in zeroing and merging: only worth it for many events.
  let threads = threads.max(1).min(n / (4 * cube + 65536) + 1);
  let mut uncertain = Vec::new();
  if threads <= 1 {
    bin_block(g, &lon[..n], &lat[..n], &energy[..n], 0, counts, &mut uncertain);
    return uncertain;
  }
  let per = n.div_ceil(threads);
  let results: Vec<(Vec<u32>, Vec<u32>)> = std::thread::scope(|scope| {
    let handles: Vec<_> = (0..threads)
      .map(|t| {
        let (a, b) = ((t * per).min(n), ((t + 1) * per).min(n));
        scope.spawn(move || {
          let mut local = vec![0u32; cube];
          let mut unc = Vec::new();
          bin_block(g, &lon[a..b], &lat[a..b], &energy[a..b], a, &mut local, &mut unc);
          (local, unc)
        })
      })
      .collect();
    handles.into_iter().map(|h| h.join().expect("binning thread panicked")).collect()
  });
  for (local, unc) in results {
    for (c, &v) in counts.iter_mut().zip(&local) {
      c.add_u32(v);
    }
    uncertain.extend(unc);
  }
  uncertain
}

/// Adding a thread's integer counts into the caller's cube.
pub trait AddU32 {
  fn add_u32(&mut self, v: u32);
}
impl AddU32 for f32 {
  #[inline(always)]
  fn add_u32(&mut self, v: u32) {
    *self += v as f32;
  }
}
impl AddU32 for f64 {
  #[inline(always)]
  fn add_u32(&mut self, v: u32) {
    *self += v as f64;
  }
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
  let level =
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl") {
      2
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("sse4.1") {
      1
    } else {
      0
    };
  let mut index = [0i32; BLOCK];
  let mut scratch = [0.0f32; 16];
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
      let slot = if at < cube { &mut out[at] } else { &mut scratch[i & 15] };
      *slot += 1.0;
    }
    b0 += len;
  }
  Ok(())
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

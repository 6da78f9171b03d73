//! Event binning (science spec §4.1; reference: src/reference/bin-events.ts): sky → pixel through the WCS
//! parameter block (CAR or TAN, half-even rounding), energy → log bin, counts added into a caller-owned
//! float32 cube [ie][iy][ix].
//!
//! Fast path, exact result: a branch-free projection with polynomial sin/cos/atan (absolute error
//! ≲ 1e-13 rad, vectorised in blocks) decides the bin of every event that lies farther than a safety
//! band from any pixel or energy edge. An event inside the band (≈ 1e-5 of real events, and every
//! event placed exactly on an edge) is not guessed: its index is returned, and the caller bins it with
//! the reference kernel. Counts are therefore identical to the reference's exact projection.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
use crate::common::{as_count, need_len};
use napi::bindgen_prelude::{Float32Array, Uint32Array};
use napi::{Error, Result, Status};
use napi_derive::napi;

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
    Some(Geometry { tan, x0: wcs[1], y0: wcs[2], cdelt1: wcs[3], cdelt2: wcs[4], r, nx, ny, edges })
  }
}

const DEG: f64 = PI / 180.0;
const RAD: f64 = 180.0 / PI;
/// Bound on the fast path's angular error (rad), with a wide margin over the ≲ 1e-13 measured.
const ANGLE_ERROR: f64 = 1e-9;
/// Relative band around each energy edge handed to the reference.
const ENERGY_BAND: f64 = 1e-9;
const BLOCK: usize = 256;

/// Taylor coefficients (−1)^k/(2k+1)! and (−1)^k/(2k)!.
const SIN_C: [f64; 14] = [1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-06, -2.505210838544172e-08, 1.6059043836821613e-10, -7.647163731819816e-13, 2.8114572543455206e-15, -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23, 6.446950284384474e-26, -9.183689863795546e-29];
const COS_C: [f64; 15] = [1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05, -2.755731922398589e-07, 2.08767569878681e-09, -1.1470745597729725e-11, 4.779477332387385e-14, -1.5619206968586225e-16, 4.110317623312165e-19, -8.896791392450574e-22, 1.6117375710961184e-24, -2.4795962632247976e-27, 3.279889237069838e-30];

/// sin and cos on [−π, π] (Taylor to degree 27/28: truncation < 4e-17, rounding ≈ 1e-15 absolute).
#[inline(always)]
fn sincos(a: f64) -> (f64, f64) {
  let z = a * a;
  let mut s = SIN_C[13];
  for k in (0..13).rev() {
    s = s * z + SIN_C[k];
  }
  let mut c = COS_C[14];
  for k in (0..14).rev() {
    c = c * z + COS_C[k];
  }
  (a * s, c)
}

/// atan(t) for t in [0, 1]: fdlibm's reduction (atan(c) + atan((t − c)/(1 + c·t)), c ∈ {0, ½, 1}) and
/// its minimax polynomial, without branches.
#[inline(always)]
fn atan01(t: f64) -> f64 {
  let c = if t >= 11.0 / 16.0 { 1.0 } else if t >= 7.0 / 16.0 { 0.5 } else { 0.0 };
  let base = if t >= 11.0 / 16.0 { FRAC_PI_4 } else if t >= 7.0 / 16.0 { 4.63647609000806093515e-01 } else { 0.0 };
  let u = (t - c) / (1.0 + c * t);
  let z = u * u;
  let w = z * z;
  let s1 = z * (3.33333333333329318027e-01 + w * (1.42857142725034663711e-01 + w * (9.09088713343650656196e-02 + w * (6.66107313738753120669e-02 + w * (4.97687799461593236017e-02 + w * 1.62858201153657823623e-02)))));
  let s2 = w * (-1.99999999998764832476e-01 + w * (-1.11111104054623557880e-01 + w * (-7.69187620504482999495e-02 + w * (-5.83357013379057348645e-02 + w * -3.65315727442169155270e-02))));
  base + (u - u * (s1 + s2))
}

/// atan2(y, x) for finite arguments, without branches (quadrant fix-ups by selects).
#[inline(always)]
fn atan2(y: f64, x: f64) -> f64 {
  let ax = x.abs();
  let ay = y.abs();
  let mx = ax.max(ay);
  let mn = ax.min(ay);
  let t = if mx > 0.0 { mn / mx } else { 0.0 };
  let mut r = atan01(t);
  r = if ay > ax { FRAC_PI_2 - r } else { r };
  r = if x < 0.0 { PI - r } else { r };
  if y < 0.0 { -r } else { r }
}

/// Reduces degrees to [−180, 180].
#[inline(always)]
fn wrap180(d: f64) -> f64 {
  d - 360.0 * (d / 360.0).round()
}

/// Fractional pixel (x, y) of one event, and a flag: true when the fast path cannot vouch for the
/// rounding (CAR seam at φ = ±180°, the native poles, |dec| > 90°). NaN when off a TAN projection.
#[inline(always)]
fn project(g: &Geometry, ra: f64, dec: f64) -> (f64, f64, bool) {
  let (sa, ca) = sincos(wrap180(ra) * DEG);
  let (sb, cb) = sincos(dec * DEG);
  let (cx, cy, cz) = (cb * ca, cb * sa, sb);
  let r = &g.r;
  let nx = r[0] * cx + r[1] * cy + r[2] * cz;
  let ny = r[3] * cx + r[4] * cy + r[5] * cz;
  let nz = r[6] * cx + r[7] * cy + r[8] * cz;
  let bad_dec = dec.abs() > 90.0;
  if g.tan {
    let inv = if nx > 0.0 { RAD / nx } else { f64::NAN };
    return (g.x0 + ny * inv / g.cdelt1, g.y0 + nz * inv / g.cdelt2, bad_dec);
  }
  let phi = atan2(ny, nx);
  let theta = atan2(nz, (nx * nx + ny * ny).sqrt());
  let seam = nx < 0.0 && ny.abs() < 1e-9;
  let pole = nz.abs() > 1.0 - 1e-10;
  (g.x0 + phi * RAD / g.cdelt1, g.y0 + theta * RAD / g.cdelt2, seam || pole || bad_dec)
}

/// Energy bin of `e` (edges[k] ≤ e < edges[k+1] → k; −1 or ne outside), and whether `e` lies within
/// the band of an edge. NaN gives −1 and no flag.
#[inline(always)]
fn energy_bin(edges: &[f64], e: f64) -> (isize, bool) {
  let mut k: isize = -1;
  let mut near = false;
  for &edge in edges {
    k += (e >= edge) as isize;
    near |= (e - edge).abs() <= ENERGY_BAND * edge.abs();
  }
  (k, near)
}

/// Rounds a fractional pixel to its index, and says whether it is within `band` of a half-integer.
#[inline(always)]
fn pixel(x: f64, band: f64) -> (isize, bool) {
  let f = (x + 0.5).floor();
  let frac = x + 0.5 - f;
  (f as isize, frac < band || frac > 1.0 - band)
}

/// Something counts can be accumulated into.
pub trait Counter: Copy {
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
pub fn bin_block<C: Counter>(g: &Geometry, lon: &[f64], lat: &[f64], energy: &[f64], start: usize, counts: &mut [C], uncertain: &mut Vec<u32>) {
  let ne = g.edges.len().saturating_sub(1) as isize;
  let (nx, ny) = (g.nx as isize, g.ny as isize);
  let bx = 1e-6 + ANGLE_ERROR * RAD / g.cdelt1.abs();
  let by = 1e-6 + ANGLE_ERROR * RAD / g.cdelt2.abs();
  let mut fx = [0.0f64; BLOCK];
  let mut fy = [0.0f64; BLOCK];
  let mut flag = [false; BLOCK];
  let n = lon.len().min(lat.len()).min(energy.len());
  let mut b0 = 0;
  while b0 < n {
    let len = BLOCK.min(n - b0);
    // Pass 1: projection, branch-free, so that the compiler vectorises it.
    for i in 0..len {
      let (x, y, f) = project(g, lon[b0 + i], lat[b0 + i]);
      fx[i] = x;
      fy[i] = y;
      flag[i] = f;
    }
    // Pass 2: rounding, the safety bands, accumulation.
    for i in 0..len {
      let (ix, near_x) = pixel(fx[i], bx);
      let (iy, near_y) = pixel(fy[i], by);
      let (ie, near_e) = energy_bin(g.edges, energy[b0 + i]);
      let valid = fx[i] == fx[i] && fy[i] == fy[i];
      let inside = valid && ix >= 0 && ix < nx && iy >= 0 && iy < ny && ie >= 0 && ie < ne;
      if valid && (near_x || near_y || near_e || flag[i]) {
        // Only events that could land in the cube need the reference's verdict.
        let close = ix >= -1 && ix <= nx && iy >= -1 && iy <= ny && ie >= -1 && ie <= ne;
        if close || flag[i] {
          uncertain.push((start + b0 + i) as u32);
          continue;
        }
      }
      if inside {
        counts[((ie * ny + iy) * nx + ix) as usize].add_one();
      }
    }
    b0 += len;
  }
}

/// Bins all events, on `threads` threads when it pays (each thread fills its own u32 cube, the cubes
/// are added at the end); returns the indices left to the reference, ascending.
pub fn bin_all<C: Counter + Send + AddU32>(g: &Geometry, lon: &[f64], lat: &[f64], energy: &[f64], counts: &mut [C], threads: usize) -> Vec<u32> {
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

/// binEvents with the reference's arguments (src/reference/bin-events.ts) plus `threads`; adds into
/// `out` every event the fast path decides and returns the indices of the others (ascending), which the
/// JavaScript wrapper bins with the reference.
#[napi(js_name = "binEventsFast", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn bin_events_fast(ra: &[f64], dec: &[f64], energy: &[f64], count: f64, wcs: &[f64], nx: f64, ny: f64, ln_edges: &[f64], n_e: f64, mut out: Float32Array, threads: Option<u32>) -> Result<Uint32Array> {
  let (count, nx, ny, n_e) = (as_count("count", count)?, as_count("nx", nx)?, as_count("ny", ny)?, as_count("nE", n_e)?);
  need_len("ra", ra.len(), count)?;
  need_len("dec", dec.len(), count)?;
  need_len("energy", energy.len(), count)?;
  need_len("wcs", wcs.len(), 14)?;
  need_len("lnEdges", ln_edges.len(), n_e + 1)?;
  need_len("out", out.len(), n_e * nx * ny)?;
  let edges: Vec<f64> = ln_edges[..n_e + 1].iter().map(|v| v.exp()).collect();
  let Some(g) = Geometry::from_wcs(wcs, nx, ny, &edges) else {
    return Err(Error::new(Status::InvalidArg, format!("wcs[0]: unknown projection code {}", wcs[0])));
  };
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let cube = unsafe { &mut out.as_mut()[..n_e * nx * ny] };
  let threads = threads.map(|t| t as usize).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
  let uncertain = bin_all(&g, &ra[..count], &dec[..count], &energy[..count], cube, threads);
  Ok(Uint32Array::new(uncertain))
}

/// Bench baseline (not a kernel of the reference set): fractional bin coordinates → half-even rounding
/// → accumulate, the "accumulation" part of binning alone. Returns nothing; NaN and out-of-range drop.
#[napi(js_name = "accumulateBinsBench", catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn accumulate_bins_bench(fx: &[f64], fy: &[f64], fe: &[f64], nx: f64, ny: f64, n_e: f64, mut out: Float32Array) -> Result<()> {
  let (nx, ny, n_e) = (as_count("nx", nx)?, as_count("ny", ny)?, as_count("nE", n_e)?);
  need_len("out", out.len(), nx * ny * n_e)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  let (nxf, nyf, nef) = (nx as f64, ny as f64, n_e as f64);
  for ((&x, &y), &e) in fx.iter().zip(fy).zip(fe) {
    let (ix, iy, ie) = (x.round_ties_even(), y.round_ties_even(), e.round_ties_even());
    if ix >= 0.0 && ix < nxf && iy >= 0.0 && iy < nyf && ie >= 0.0 && ie < nef {
      out[(ie as usize * ny + iy as usize) * nx + ix as usize] += 1.0;
    }
  }
  Ok(())
}

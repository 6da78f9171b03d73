//! FFT correlation for integer-valued images and kernels (counts, masks): correlate_disk.rs takes it
//! when the cost model says a transform is cheaper than the direct sum (large radii), and only when the
//! result can be rounded to the exact integer sums the direct forms give — so the kernel stays
//! bit-identical to the reference. Float images (background, exposure) keep the direct sum.
//!
//! Method: zero-padded 2D real FFT (rows: realfft; columns: rustfft over a transposed buffer), product
//! with the flipped kernel's spectrum (cached per thread for the last few kernels and sizes), inverse,
//! rounding. Padding to NX ≥ nx + c (c = kernel half-side) suffices for a same-size output: what wraps
//! around lands in the padding.

use realfft::RealFftPlanner;
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;
use std::cell::RefCell;

type C64 = Complex<f64>;

const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// Kernel spectra kept per thread: the excess map correlates several images with one kernel.
const SPECTRA_KEPT: usize = 4;

struct Spectrum {
  kernel: Vec<f64>,
  kn: usize,
  nx2: usize,
  ny2: usize,
  /// Transposed layout: (nx2/2 + 1) columns of ny2 values each.
  values: Vec<C64>,
}

impl Spectrum {
  fn is(&self, kernel: &[f64], kn: usize, nx2: usize, ny2: usize) -> bool {
    self.kn == kn && self.nx2 == nx2 && self.ny2 == ny2 && self.kernel == kernel[..kn * kn]
  }
}

/// Bytes of kernel spectra a thread keeps (besides the SPECTRA_KEPT count), and the largest work buffer
/// it keeps between calls: a 2000² map would otherwise leave ~65 MB per buffer behind on every thread.
const SPECTRA_MAX_BYTES: usize = 64 << 20;
const BUFFER_KEPT_BYTES: usize = 16 << 20;

struct Workspace {
  real: RealFftPlanner<f64>,
  complex: FftPlanner<f64>,
  spectra: Vec<Spectrum>,
  rows: Vec<C64>,
  cols: Vec<C64>,
}

thread_local! {
  static WORKSPACE: RefCell<Option<Workspace>> = const { RefCell::new(None) };
}

/// Smallest even length ≥ `need` whose factors are 2, 3 and 5 (the fast sizes of rustfft/realfft).
fn fast_len(need: usize) -> usize {
  let mut m = need.max(2);
  loop {
    if m.is_multiple_of(2) {
      let mut k = m;
      for p in [2, 3, 5] {
        while k.is_multiple_of(p) {
          k /= p;
        }
      }
      if k == 1 {
        return m;
      }
    }
    m += 1;
  }
}

/// The transform's sizes: the map padded by the kernel's half-side, each to a fast length (see the module comment).
fn padded_sizes(nx: usize, ny: usize, kn: usize) -> (usize, usize) {
  let c = kn.saturating_sub(1) / 2;
  (fast_len(nx + c), fast_len(ny + c))
}

/// Estimated cost (ns) of the transform path; the direct path's estimate comes from correlate_disk.rs.
/// Constants measured on the bench machine (npm run bench:kernels, 200² and 500² maps). A kernel whose
/// spectrum this thread has not cached costs its column transforms too (its rows are zero but for kn).
pub fn fft_cost_ns(nx: usize, ny: usize, kernel: &[f64], kn: usize) -> f64 {
  let (nx2, ny2) = padded_sizes(nx, ny, kn);
  let n = (nx2 * ny2) as f64;
  let transforms = 0.33 * n * n.log2();
  let cached = WORKSPACE.with(|cell| {
    cell
      .borrow()
      .as_ref()
      .is_some_and(|ws| ws.spectra.iter().any(|s| s.is(kernel, kn, nx2, ny2)))
  });
  if cached {
    transforms + 20_000.0
  } else {
    1.3 * transforms + 20_000.0
  }
}

/// The L2 norm of `v` when every value is an integer of magnitude ≤ 2⁵⁰ (else None). Integer test by
/// adding and removing 1.5·2⁵² (exact for such values, rounds any fraction away): plain adds that
/// vectorise, where f64::round is a libm call on the baseline x86-64 target.
fn integer_l2(v: &[f64]) -> Option<f64> {
  const LIMIT: f64 = 1_125_899_906_842_624.0;
  let mut sums = [0.0f64; 4];
  let mut ok = true;
  let mut chunks = v.chunks_exact(4);
  for q in &mut chunks {
    for k in 0..4 {
      let x = q[k];
      ok &= x.abs() <= LIMIT && (x + ROUNDER) - ROUNDER == x;
      sums[k] += x * x;
    }
    if !ok {
      return None;
    }
  }
  for &x in chunks.remainder() {
    ok &= x.abs() <= LIMIT && (x + ROUNDER) - ROUNDER == x;
    sums[0] += x * x;
  }
  ok.then(|| (sums[0] + sums[1] + sums[2] + sums[3]).sqrt())
}

/// Transpose a rows×cols block into cols×rows (only the first `rows_used` source rows are read; the
/// other destination entries are set to zero).
fn transpose(src: &[C64], rows: usize, rows_used: usize, cols: usize, dst: &mut [C64]) {
  const B: usize = 16;
  let zero = C64::new(0.0, 0.0);
  for c in 0..cols {
    dst[c * rows + rows_used..(c + 1) * rows].fill(zero);
  }
  for r0 in (0..rows_used).step_by(B) {
    let r1 = (r0 + B).min(rows_used);
    for c0 in (0..cols).step_by(B) {
      for r in r0..r1 {
        for c in c0..(c0 + B).min(cols) {
          dst[c * rows + r] = src[r * cols + c];
        }
      }
    }
  }
}

/// Forward 2D transform of a real ny×nx block (row-major, given by `row(y)`, which returns false for a row
/// of zeros: its transform is zeros) zero-padded to ny2×nx2, into `cols` (transposed: h columns of ny2),
/// using `rows` as scratch.
fn forward<'a>(
  ws: &mut Workspace,
  nx2: usize,
  ny2: usize,
  ny: usize,
  mut row: impl FnMut(usize, &mut [f64]) -> bool,
  rows: &'a mut [C64],
  cols: &'a mut [C64],
) {
  let h = nx2 / 2 + 1;
  let r2c = ws.real.plan_fft_forward(nx2);
  let mut line = r2c.make_input_vec();
  let mut scratch = r2c.make_scratch_vec();
  for y in 0..ny {
    line.fill(0.0);
    let spectrum = &mut rows[y * h..(y + 1) * h];
    if row(y, &mut line) {
      // Lengths match the plan: process cannot fail.
      let _ = r2c.process_with_scratch(&mut line, spectrum, &mut scratch);
    } else {
      spectrum.fill(C64::new(0.0, 0.0));
    }
  }
  transpose(rows, ny2, ny, h, cols);
  let fft = ws.complex.plan_fft_forward(ny2);
  let mut s = vec![C64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
  fft.process_with_scratch(&mut cols[..h * ny2], &mut s);
}

/// The spectrum of the kernel flipped about its centre and wrapped to the origin (so that the product
/// with the image's spectrum is the correlation): this thread's cached one, taken out of the cache, or a new one.
/// The caller gives it back with [`keep_spectrum`] once used.
fn kernel_spectrum(ws: &mut Workspace, kernel: &[f64], kn: usize, nx2: usize, ny2: usize) -> Spectrum {
  if let Some(i) = ws.spectra.iter().position(|s| s.is(kernel, kn, nx2, ny2)) {
    return ws.spectra.remove(i);
  }
  let h = nx2 / 2 + 1;
  let c = (kn - 1) / 2;
  // Make room first, when the new one will be kept: a spectrum of this size that leaves is the new one's buffer (a
  // fresh 2 MB one costs its page faults, a third of the transform on a 500² map).
  let incoming = h * ny2 * std::mem::size_of::<C64>();
  let bytes = |s: &Spectrum| s.values.len() * std::mem::size_of::<C64>();
  let mut recycled = None;
  while incoming <= SPECTRA_MAX_BYTES
    && !ws.spectra.is_empty()
    && (ws.spectra.len() >= SPECTRA_KEPT || ws.spectra.iter().map(bytes).sum::<usize>() + incoming > SPECTRA_MAX_BYTES)
  {
    let old = ws.spectra.remove(0);
    if recycled.is_none() && old.values.len() == h * ny2 {
      recycled = Some(old.values);
    }
  }
  let mut values = recycled.unwrap_or_else(|| vec![C64::new(0.0, 0.0); h * ny2]);
  let mut rows = std::mem::take(&mut ws.rows);
  rows.resize(ny2 * h, C64::new(0.0, 0.0));
  // Row y of the flipped kernel wrapped to the origin, k'[(c − j) mod ny2][(c − i) mod nx2] = k[j][i], holds kernel
  // row j = (c − y) mod ny2; only kn rows are not zero. (Where the kernel is wider than the padded map, entries that
  // wrap onto one cell only ever meet the zero padding, so which one is kept does not matter.)
  forward(
    ws,
    nx2,
    ny2,
    ny2,
    |y, line| {
      let j = (c + ny2 - y % ny2) % ny2;
      if j >= kn {
        return false;
      }
      let row = &kernel[j * kn..(j + 1) * kn];
      for (i, &v) in row.iter().enumerate() {
        line[(c + nx2 - i % nx2) % nx2] = v;
      }
      row.iter().any(|&v| v != 0.0)
    },
    &mut rows,
    &mut values,
  );
  ws.rows = rows;
  Spectrum {
    kernel: kernel[..kn * kn].to_vec(),
    kn,
    nx2,
    ny2,
    values,
  }
}

/// Back into the cache, as the most recently used, unless it is larger than the cache may hold.
fn keep_spectrum(ws: &mut Workspace, spectrum: Spectrum) {
  if spectrum.values.len() * std::mem::size_of::<C64>() <= SPECTRA_MAX_BYTES {
    ws.spectra.push(spectrum);
  }
}

/// The padded sizes of the transform when its rounded result is provably the exact sums: image and kernel
/// integer-valued and the error bound below 0.05; else None.
pub fn exact_sizes(img: &[f64], nx: usize, ny: usize, kernel: &[f64], kn: usize) -> Option<(usize, usize)> {
  if nx == 0 || ny == 0 || kn == 0 {
    return None;
  }
  let img_l2 = integer_l2(&img[..nx * ny])?;
  let kernel_l2 = integer_l2(&kernel[..kn * kn])?;
  let kernel_l1: f64 = kernel[..kn * kn].iter().map(|v| v.abs()).sum();
  let (nx2, ny2) = padded_sizes(nx, ny, kn);
  let n = (nx2 * ny2) as f64;
  // Rounding is exact when every output's error is < 0.5. A conservative bound on the error's L2 norm
  // (the FFT's relative error ~5ε·log₂N per transform, Higham §24.1, for radix 2; rustfft's mixed radix
  // and Higham's 6.7ε per level are within the margin) through the product with the kernel's spectrum
  // (|K̂| ≤ ‖k‖₁; K̂'s own error ≤ 5ε·log₂N·√N·‖k‖₂), ×8, against 0.05: 80× below 0.5 in all.
  let bound = 8.0 * 5.0 * f64::EPSILON * n.log2() * img_l2 * (2.0 * kernel_l1 + n.sqrt() * kernel_l2);
  (bound < 0.05).then_some((nx2, ny2))
}

/// out = img ⋆ kernel (zero padding, same size) by FFT, rounded to integers; false (out untouched) when
/// the image or kernel is not integer-valued or the rounding could not be proven exact.
pub fn correlate_integer(img: &[f64], nx: usize, ny: usize, kernel: &[f64], kn: usize, out: &mut [f64]) -> bool {
  let Some((nx2, ny2)) = exact_sizes(img, nx, ny, kernel, kn) else {
    return false;
  };
  let n = (nx2 * ny2) as f64;
  WORKSPACE.with(|cell| {
    let mut slot = cell.borrow_mut();
    let ws = slot.get_or_insert_with(|| Workspace {
      real: RealFftPlanner::new(),
      complex: FftPlanner::new(),
      spectra: Vec::new(),
      rows: Vec::new(),
      cols: Vec::new(),
    });
    let h = nx2 / 2 + 1;
    let spectrum = kernel_spectrum(ws, kernel, kn, nx2, ny2);
    let mut rows = std::mem::take(&mut ws.rows);
    let mut cols = std::mem::take(&mut ws.cols);
    rows.resize(ny2 * h, C64::new(0.0, 0.0));
    cols.resize(h * ny2, C64::new(0.0, 0.0));
    forward(
      ws,
      nx2,
      ny2,
      ny,
      |y, line| {
        line[..nx].copy_from_slice(&img[y * nx..(y + 1) * nx]);
        true
      },
      &mut rows,
      &mut cols,
    );
    for (v, k) in cols[..h * ny2].iter_mut().zip(spectrum.values.iter()) {
      *v *= *k;
    }
    keep_spectrum(ws, spectrum);
    let ifft = ws.complex.plan_fft_inverse(ny2);
    let mut s = vec![C64::new(0.0, 0.0); ifft.get_inplace_scratch_len()];
    ifft.process_with_scratch(&mut cols[..h * ny2], &mut s);
    // Back to rows, inverse real transform of the ny rows the output needs.
    transpose(&cols, h, h, ny2, &mut rows);
    let c2r = ws.real.plan_fft_inverse(nx2);
    let mut line = c2r.make_output_vec();
    let mut scratch = c2r.make_scratch_vec();
    let scale = 1.0 / n;
    for y in 0..ny {
      let spec = &mut rows[y * h..(y + 1) * h];
      // A real signal's DC and Nyquist terms are real; what the rounding left there is noise.
      spec[0].im = 0.0;
      spec[h - 1].im = 0.0;
      let _ = c2r.process_with_scratch(spec, &mut line, &mut scratch);
      for (o, &v) in out[y * nx..(y + 1) * nx].iter_mut().zip(&line[..nx]) {
        // Round to the nearest integer by adding and removing 1.5·2⁵² (|v| ≪ 2⁵¹; ties cannot occur: the
        // error bound is < 0.05). x − x is +0, the zero the direct sums give.
        *o = (v * scale + ROUNDER) - ROUNDER;
      }
    }
    // A huge map's buffers are not kept for the next call (see BUFFER_KEPT_BYTES).
    let keep = |v: Vec<C64>| {
      if v.len() * std::mem::size_of::<C64>() <= BUFFER_KEPT_BYTES {
        v
      } else {
        Vec::new()
      }
    };
    ws.rows = keep(rows);
    ws.cols = keep(cols);
  });
  true
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn fast_lengths() {
    assert_eq!(fast_len(525), 540);
    assert_eq!(fast_len(225), 240);
    assert_eq!(fast_len(1), 2);
  }
}

#[cfg(test)]
mod exactness {
  use super::correlate_integer;
  use crate::correlate_disk::correlate_direct;

  fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
  }

  fn disk(r: f64) -> (Vec<f64>, usize) {
    let mut kn = (2.0 * r).ceil() as usize;
    if kn % 2 == 0 {
      kn += 1;
    }
    let c = (kn - 1) as f64 / 2.0;
    let mut k = vec![0.0; kn * kn];
    for j in 0..kn {
      for i in 0..kn {
        let (dx, dy) = (i as f64 - c, j as f64 - c);
        if dx * dx + dy * dy <= r * r {
          k[j * kn + i] = 1.0;
        }
      }
    }
    (k, kn)
  }

  /// The FFT gives the direct sums bit for bit: odd and even, square and oblong maps, maps smaller than
  /// the kernel, negative and large integers, integer kernels that are not disks.
  #[test]
  fn equals_the_direct_sums() {
    let mut seed = 7u64;
    for &(nx, ny, r, scale, signed) in &[
      (200usize, 200usize, 25.0, 7u64, false),
      (131, 77, 30.0, 3, false),
      (40, 9, 12.5, 1000, true),
      (3, 5, 20.0, 5, false),
      (64, 64, 31.5, 1 << 12, true),
    ] {
      let (mut kernel, kn) = disk(r);
      if signed {
        for (i, v) in kernel.iter_mut().enumerate() {
          *v *= (i % 5) as f64 - 2.0;
        }
      }
      let img: Vec<f64> = (0..nx * ny)
        .map(|_| {
          let v = (lcg(&mut seed) % scale) as f64;
          if signed && lcg(&mut seed) % 2 == 0 {
            -v
          } else {
            v
          }
        })
        .collect();
      let mut got = vec![f64::NAN; nx * ny];
      assert!(
        correlate_integer(&img, nx, ny, &kernel, kn, &mut got),
        "{nx}×{ny} r={r}: FFT declined"
      );
      let mut want = vec![f64::NAN; nx * ny];
      correlate_direct(&img, nx, ny, &kernel, kn, None, &mut want);
      for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{nx}×{ny} r={r} pixel {i}: {g} vs {w}");
      }
    }
  }

  #[test]
  fn declines_what_it_cannot_round_exactly() {
    let (kernel, kn) = disk(10.0);
    let (nx, ny) = (50, 50);
    let mut out = vec![0.0; nx * ny];
    let mut img = vec![1.0; nx * ny];
    img[7] = 0.5;
    assert!(!correlate_integer(&img, nx, ny, &kernel, kn, &mut out), "a fraction");
    img[7] = f64::NAN;
    assert!(!correlate_integer(&img, nx, ny, &kernel, kn, &mut out), "NaN");
    img[7] = f64::INFINITY;
    assert!(!correlate_integer(&img, nx, ny, &kernel, kn, &mut out), "Inf");
    img[7] = 1e15;
    assert!(
      !correlate_integer(&img, nx, ny, &kernel, kn, &mut out),
      "too large to round exactly"
    );
    img[7] = 1.0;
    let mut half = kernel.clone();
    half[kn * (kn / 2) + kn / 2] = 0.5;
    assert!(!correlate_integer(&img, nx, ny, &half, kn, &mut out), "a fractional kernel");
    assert!(out.iter().all(|&v| v == 0.0), "out untouched when declined");
    assert!(correlate_integer(&img, nx, ny, &kernel, kn, &mut out));
  }
}

//! Port of src/reference/correlate.ts `correlateDisk`: the same loops in the same order, so the sums
//! round identically (Rust never contracts a*b+c into an FMA) and the output is bit-identical. The
//! row cascade (large kernels of centred runs) has no dependency along x: its loops are compiled for
//! AVX-512 / AVX2 as well, chosen at run time (vector lanes do not change any pixel's order of adds).

use crate::common::{as_count, need_len};
use crate::correlate_fft;
use napi::bindgen_prelude::Float64Array;
use napi::{Error, Result, Status};
use napi_derive::napi;

fn all_finite(img: &[f64]) -> bool {
  img.iter().all(|&v| v - v == 0.0)
}

/// out[dst + x] += value · Σ_{t=a..b} row[x + t], a sliding window along one image row, split into
/// segments where the entering/leaving pixels are inside the row (as the reference does).
#[allow(clippy::too_many_arguments)]
fn add_row_run(img: &[f64], nx: isize, src: isize, a: isize, b: isize, value: f64, out: &mut [f64], dst: usize) {
  let mut s = 0.0f64;
  let t0 = a.max(0);
  let t1 = (nx - 1).min(b);
  let mut t = t0;
  while t <= t1 {
    s += img[(src + t) as usize];
    t += 1;
  }
  out[dst] += value * s;
  let e0 = 1.max(-b);
  let e1 = nx.min(nx - b);
  let l0 = 1.max(1 - a);
  let l1 = nx.min(nx + 1 - a);
  let enter_at = src + b;
  let leave_at = src - 1 + a;
  let mut x = 1isize;
  while x < nx {
    let mut end = nx;
    for bound in [e0, e1, l0, l1] {
      if bound > x && bound < end {
        end = bound;
      }
    }
    let enters = x >= e0 && x < e1;
    let leaves = x >= l0 && x < l1;
    let (xs, xe) = (x as usize, end as usize);
    let row_out = &mut out[dst + xs..dst + xe];
    if enters && leaves {
      let ein = &img[(enter_at + x) as usize..(enter_at + end) as usize];
      let lin = &img[(leave_at + x) as usize..(leave_at + end) as usize];
      for ((o, &e), &l) in row_out.iter_mut().zip(ein).zip(lin) {
        s += e - l;
        *o += value * s;
      }
    } else if enters {
      let ein = &img[(enter_at + x) as usize..(enter_at + end) as usize];
      for (o, &e) in row_out.iter_mut().zip(ein) {
        s += e;
        *o += value * s;
      }
    } else if leaves {
      let lin = &img[(leave_at + x) as usize..(leave_at + end) as usize];
      for (o, &l) in row_out.iter_mut().zip(lin) {
        s -= l;
        *o += value * s;
      }
    } else {
      for o in row_out.iter_mut() {
        *o += value * s;
      }
    }
    x = end;
  }
}

/// Half-side from which a kernel of centred runs is summed by the row cascade (the reference's
/// CASCADE_MIN_HALF_SIDE).
const CASCADE_MIN_HALF_SIDE: usize = 1;

/// Kernel rows as centred runs: (half-width or −1 for an all-zero row, value); None when some row is not
/// a run of one value centred on the kernel column (reference: centredRuns).
fn centred_runs(kernel: &[f64], kn: usize) -> Option<Vec<(isize, f64)>> {
  let c = (kn - 1) / 2;
  let mut runs = Vec::with_capacity(kn);
  for j in 0..kn {
    let row = &kernel[j * kn..(j + 1) * kn];
    let w = row
      .iter()
      .enumerate()
      .filter(|(_, &k)| k != 0.0)
      .map(|(i, _)| i.abs_diff(c) as isize)
      .max()
      .unwrap_or(-1);
    if w < 0 {
      runs.push((-1, 0.0));
      continue;
    }
    let v = row[c];
    let ok = row
      .iter()
      .enumerate()
      .all(|(i, &k)| if (i.abs_diff(c) as isize) <= w { k == v } else { k == 0.0 });
    if !ok {
      return None;
    }
    runs.push((w, v));
  }
  Some(runs)
}

/// h[x] = (h[x] + left[x]) + right[x].
#[inline(always)]
fn cascade_step(h: &mut [f64], left: &[f64], right: &[f64]) {
  let n = h.len();
  let (left, right) = (&left[..n], &right[..n]);
  for x in 0..n {
    h[x] = h[x] + left[x] + right[x];
  }
}

/// out[x] += v·h[x].
#[inline(always)]
fn cascade_add(out: &mut [f64], v: f64, h: &[f64]) {
  let n = out.len();
  let h = &h[..n];
  for x in 0..n {
    out[x] += v * h[x];
  }
}

/// The row cascade of the reference (correlateRowCascade), instantiated per instruction set.
#[inline(always)]
fn row_cascade(img: &[f64], nx: usize, ny: usize, runs: &[(isize, f64)], out: &mut [f64]) {
  let kn = runs.len();
  let c = (kn as isize - 1) >> 1;
  out[..nx * ny].fill(0.0);
  let wmax = runs.iter().map(|r| r.0).max().unwrap_or(-1);
  if wmax < 0 || nx == 0 {
    return;
  }
  let p = wmax as usize;
  let mut pad = vec![0.0f64; nx + 2 * p];
  let mut h = vec![0.0f64; nx];
  for s in 0..ny {
    let row = &img[s * nx..(s + 1) * nx];
    pad[p..p + nx].copy_from_slice(row);
    h.copy_from_slice(row);
    for w in 0..=p {
      if w > 0 {
        cascade_step(&mut h, &pad[p - w..p - w + nx], &pad[p + w..p + w + nx]);
      }
      for (j, &(hw, v)) in runs.iter().enumerate() {
        if hw != w as isize {
          continue;
        }
        let y = s as isize - (j as isize - c);
        if y < 0 || y >= ny as isize {
          continue;
        }
        let y = y as usize;
        cascade_add(&mut out[y * nx..(y + 1) * nx], v, &h);
      }
    }
  }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
unsafe fn row_cascade_avx512(img: &[f64], nx: usize, ny: usize, runs: &[(isize, f64)], out: &mut [f64]) {
  row_cascade(img, nx, ny, runs, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_cascade_avx2(img: &[f64], nx: usize, ny: usize, runs: &[(isize, f64)], out: &mut [f64]) {
  row_cascade(img, nx, ny, runs, out)
}

fn row_cascade_dispatch(img: &[f64], nx: usize, ny: usize, runs: &[(isize, f64)], out: &mut [f64]) {
  #[cfg(target_arch = "x86_64")]
  {
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl") {
      // SAFETY: the features were just detected on this CPU.
      return unsafe { row_cascade_avx512(img, nx, ny, runs, out) };
    }
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
      // SAFETY: as above.
      return unsafe { row_cascade_avx2(img, nx, ny, runs, out) };
    }
  }
  row_cascade(img, nx, ny, runs, out)
}

/// A kernel row's non-zero span: its first and last non-zero entries, and whether all entries between are one
/// value (a run, summed by a sliding window); None for an all-zero row.
fn row_span(row: &[f64]) -> Option<(usize, usize, bool)> {
  let first = row.iter().position(|&w| w != 0.0)?;
  let last = row.iter().rposition(|&w| w != 0.0).unwrap_or(first);
  Some((first, last, row[first + 1..=last].iter().all(|&w| w == row[first])))
}

/// Work per output pixel of the direct forms for a kernel that is not all centred runs: two operations per
/// row that is one run of a value (the sliding window), one per non-zero entry otherwise.
fn row_work(kernel: &[f64], kn: usize) -> f64 {
  let mut work = 0.0;
  for row in kernel[..kn * kn].chunks(kn) {
    if let Some((first, last, run)) = row_span(row) {
      work += if run {
        2.0
      } else {
        row[first..=last].iter().filter(|&&w| w != 0.0).count() as f64
      };
    }
  }
  work
}

/// The kernel's rows as centred runs, when it is large enough for the row cascade and every row is one.
fn cascade_runs(kernel: &[f64], kn: usize) -> Option<Vec<(isize, f64)>> {
  if kn.saturating_sub(1) / 2 >= CASCADE_MIN_HALF_SIDE {
    centred_runs(kernel, kn)
  } else {
    None
  }
}

/// The kernel proper over slices (also used by the Rust unit tests and the bench).
pub fn correlate(img: &[f64], nx: usize, ny: usize, kernel: &[f64], kn: usize, out: &mut [f64]) {
  let runs = cascade_runs(kernel, kn);
  // Large kernels over integer images (counts, masks): an FFT rounded to the exact sums, when the cost
  // model says it is clearly cheaper (correlate_fft.rs).
  if prefers_fft(nx, ny, kernel, kn, runs.is_some()) && correlate_fft::correlate_integer(img, nx, ny, kernel, kn, out) {
    return;
  }
  correlate_direct(img, nx, ny, kernel, kn, runs, out);
}

/// Whether `correlate` tries the FFT for this geometry: the cost model (ns, constants measured with
/// npm run bench:kernels on 200² and 500² maps) says it is clearly cheaper than the direct form the
/// kernel would take. The FFT itself still declines a non-integer image.
pub fn prefers_fft(nx: usize, ny: usize, kernel: &[f64], kn: usize, centred: bool) -> bool {
  if kn <= 1 {
    return false;
  }
  let c = (kn - 1) / 2;
  let npix = (nx * ny) as f64;
  let direct_ns = if centred {
    npix * (0.25 + 0.45 * c as f64)
  } else {
    npix * 0.4 * row_work(kernel, kn)
  };
  direct_ns * 0.8 > correlate_fft::fft_cost_ns(nx, ny, kernel, kn)
}

/// The direct forms (the reference's algorithm and order of additions).
pub fn correlate_direct(img: &[f64], nx: usize, ny: usize, kernel: &[f64], kn: usize, runs: Option<Vec<(isize, f64)>>, out: &mut [f64]) {
  let (nxi, nyi, kni) = (nx as isize, ny as isize, kn as isize);
  let c = (kni - 1) >> 1;
  if let Some(runs) = runs {
    row_cascade_dispatch(img, nx, ny, &runs, out);
    return;
  }
  out[..nx * ny].fill(0.0);
  if nx == 0 || ny == 0 {
    return; // the reference's writes to an empty map are no-ops
  }
  let finite = all_finite(&img[..nx * ny]);
  for j in 0..kni {
    let dy = j - c;
    let y0 = 0.max(-dy);
    let y1 = nyi.min(nyi - dy);
    if y0 >= y1 {
      continue;
    }
    let row = &kernel[(j * kni) as usize..((j + 1) * kni) as usize];
    let Some((first, last, run)) = row_span(row) else {
      continue;
    };
    let value = row[first];
    if finite && run {
      for y in y0..y1 {
        add_row_run(
          img,
          nxi,
          (y + dy) * nxi,
          first as isize - c,
          last as isize - c,
          value,
          out,
          (y * nxi) as usize,
        );
      }
    } else {
      for i in first..=last {
        let w = row[i];
        if w == 0.0 {
          continue;
        }
        let dx = i as isize - c;
        let x0 = 0.max(-dx);
        let x1 = nxi.min(nxi - dx);
        for y in y0..y1 {
          let src = (y + dy) * nxi + dx;
          let dst = y * nxi;
          for x in x0..x1 {
            out[(dst + x) as usize] += w * img[(src + x) as usize];
          }
        }
      }
    }
  }
}

/// correlateDisk(img, nx, ny, kernel, kn, out): out = img ⋆ kernel with zero padding (see the reference).
#[napi(js_name = "correlateDisk", catch_unwind)]
pub fn correlate_disk(img: &[f64], nx: f64, ny: f64, kernel: &[f64], kn: f64, mut out: Float64Array) -> Result<()> {
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  let (nx, ny, kn) = checked_args(img, nx, ny, kernel, kn)?;
  need_len("out", out.len(), nx * ny)?;
  correlate(img, nx, ny, kernel, kn, out);
  Ok(())
}

/// The sizes of a correlateDisk call, checked against its arrays (kn odd).
fn checked_args(img: &[f64], nx: f64, ny: f64, kernel: &[f64], kn: f64) -> Result<(usize, usize, usize)> {
  let (nx, ny, kn) = (as_count("nx", nx)?, as_count("ny", ny)?, as_count("kn", kn)?);
  if kn % 2 == 0 {
    return Err(Error::new(Status::InvalidArg, format!("kn: {kn} must be odd")));
  }
  need_len("img", img.len(), nx * ny)?;
  need_len("kernel", kernel.len(), kn * kn)?;
  Ok((nx, ny, kn))
}

/// correlateDiskUsesFft(img, nx, ny, kernel, kn): whether correlateDisk takes the FFT for this input (the
/// cost model, with this thread's cached kernel spectra, and the exactness test): what the tests assert
/// about the path they cover.
#[napi(js_name = "correlateDiskUsesFft", catch_unwind)]
pub fn correlate_disk_uses_fft(img: &[f64], nx: f64, ny: f64, kernel: &[f64], kn: f64) -> Result<bool> {
  let (nx, ny, kn) = checked_args(img, nx, ny, kernel, kn)?;
  let centred = cascade_runs(kernel, kn).is_some();
  Ok(prefers_fft(nx, ny, kernel, kn, centred) && correlate_fft::exact_sizes(img, nx, ny, kernel, kn).is_some())
}

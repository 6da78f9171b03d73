// Reference kernel: 2D correlation of a map with a small odd-sized kernel (zero padding, same-size output),
// and the top-hat disk kernel of gammapy's excess map (science spec §7.2, §7.3).
//
// Algorithm choice (measured with `npm run bench:kernels` and per radius, see the package README):
// - Kernels whose non-zero rows are each a run of one value centred on the kernel column (every disk),
//   of half-side ≥ CASCADE_MIN_HALF_SIDE, use the row cascade: per image row s, the centred run sums
//   H_w = H_{w−1} + img[x − w] + img[x + w] for w = 0, 1, … (two adds per pixel and w), and each kernel
//   row j adds v_j·H_{w_j} into output row y = s − (j − c). No loop carries a dependency along x, so the
//   compiled backends run it with vector instructions (3× faster than the sliding window below for a
//   0.1° disk natively, 2–3× for a 0.5° one); in plain JavaScript it is 10–25% slower, which the
//   reference accepts: one order of additions serves every backend. It only adds (no subtraction), so a
//   NaN or ±Inf reaches exactly the output pixels whose footprint covers it, and integers sum exactly.
// - Other kernel rows whose non-zero entries form one run of equal values are summed as a sliding window
//   along the image row: two loads and two adds per output pixel and kernel row, whatever the run
//   length. Cost O(npix × kn) instead of O(npix × kn²).
// - Other rows (Gaussian kernels, rings, …) use the direct sum over their non-zero entries, innermost loop
//   along x over contiguous memory.
// - An image holding a non-finite value is summed directly by those two forms, so a NaN or ±Inf only
//   reaches the output pixels whose kernel footprint covers it (a sliding window would carry it along).
// The native backend adds an FFT for integer images at large radii, rounded to these exact sums (so the
// same bits; native/src/correlate_fft.rs and the package README, "Correlation").
// The order of the additions is part of the specification: the compiled backends repeat it.

/** Half-side (kn − 1)/2 from which a kernel of centred runs is summed by the row cascade. */
export const CASCADE_MIN_HALF_SIDE = 1;

/** A square kernel of odd side `kn`, row-major (`kernel[j*kn + i]`, j = row, i = column). */
export interface SquareKernel {
  kernel: Float64Array;
  kn: number;
}

/**
 * The top-hat disk of gammapy's excess map: side = smallest odd integer ≥ 2·radiusPix, the disk evaluated
 * at pixel centres with the inclusive test dx² + dy² ≤ r², normalised to peak 1 (not to sum 1).
 * r = 5 gives 11×11 with 81 ones. A radius < 0.5 gives the 1×1 kernel [1]. Throws on a negative or
 * non-finite radius (a caller bug: radii come from validated configs).
 */
export function diskKernel(radiusPix: number): SquareKernel {
  if (!Number.isFinite(radiusPix) || radiusPix < 0)
    throw new RangeError(`diskKernel: radius ${radiusPix} must be finite and >= 0`);
  // The centre is always inside (0 ≤ r²), so the peak is 1 already.
  return annulusKernel(0, radiusPix);
}

/**
 * The ring of gammapy's RingBackgroundMaker (astropy's Ring2DKernel, normalised to peak 1): side = smallest odd
 * integer ≥ 2·(rIn + width), 1 at the pixel centres with rIn² ≤ dx² + dy² ≤ (rIn + width)² (astropy's tests, in
 * its order of operations), 0 elsewhere. A ring that holds no pixel centre is all zeros: the caller refuses it
 * (astropy would divide by its zero peak). Throws on a negative or non-finite radius or width (a caller bug).
 */
export function ringKernel(rInPix: number, widthPix: number): SquareKernel {
  if (!Number.isFinite(rInPix) || rInPix < 0 || !Number.isFinite(widthPix) || widthPix < 0)
    throw new RangeError(`ringKernel: radius ${rInPix} and width ${widthPix} must be finite and >= 0`);
  return annulusKernel(rInPix, rInPix + widthPix);
}

/** 1 at the pixel centres with rIn² ≤ dx² + dy² ≤ rOut², on the smallest odd side ≥ 2·rOut (a disk for rIn = 0). */
function annulusKernel(rIn: number, rOut: number): SquareKernel {
  let kn = Math.ceil(2 * rOut);
  if (kn % 2 === 0) kn += 1;
  const c = (kn - 1) / 2;
  const in2 = rIn * rIn;
  const out2 = rOut * rOut;
  const kernel = new Float64Array(kn * kn);
  for (let j = 0; j < kn; j++) {
    const dy = j - c;
    for (let i = 0; i < kn; i++) {
      const dx = i - c;
      const rr = dx * dx + dy * dy;
      if (rr >= in2 && rr <= out2) kernel[j * kn + i] = 1;
    }
  }
  return { kernel, kn };
}

/**
 * out[y][x] = Σ_{j,i : k[j][i] ≠ 0} k[j][i] · img[y + j − c][x + i − c], c = (kn − 1)/2, with pixels
 * outside the nx×ny map counting as 0 (zero padding, no renormalisation at the edges).
 * `img` and `out` are row-major (x fastest), length nx·ny; `out` must not alias `img`.
 * Allocates nothing (the row cascade: two rows of scratch). Integer-valued images give exact sums (up to 2⁵³).
 */
export function correlateDisk(
  img: Float64Array,
  nx: number,
  ny: number,
  kernel: Float64Array,
  kn: number,
  out: Float64Array,
): void {
  const c = (kn - 1) >> 1;
  if (c >= CASCADE_MIN_HALF_SIDE) {
    const runs = centredRuns(kernel, kn);
    if (runs) {
      correlateRowCascade(img, nx, ny, runs, kn, out);
      return;
    }
  }
  out.fill(0, 0, nx * ny);
  const finite = allFinite(img, nx * ny);
  for (let j = 0; j < kn; j++) {
    const dy = j - c;
    const y0 = Math.max(0, -dy);
    const y1 = Math.min(ny, ny - dy);
    if (y0 >= y1) continue;
    // Describe kernel row j: first/last non-zero column, and whether they form a run of one value.
    let first = -1;
    let last = -1;
    for (let i = 0; i < kn; i++) {
      if (kernel[j * kn + i] !== 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) continue;
    const value = kernel[j * kn + first] as number;
    let isRun = finite;
    for (let i = first + 1; i <= last && isRun; i++) isRun = kernel[j * kn + i] === value;
    if (isRun) {
      for (let y = y0; y < y1; y++)
        addRowRun(img, nx, (y + dy) * nx, first - c, last - c, value, out, y * nx);
    } else {
      for (let i = first; i <= last; i++) {
        const w = kernel[j * kn + i] as number;
        if (w === 0) continue;
        const dx = i - c;
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(nx, nx - dx);
        for (let y = y0; y < y1; y++) {
          const src = (y + dy) * nx + dx;
          const dst = y * nx;
          for (let x = x0; x < x1; x++)
            out[dst + x] = (out[dst + x] as number) + w * (img[src + x] as number);
        }
      }
    }
  }
}

/**
 * out[dst + x] += value · Σ_{t=a..b} row[x + t] for x in [0, nx), the row starting at img[src], pixels
 * outside [0, nx) counting 0. A sliding window: add the entering pixel, drop the leaving one.
 */
function addRowRun(
  img: Float64Array,
  nx: number,
  src: number,
  a: number,
  b: number,
  value: number,
  out: Float64Array,
  dst: number,
): void {
  let s = 0;
  const t0 = Math.max(0, a);
  const t1 = Math.min(nx - 1, b);
  for (let t = t0; t <= t1; t++) s += img[src + t] as number;
  out[dst] = (out[dst] as number) + value * s;
  // For x ≥ 1 the pixel x + b enters when x ∈ [e0, e1) and x − 1 + a leaves when x ∈ [l0, l1); the loop
  // runs over the segments between these bounds so that the inner loops have no bounds tests.
  const e0 = Math.max(1, -b);
  const e1 = Math.min(nx, nx - b);
  const l0 = Math.max(1, 1 - a);
  const l1 = Math.min(nx, nx + 1 - a);
  const enterAt = src + b;
  const leaveAt = src - 1 + a;
  let x = 1;
  while (x < nx) {
    let end = nx;
    if (e0 > x && e0 < end) end = e0;
    if (e1 > x && e1 < end) end = e1;
    if (l0 > x && l0 < end) end = l0;
    if (l1 > x && l1 < end) end = l1;
    const enters = x >= e0 && x < e1;
    const leaves = x >= l0 && x < l1;
    if (enters && leaves) {
      for (; x < end; x++) {
        s += (img[enterAt + x] as number) - (img[leaveAt + x] as number);
        out[dst + x] = (out[dst + x] as number) + value * s;
      }
    } else if (enters) {
      for (; x < end; x++) {
        s += img[enterAt + x] as number;
        out[dst + x] = (out[dst + x] as number) + value * s;
      }
    } else if (leaves) {
      for (; x < end; x++) {
        s -= img[leaveAt + x] as number;
        out[dst + x] = (out[dst + x] as number) + value * s;
      }
    } else {
      for (; x < end; x++) out[dst + x] = (out[dst + x] as number) + value * s;
    }
  }
}

function allFinite(a: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = a[i] as number;
    if (v - v !== 0) return false; // NaN and ±Inf
  }
  return true;
}

/** Kernel rows as centred runs: halfWidth[j] = w (entries c − w … c + w equal value[j], the rest 0) or −1
 * for an all-zero row; undefined when some row is not such a run. */
export function centredRuns(
  kernel: Float64Array,
  kn: number,
): { halfWidth: Int32Array; value: Float64Array } | undefined {
  const c = (kn - 1) >> 1;
  const halfWidth = new Int32Array(kn).fill(-1);
  const value = new Float64Array(kn);
  for (let j = 0; j < kn; j++) {
    let w = -1;
    for (let i = 0; i < kn; i++) if (kernel[j * kn + i] !== 0) w = Math.max(w, Math.abs(i - c));
    if (w < 0) continue;
    const v = kernel[j * kn + c] as number;
    for (let i = 0; i < kn; i++) {
      const inside = Math.abs(i - c) <= w;
      const k = kernel[j * kn + i] as number;
      if (inside ? k !== v : k !== 0) return undefined;
    }
    halfWidth[j] = w;
    value[j] = v;
  }
  return { halfWidth, value };
}

/**
 * The row cascade (see the top of this file): for each image row s, H = the row itself, then for
 * w = 1 … wmax H[x] = (H[x] + row[x − w]) + row[x + w] (pixels off the row count +0); after the step to
 * w, every kernel row j with halfWidth w (ascending j) adds value[j]·H[x] into out[s − (j − c)][x]. So
 * each output pixel receives its kernel rows in ascending j. Allocates two rows of scratch.
 */
function correlateRowCascade(
  img: Float64Array,
  nx: number,
  ny: number,
  runs: { halfWidth: Int32Array; value: Float64Array },
  kn: number,
  out: Float64Array,
): void {
  const c = (kn - 1) >> 1;
  out.fill(0, 0, nx * ny);
  let wmax = -1;
  for (let j = 0; j < kn; j++) wmax = Math.max(wmax, runs.halfWidth[j] as number);
  if (wmax < 0 || nx === 0) return;
  const pad = new Float64Array(nx + 2 * wmax);
  const h = new Float64Array(nx);
  for (let s = 0; s < ny; s++) {
    for (let x = 0; x < nx; x++) {
      pad[wmax + x] = img[s * nx + x] as number;
      h[x] = img[s * nx + x] as number;
    }
    for (let w = 0; w <= wmax; w++) {
      if (w > 0) {
        const left = wmax - w;
        const right = wmax + w;
        for (let x = 0; x < nx; x++)
          h[x] = (h[x] as number) + (pad[left + x] as number) + (pad[right + x] as number);
      }
      for (let j = 0; j < kn; j++) {
        if (runs.halfWidth[j] !== w) continue;
        const y = s - (j - c);
        if (y < 0 || y >= ny) continue;
        const v = runs.value[j] as number;
        const dst = y * nx;
        for (let x = 0; x < nx; x++) out[dst + x] = (out[dst + x] as number) + v * (h[x] as number);
      }
    }
  }
}

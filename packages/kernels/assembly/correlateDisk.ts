// Port of src/reference/correlate.ts `correlateDisk`: the same loops in the same order, so the sums
// round identically (no FMA in WebAssembly) and the output is bit-identical to the reference.
export { heapBase } from './common';

@inline function f64At(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

@inline function setF64(base: usize, i: i32, v: f64): void {
  store<f64>(base + (<usize>i << 3), v);
}

function allFinite(img: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    const v = f64At(img, i);
    if (v - v != 0) return false;
  }
  return true;
}

/**
 * out[dst + x] += value · Σ_{t=a..b} row[x + t], a sliding window along one image row, split into
 * segments where the entering/leaving pixels are inside the row (as the reference does).
 */
function addRowRun(img: usize, nx: i32, src: i32, a: i32, b: i32, value: f64, out: usize, dst: i32): void {
  let s: f64 = 0;
  const t0 = max(0, a);
  const t1 = min(nx - 1, b);
  for (let t = t0; t <= t1; t++) s += f64At(img, src + t);
  setF64(out, dst, f64At(out, dst) + value * s);
  const e0 = max(1, -b);
  const e1 = min(nx, nx - b);
  const l0 = max(1, 1 - a);
  const l1 = min(nx, nx + 1 - a);
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
        s += f64At(img, enterAt + x) - f64At(img, leaveAt + x);
        setF64(out, dst + x, f64At(out, dst + x) + value * s);
      }
    } else if (enters) {
      for (; x < end; x++) {
        s += f64At(img, enterAt + x);
        setF64(out, dst + x, f64At(out, dst + x) + value * s);
      }
    } else if (leaves) {
      for (; x < end; x++) {
        s -= f64At(img, leaveAt + x);
        setF64(out, dst + x, f64At(out, dst + x) + value * s);
      }
    } else {
      for (; x < end; x++) setF64(out, dst + x, f64At(out, dst + x) + value * s);
    }
  }
}

/** Half-side from which a kernel of centred runs is summed by the row cascade (reference constant). */
const CASCADE_MIN_HALF_SIDE: i32 = 1;

/**
 * Kernel rows as centred runs (the reference's centredRuns): half-width per row into `hw` (i32, −1 for an
 * all-zero row) and its value into `hv` (f64); false when some row is not such a run.
 */
function centredRuns(kernel: usize, kn: i32, hw: usize, hv: usize): bool {
  const c = (kn - 1) >> 1;
  for (let j = 0; j < kn; j++) {
    let w = -1;
    for (let i = 0; i < kn; i++) if (f64At(kernel, j * kn + i) != 0) w = max(w, abs(i - c));
    store<i32>(hw + (<usize>j << 2), w);
    if (w < 0) continue;
    const v = f64At(kernel, j * kn + c);
    for (let i = 0; i < kn; i++) {
      const k = f64At(kernel, j * kn + i);
      if (abs(i - c) <= w ? k != v : k != 0) return false;
    }
    setF64(hv, j, v);
  }
  return true;
}

/**
 * The reference's correlateRowCascade with f64x2 lanes along x (each pixel's additions keep the
 * reference's order): H = image row s, then H[x] = (H[x] + row[x − w]) + row[x + w] for w = 1 … wmax, and
 * after each step out[s − (j − c)][x] += hv[j]·H[x] for the rows j of half-width w, ascending.
 */
function rowCascade(img: usize, nx: i32, ny: i32, kn: i32, hw: usize, hv: usize, pad: usize, h: usize, out: usize): void {
  const c = (kn - 1) >> 1;
  let wmax = -1;
  for (let j = 0; j < kn; j++) wmax = max(wmax, load<i32>(hw + (<usize>j << 2)));
  if (wmax < 0) return;
  const rowBytes = <usize>nx << 3;
  memory.fill(pad, 0, <usize>(nx + 2 * wmax) << 3);
  const even = nx & ~1;
  for (let s = 0; s < ny; s++) {
    const row = img + <usize>s * rowBytes;
    memory.copy(pad + (<usize>wmax << 3), row, rowBytes);
    memory.copy(h, row, rowBytes);
    for (let w = 0; w <= wmax; w++) {
      if (w > 0) {
        const left = pad + (<usize>(wmax - w) << 3);
        const right = pad + (<usize>(wmax + w) << 3);
        for (let x = 0; x < even; x += 2) {
          const at = <usize>x << 3;
          v128.store(h + at, f64x2.add(f64x2.add(v128.load(h + at), v128.load(left + at)), v128.load(right + at)));
        }
        if (even < nx) setF64(h, even, f64At(h, even) + f64At(left, even) + f64At(right, even));
      }
      for (let j = 0; j < kn; j++) {
        if (load<i32>(hw + (<usize>j << 2)) != w) continue;
        const y = s - (j - c);
        if (y < 0 || y >= ny) continue;
        const v = f64At(hv, j);
        const vv = f64x2.splat(v);
        const dst = out + <usize>y * rowBytes;
        for (let x = 0; x < even; x += 2) {
          const at = <usize>x << 3;
          v128.store(dst + at, f64x2.add(v128.load(dst + at), f64x2.mul(vv, v128.load(h + at))));
        }
        if (even < nx) setF64(dst, even, f64At(dst, even) + v * f64At(h, even));
      }
    }
  }
}

/** First 16-byte-aligned address above the call's three arrays, with `bytes` available (memory grown). */
function scratchAbove(img: usize, nImg: usize, kernel: usize, nKernel: usize, out: usize, bytes: usize): usize {
  const top = max(img + (nImg << 3), max(kernel + (nKernel << 3), out + (nImg << 3)));
  const base = (top + 15) & ~(<usize>15);
  const need = base + bytes;
  const have = <usize>memory.size() << 16;
  if (need > have) memory.grow(<i32>((need - have + 65535) >> 16));
  return base;
}

/** out = img ⋆ kernel (kn×kn, odd), zero padding, same size; see the reference for the contract. */
export function correlateDisk(img: usize, nx: i32, ny: i32, kernel: usize, kn: i32, out: usize): void {
  const c = (kn - 1) >> 1;
  memory.fill(out, 0, <usize>nx * <usize>ny * 8);
  if (nx == 0 || ny == 0) return; // the reference's writes to an empty map are no-ops
  if (c >= CASCADE_MIN_HALF_SIDE) {
    // Scratch: half-widths (kn i32), values (kn f64), the padded row (nx + 2c) and H (nx).
    const hwBytes = ((<usize>kn << 2) + 15) & ~(<usize>15);
    const bytes = hwBytes + (<usize>kn << 3) + (<usize>(nx + 2 * c) << 3) + (<usize>nx << 3) + 16;
    const hw = scratchAbove(img, <usize>nx * <usize>ny, kernel, <usize>kn * <usize>kn, out, bytes);
    const hv = hw + hwBytes;
    const pad = hv + (<usize>kn << 3);
    const h = pad + (<usize>(nx + 2 * c) << 3);
    if (centredRuns(kernel, kn, hw, hv)) {
      rowCascade(img, nx, ny, kn, hw, hv, pad, h, out);
      return;
    }
  }
  const finite = allFinite(img, nx * ny);
  for (let j = 0; j < kn; j++) {
    const dy = j - c;
    const y0 = max(0, -dy);
    const y1 = min(ny, ny - dy);
    if (y0 >= y1) continue;
    let first = -1;
    let last = -1;
    for (let i = 0; i < kn; i++) {
      if (f64At(kernel, j * kn + i) != 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) continue;
    const value = f64At(kernel, j * kn + first);
    let isRun = finite;
    for (let i = first + 1; i <= last && isRun; i++) isRun = f64At(kernel, j * kn + i) == value;
    if (isRun) {
      for (let y = y0; y < y1; y++) addRowRun(img, nx, (y + dy) * nx, first - c, last - c, value, out, y * nx);
    } else {
      for (let i = first; i <= last; i++) {
        const w = f64At(kernel, j * kn + i);
        if (w == 0) continue;
        const dx = i - c;
        const x0 = max(0, -dx);
        const x1 = min(nx, nx - dx);
        for (let y = y0; y < y1; y++) {
          const src = (y + dy) * nx + dx;
          const dst = y * nx;
          for (let x = x0; x < x1; x++) setF64(out, dst + x, f64At(out, dst + x) + w * f64At(img, src + x));
        }
      }
    }
  }
}

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

/** out = img ⋆ kernel (kn×kn, odd), zero padding, same size; see the reference for the contract. */
export function correlateDisk(img: usize, nx: i32, ny: i32, kernel: usize, kn: i32, out: usize): void {
  const c = (kn - 1) >> 1;
  memory.fill(out, 0, <usize>nx * <usize>ny * 8);
  if (nx == 0 || ny == 0) return; // the reference's writes to an empty map are no-ops
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

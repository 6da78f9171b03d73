// Port of src/reference/aeff-map.ts `evalAeffMap` (fdlibm log, same operation order): bit-identical.
import { fdlibmLog } from './fdlibm';
import { cellIndex, cellWeight } from './interp';
export { heapBase } from './common';

/** out[t][p] = A(E_t, offset_p) × scale (float32); `work` holds ≥ 2·nT f64; see the reference for layouts. */
export function evalAeffMap(offsets: usize, npix: i32, table: usize, lnENodes: usize, nE: i32, offNodes: usize, nOff: i32, bounds: usize, energies: usize, nT: i32, scale: f64, work: usize, out: usize): void {
  const eMin = load<f64>(bounds);
  const eMax = load<f64>(bounds, 8);
  const offMin = load<f64>(bounds, 16);
  const offMax = load<f64>(bounds, 24);
  // The energy cells are the same for every pixel: work[2t] = cell (−1 outside the axis), work[2t + 1] = weight.
  for (let t = 0; t < nT; t++) {
    const energy = load<f64>(energies + (<usize>t << 3));
    const w = work + (<usize>t << 4);
    if (!(energy >= eMin && energy <= eMax)) {
      store<f64>(w, -1);
      continue;
    }
    const lnE = fdlibmLog(energy);
    const ie = cellIndex(lnENodes, nE, lnE);
    store<f64>(w, <f64>ie);
    store<f64>(w, cellWeight(lnENodes, nE, ie, lnE), 8);
  }
  const de = nE > 1 ? nOff : 0;
  for (let p = 0; p < npix; p++) {
    const off = load<f64>(offsets + (<usize>p << 3));
    if (!(off >= offMin && off <= offMax)) {
      for (let t = 0; t < nT; t++) store<f32>(out + (<usize>(t * npix + p) << 2), 0);
      continue;
    }
    const io = cellIndex(offNodes, nOff, off);
    const to = cellWeight(offNodes, nOff, io, off);
    const dOff = nOff > 1 ? 1 : 0;
    for (let t = 0; t < nT; t++) {
      const w = work + (<usize>t << 4);
      const ief = load<f64>(w);
      const at = out + (<usize>(t * npix + p) << 2);
      if (ief < 0) {
        store<f32>(at, 0);
        continue;
      }
      const te = load<f64>(w, 8);
      const a = <i32>ief * nOff + io;
      const lower = load<f64>(table + (<usize>a << 3)) * (1 - to) + load<f64>(table + (<usize>(a + dOff) << 3)) * to;
      const upper = load<f64>(table + (<usize>(a + de) << 3)) * (1 - to) + load<f64>(table + (<usize>(a + de + dOff) << 3)) * to;
      let v = lower * (1 - te) + upper * te;
      if (!(v > 0) || v == Infinity) v = 0;
      store<f32>(at, <f32>(v * scale));
    }
  }
}

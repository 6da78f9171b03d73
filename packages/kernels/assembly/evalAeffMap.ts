// Port of src/reference/aeff-map.ts `evalAeffMap` (fdlibm log, same operation order): bit-identical.
import { fdlibmLog } from './fdlibm';
import { cellIndex, cellWeight } from './interp';
export { heapBase } from './common';

/** out[t][p] = A(E_t, offset_p) × scale (float32); see the reference for the layouts. */
export function evalAeffMap(offsets: usize, npix: i32, table: usize, lnENodes: usize, nE: i32, offNodes: usize, nOff: i32, bounds: usize, energies: usize, nT: i32, scale: f64, out: usize): void {
  const eMin = load<f64>(bounds);
  const eMax = load<f64>(bounds, 8);
  const offMin = load<f64>(bounds, 16);
  const offMax = load<f64>(bounds, 24);
  for (let t = 0; t < nT; t++) {
    const energy = load<f64>(energies + (<usize>t << 3));
    const base = out + (<usize>t * <usize>npix << 2);
    if (!(energy >= eMin && energy <= eMax)) {
      memory.fill(base, 0, <usize>npix << 2);
      continue;
    }
    const lnE = fdlibmLog(energy);
    const ie = cellIndex(lnENodes, nE, lnE);
    const te = cellWeight(lnENodes, nE, ie, lnE);
    const ie1 = nE > 1 ? ie + 1 : ie;
    for (let p = 0; p < npix; p++) {
      const off = load<f64>(offsets + (<usize>p << 3));
      if (!(off >= offMin && off <= offMax)) {
        store<f32>(base + (<usize>p << 2), 0);
        continue;
      }
      const io = cellIndex(offNodes, nOff, off);
      const to = cellWeight(offNodes, nOff, io, off);
      const io1 = nOff > 1 ? io + 1 : io;
      const v00 = load<f64>(table + (<usize>(ie * nOff + io) << 3));
      const v10 = load<f64>(table + (<usize>(ie1 * nOff + io) << 3));
      const v01 = load<f64>(table + (<usize>(ie * nOff + io1) << 3));
      const v11 = load<f64>(table + (<usize>(ie1 * nOff + io1) << 3));
      const lower = v00 * (1 - te) + v10 * te;
      const upper = v01 * (1 - te) + v11 * te;
      let v = lower * (1 - to) + upper * to;
      if (!(v > 0) || v == Infinity) v = 0;
      store<f32>(base + (<usize>p << 2), <f32>(v * scale));
    }
  }
}

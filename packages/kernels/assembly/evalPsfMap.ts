// Port of src/reference/irf-maps.ts `evalPsfMap` (fdlibm log, same operation order): bit-identical.
import { fdlibmLog } from './fdlibm';
import { cellIndex, cellWeight } from './interp';
export { heapBase } from './common';

/** PSF map out[(t·nR + r)·npix + p] (float32), normalised along rad; see the reference for layouts. */
export function evalPsfMap(offsets: usize, npix: i32, table: usize, lnENodes: usize, nE: i32, offNodes: usize, nOff: i32, radNodes: usize, nRad: i32, bounds: usize, energies: usize, nT: i32, radEdges: usize, nR: i32, out: usize): void {
  const deg: f64 = Math.PI / 180;
  const dR = nRad > 1 ? 1 : 0;
  const dO = nOff > 1 ? nRad : 0;
  const dE = nE > 1 ? nOff * nRad : 0;
  const eMin = load<f64>(bounds);
  const eMax = load<f64>(bounds, 8);
  const offMin = load<f64>(bounds, 16);
  const offMax = load<f64>(bounds, 24);
  const radMin = load<f64>(bounds, 32);
  const radMax = load<f64>(bounds, 40);
  for (let t = 0; t < nT; t++) {
    const energy = load<f64>(energies + (<usize>t << 3));
    const eInside = energy >= eMin && energy <= eMax;
    const lnE = fdlibmLog(energy);
    const ie = cellIndex(lnENodes, nE, lnE);
    const te = cellWeight(lnENodes, nE, ie, lnE);
    for (let p = 0; p < npix; p++) {
      const off = load<f64>(offsets + (<usize>p << 3));
      const inside = eInside && off >= offMin && off <= offMax;
      const io = cellIndex(offNodes, nOff, off);
      const to = cellWeight(offNodes, nOff, io, off);
      const w00 = (1 - te) * (1 - to);
      const w01 = (1 - te) * to;
      const w10 = te * (1 - to);
      const w11 = te * to;
      const base = (ie * nOff + io) * nRad;
      let norm: f64 = 0;
      let ir = 0;
      for (let r = 0; r < nR; r++) {
        const lo = load<f64>(radEdges + (<usize>r << 3));
        const hi = load<f64>(radEdges + (<usize>(r + 1) << 3));
        const rad = (lo + hi) / 2;
        let v: f64 = 0;
        if (inside && rad >= radMin && rad <= radMax) {
          while (ir < nRad - 2 && load<f64>(radNodes + (<usize>(ir + 1) << 3)) < rad) ir++;
          const tr = cellWeight(radNodes, nRad, ir, rad);
          const a = base + ir;
          const c0 =
            load<f64>(table + (<usize>a << 3)) * w00 +
            load<f64>(table + (<usize>(a + dO) << 3)) * w01 +
            load<f64>(table + (<usize>(a + dE) << 3)) * w10 +
            load<f64>(table + (<usize>(a + dE + dO) << 3)) * w11;
          const c1 =
            load<f64>(table + (<usize>(a + dR) << 3)) * w00 +
            load<f64>(table + (<usize>(a + dO + dR) << 3)) * w01 +
            load<f64>(table + (<usize>(a + dE + dR) << 3)) * w10 +
            load<f64>(table + (<usize>(a + dE + dO + dR) << 3)) * w11;
          v = c0 * (1 - tr) + c1 * tr;
          if (!(v > 0) || v == Infinity) v = 0;
        }
        norm += 2 * Math.PI * rad * deg * (hi - lo) * deg * v;
        store<f32>(out + (<usize>((t * nR + r) * npix + p) << 2), <f32>v);
      }
      const inv: f64 = norm > 0 ? 1 / norm : 0;
      for (let r = 0; r < nR; r++) {
        const at = out + (<usize>((t * nR + r) * npix + p) << 2);
        store<f32>(at, <f32>(<f64>load<f32>(at) * inv));
      }
    }
  }
}

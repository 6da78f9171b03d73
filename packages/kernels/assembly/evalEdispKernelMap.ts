// Port of src/reference/irf-maps.ts `evalEdispKernelMap` (fdlibm log, same operation order): bit-identical.
import { fdlibmLog } from './fdlibm';
import { cellIndex, cellWeight } from './interp';
export { heapBase } from './common';

/** Piecewise-linear interpolation of cum (nM + 1 values at migraEdges) at mu; 0 below, cum[nM] above. */
function cumulativeAt(cum: usize, migraEdges: usize, nM: i32, mu: f64): f64 {
  if (!(mu > load<f64>(migraEdges))) return 0;
  if (mu >= load<f64>(migraEdges + (<usize>nM << 3))) return load<f64>(cum + (<usize>nM << 3));
  const i = cellIndex(migraEdges, nM + 1, mu);
  const t = cellWeight(migraEdges, nM + 1, i, mu);
  return load<f64>(cum + (<usize>i << 3)) * (1 - t) + load<f64>(cum + (<usize>(i + 1) << 3)) * t;
}

/** Energy-dispersion kernel map out[(t·nK + k)·npix + p]; `work` holds ≥ nM + 1 f64; see the reference. */
export function evalEdispKernelMap(offsets: usize, npix: i32, table: usize, lnENodes: usize, nE: i32, nM: i32, offNodes: usize, nOff: i32, migraEdges: usize, bounds: usize, energies: usize, nT: i32, recoEdges: usize, nK: i32, work: usize, out: usize): void {
  // bounds[0..1] (the true-energy range) are not used: a true energy outside the table is extrapolated (see the reference)
  const offMin = load<f64>(bounds, 16);
  const offMax = load<f64>(bounds, 24);
  for (let t = 0; t < nT; t++) {
    const energy = load<f64>(energies + (<usize>t << 3));
    const lnE = fdlibmLog(energy);
    const ie = cellIndex(lnENodes, nE, lnE);
    const te = cellWeight(lnENodes, nE, ie, lnE);
    for (let p = 0; p < npix; p++) {
      const off = load<f64>(offsets + (<usize>p << 3));
      const inside = off >= offMin && off <= offMax;
      const io = cellIndex(offNodes, nOff, off);
      const to = cellWeight(offNodes, nOff, io, off);
      store<f64>(work, 0);
      const jo = nOff > 1 ? io + 1 : io;
      const je = nE > 1 ? ie + 1 : ie;
      const w00 = (1 - te) * (1 - to);
      const w01 = (1 - te) * to;
      const w10 = te * (1 - to);
      const w11 = te * to;
      for (let m = 0; m < nM; m++) {
        let v: f64 = 0;
        if (inside) {
          const a = (ie * nM + m) * nOff;
          const b = (je * nM + m) * nOff;
          v =
            load<f64>(table + (<usize>(a + io) << 3)) * w00 +
            load<f64>(table + (<usize>(a + jo) << 3)) * w01 +
            load<f64>(table + (<usize>(b + io) << 3)) * w10 +
            load<f64>(table + (<usize>(b + jo) << 3)) * w11;
          if (!isFinite<f64>(v) || v < 0) v = 0; // clipped at 0, as the reference
        }
        const dm = load<f64>(migraEdges + (<usize>(m + 1) << 3)) - load<f64>(migraEdges + (<usize>m << 3));
        store<f64>(work + (<usize>(m + 1) << 3), load<f64>(work + (<usize>m << 3)) + v * dm);
      }
      const total = load<f64>(work + (<usize>nM << 3));
      const inv: f64 = total > 0 ? 1 / total : 0;
      let prev = cumulativeAt(work, migraEdges, nM, load<f64>(recoEdges) / energy) * inv;
      for (let k = 0; k < nK; k++) {
        const next = cumulativeAt(work, migraEdges, nM, load<f64>(recoEdges + (<usize>(k + 1) << 3)) / energy) * inv;
        const d = next - prev;
        store<f64>(out + (<usize>((t * nK + k) * npix + p) << 3), d > 0 ? d : 0);
        prev = next;
      }
    }
  }
}

// Reference kernel: exposure cube from a 2-D effective-area table (science spec §4.2, §6).

import { cellIndex, cellWeight } from './interp.js';

/**
 * out[t][p] = A(E_t, offset_p) × scale, with A the bilinear interpolation (with linear extrapolation) of the
 * effective-area table on the grid (ln E node, offset node), values linear:
 * - offsets: per-pixel offset from the pointing (deg), npix values;
 * - table: nE × nOff values in gammapy's axis order, offset fastest (table[e·nOff + o]);
 * - lnENodes (nE): ln of the energy nodes; offNodes (nOff): offset nodes (deg);
 * - bounds: [eMin, eMax, offMin, offMax], the axis edges; outside them (or non-finite) the value is 0;
 * - energies (nT): the evaluation energies (true-energy bin centres), in the unit of bounds[0..1];
 * - scale: the livetime (s); work: scratch of at least 2·nT values; out: nT × npix, float32.
 * Negative interpolated values are clipped to 0. Allocates nothing.
 */
export function evalAeffMap(
  offsets: Float64Array,
  npix: number,
  table: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  offNodes: Float64Array,
  nOff: number,
  bounds: Float64Array,
  energies: Float64Array,
  nT: number,
  scale: number,
  work: Float64Array,
  out: Float32Array,
): void {
  const eMin = bounds[0] as number;
  const eMax = bounds[1] as number;
  const offMin = bounds[2] as number;
  const offMax = bounds[3] as number;
  // The energy cells are the same for every pixel: work[2t] = cell (−1 outside the axis), work[2t + 1] = weight.
  for (let t = 0; t < nT; t++) {
    const energy = energies[t] as number;
    if (!(energy >= eMin && energy <= eMax)) {
      work[2 * t] = -1;
      continue;
    }
    const lnE = Math.log(energy);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    work[2 * t] = ie;
    work[2 * t + 1] = cellWeight(lnENodes, 0, nE, ie, lnE);
  }
  const de = nE > 1 ? nOff : 0;
  for (let p = 0; p < npix; p++) {
    const off = offsets[p] as number;
    if (!(off >= offMin && off <= offMax)) {
      for (let t = 0; t < nT; t++) out[t * npix + p] = 0;
      continue;
    }
    const io = cellIndex(offNodes, 0, nOff, off);
    const to = cellWeight(offNodes, 0, nOff, io, off);
    const dOff = nOff > 1 ? 1 : 0;
    for (let t = 0; t < nT; t++) {
      const ie = work[2 * t] as number;
      if (ie < 0) {
        out[t * npix + p] = 0;
        continue;
      }
      const te = work[2 * t + 1] as number;
      const a = ie * nOff + io;
      const lower = (table[a] as number) * (1 - to) + (table[a + dOff] as number) * to;
      const upper = (table[a + de] as number) * (1 - to) + (table[a + de + dOff] as number) * to;
      let v = lower * (1 - te) + upper * te;
      if (!(v > 0) || v === Number.POSITIVE_INFINITY) v = 0;
      out[t * npix + p] = v * scale;
    }
  }
}

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
 * - scale: the livetime (s); out: nT × npix, float32.
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
  out: Float32Array,
): void {
  const eMin = bounds[0] as number;
  const eMax = bounds[1] as number;
  const offMin = bounds[2] as number;
  const offMax = bounds[3] as number;
  for (let t = 0; t < nT; t++) {
    const energy = energies[t] as number;
    const base = t * npix;
    if (!(energy >= eMin && energy <= eMax)) {
      out.fill(0, base, base + npix);
      continue;
    }
    const lnE = Math.log(energy);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    const te = cellWeight(lnENodes, 0, nE, ie, lnE);
    const ie1 = nE > 1 ? ie + 1 : ie;
    for (let p = 0; p < npix; p++) {
      const off = offsets[p] as number;
      if (!(off >= offMin && off <= offMax)) {
        out[base + p] = 0;
        continue;
      }
      const io = cellIndex(offNodes, 0, nOff, off);
      const to = cellWeight(offNodes, 0, nOff, io, off);
      const io1 = nOff > 1 ? io + 1 : io;
      const v00 = table[ie * nOff + io] as number;
      const v10 = table[ie1 * nOff + io] as number;
      const v01 = table[ie * nOff + io1] as number;
      const v11 = table[ie1 * nOff + io1] as number;
      const lower = v00 * (1 - te) + v10 * te;
      const upper = v01 * (1 - te) + v11 * te;
      let v = lower * (1 - to) + upper * to;
      if (!(v > 0) || v === Number.POSITIVE_INFINITY) v = 0;
      out[base + p] = v * scale;
    }
  }
}

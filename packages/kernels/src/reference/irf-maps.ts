// Reference kernels: PSF and energy-dispersion maps on the coarse IRF grid (science spec §4.6). Both interpolate
// a 3-D table linearly in (ln E_true, offset, second axis) with extrapolation, zero outside the axis edges (for the
// energy dispersion, outside the offset edges only: gammapy's EnergyDispersion2D extrapolates a true energy beyond
// its table), then normalise along the second axis.

import { cellIndex, cellWeight } from './interp.js';

/**
 * PSF map: out[(t·nR + r)·npix + p] = PSF(E_t, offset_p, rad_r) normalised along rad so that
 * Σ_r 2π·r_c·Δr·PSF = 1 with r in radians (PSF in sr⁻¹); an all-zero profile stays 0.
 * - table: nE × nOff × nRad in gammapy's axis order, rad fastest (table[(e·nOff + o)·nRad + r]);
 * - lnENodes (nE), offNodes (nOff), radNodes (nRad, deg): interpolation nodes;
 * - bounds: [eMin, eMax, offMin, offMax, radMin, radMax] (axis edges; outside → 0);
 * - energies (nT): true-energy centres; radEdges (nR + 1, deg): the map's rad axis (evaluated at centres).
 * Allocates nothing.
 */
export function evalPsfMap(
  offsets: Float64Array,
  npix: number,
  table: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  offNodes: Float64Array,
  nOff: number,
  radNodes: Float64Array,
  nRad: number,
  bounds: Float64Array,
  energies: Float64Array,
  nT: number,
  radEdges: Float64Array,
  nR: number,
  out: Float32Array,
): void {
  const deg = Math.PI / 180;
  const dR = nRad > 1 ? 1 : 0;
  const dO = nOff > 1 ? nRad : 0;
  const dE = nE > 1 ? nOff * nRad : 0;
  for (let t = 0; t < nT; t++) {
    const energy = energies[t] as number;
    const eInside = energy >= (bounds[0] as number) && energy <= (bounds[1] as number);
    const lnE = Math.log(energy);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    const te = cellWeight(lnENodes, 0, nE, ie, lnE);
    for (let p = 0; p < npix; p++) {
      const off = offsets[p] as number;
      const inside = eInside && off >= (bounds[2] as number) && off <= (bounds[3] as number);
      const io = cellIndex(offNodes, 0, nOff, off);
      const to = cellWeight(offNodes, 0, nOff, io, off);
      // bilinear weights in (ln E, offset), the same for every rad
      const w00 = (1 - te) * (1 - to);
      const w01 = (1 - te) * to;
      const w10 = te * (1 - to);
      const w11 = te * to;
      const base = (ie * nOff + io) * nRad;
      let norm = 0;
      let ir = 0;
      for (let r = 0; r < nR; r++) {
        const lo = radEdges[r] as number;
        const hi = radEdges[r + 1] as number;
        const rad = (lo + hi) / 2;
        let v = 0;
        if (inside && rad >= (bounds[4] as number) && rad <= (bounds[5] as number)) {
          // rad centres ascend: advance the cell instead of searching (same cell as cellIndex)
          while (ir < nRad - 2 && (radNodes[ir + 1] as number) < rad) ir++;
          const tr = cellWeight(radNodes, 0, nRad, ir, rad);
          const a = base + ir;
          const c0 =
            (table[a] as number) * w00 +
            (table[a + dO] as number) * w01 +
            (table[a + dE] as number) * w10 +
            (table[a + dE + dO] as number) * w11;
          const c1 =
            (table[a + dR] as number) * w00 +
            (table[a + dO + dR] as number) * w01 +
            (table[a + dE + dR] as number) * w10 +
            (table[a + dE + dO + dR] as number) * w11;
          v = c0 * (1 - tr) + c1 * tr;
          if (!(v > 0) || v === Number.POSITIVE_INFINITY) v = 0;
        }
        norm += 2 * Math.PI * rad * deg * (hi - lo) * deg * v;
        out[(t * nR + r) * npix + p] = v;
      }
      const inv = norm > 0 ? 1 / norm : 0;
      for (let r = 0; r < nR; r++) {
        const k = (t * nR + r) * npix + p;
        out[k] = (out[k] as number) * inv;
      }
    }
  }
}

/**
 * Energy-dispersion kernel map: out[(t·nK + k)·npix + p] = max(0, C(edge_{k+1}/E_t) − C(edge_k/E_t)), with C the
 * cumulative migration distribution at pixel p: EDISP_2D interpolated at the table's own nM migra nodes (so only
 * bilinearly, in ln E and offset; values clipped to ≥ 0), normalised
 * so that Σ value·Δmigra = 1 (0/0 → 0), summed to the migra edges and interpolated linearly between them; C = 0
 * below the first migra edge and = its total above the last.
 * - table: nE × nM × nOff in gammapy's axis order, offset fastest (table[(e·nM + m)·nOff + o]);
 * - lnENodes (nE), offNodes (nOff): interpolation nodes; migraEdges (nM + 1): the table's migra bin edges;
 * - bounds: [eMin, eMax, offMin, offMax] (outside → the whole distribution is 0);
 * - energies (nT): true-energy centres; recoEdges (nK + 1): reco edges, same unit as energies;
 * - work: scratch of at least nM + 1 values. Allocates nothing.
 */
export function evalEdispKernelMap(
  offsets: Float64Array,
  npix: number,
  table: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  nM: number,
  offNodes: Float64Array,
  nOff: number,
  migraEdges: Float64Array,
  bounds: Float64Array,
  energies: Float64Array,
  nT: number,
  recoEdges: Float64Array,
  nK: number,
  work: Float64Array,
  out: Float64Array,
): void {
  for (let t = 0; t < nT; t++) {
    const energy = energies[t] as number;
    // A true energy outside the table is extrapolated, not zeroed: gammapy's EnergyDispersion2D masks a point only
    // where its offset, or its true energy and migra together, are out of bounds (the migra points here are the
    // table's own nodes), so only the offset decides.
    const lnE = Math.log(energy);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    const te = cellWeight(lnENodes, 0, nE, ie, lnE);
    for (let p = 0; p < npix; p++) {
      const off = offsets[p] as number;
      const inside = off >= (bounds[2] as number) && off <= (bounds[3] as number);
      const io = cellIndex(offNodes, 0, nOff, off);
      const to = cellWeight(offNodes, 0, nOff, io, off);
      // Cumulative sums at the migra edges, unnormalised. The evaluation points are the table's own migra
      // nodes, where trilinear interpolation reduces exactly to bilinear interpolation in (ln E, offset).
      work[0] = 0;
      const jo = nOff > 1 ? io + 1 : io;
      const je = nE > 1 ? ie + 1 : ie;
      const w00 = (1 - te) * (1 - to);
      const w01 = (1 - te) * to;
      const w10 = te * (1 - to);
      const w11 = te * to;
      for (let m = 0; m < nM; m++) {
        let v = 0;
        if (inside) {
          const a = (ie * nM + m) * nOff;
          const b = (je * nM + m) * nOff;
          v =
            (table[a + io] as number) * w00 +
            (table[a + jo] as number) * w01 +
            (table[b + io] as number) * w10 +
            (table[b + jo] as number) * w11;
          // As gammapy 1.0, whose ScaledRegularGridInterpolator clips its values at 0: a negative value (an
          // extrapolated true energy or offset) becomes 0 before the sums, and so does one that is not finite.
          if (!Number.isFinite(v) || v < 0) v = 0;
        }
        work[m + 1] = (work[m] as number) + v * ((migraEdges[m + 1] as number) - (migraEdges[m] as number));
      }
      const total = work[nM] as number;
      const inv = total > 0 ? 1 / total : 0;
      let prev = cumulativeAt(work, migraEdges, nM, (recoEdges[0] as number) / energy) * inv;
      for (let k = 0; k < nK; k++) {
        const next = cumulativeAt(work, migraEdges, nM, (recoEdges[k + 1] as number) / energy) * inv;
        const d = next - prev;
        // Not Math.max: NaN must become 0, which Math.max would not do.
        out[(t * nK + k) * npix + p] = d > 0 ? d : 0;
        prev = next;
      }
    }
  }
}

/** Piecewise-linear interpolation of cum (nM + 1 values at migraEdges) at mu; 0 below, cum[nM] above. */
function cumulativeAt(cum: Float64Array, migraEdges: Float64Array, nM: number, mu: number): number {
  if (!(mu > (migraEdges[0] as number))) return 0;
  if (mu >= (migraEdges[nM] as number)) return cum[nM] as number;
  const i = cellIndex(migraEdges, 0, nM + 1, mu);
  const t = cellWeight(migraEdges, 0, nM + 1, i, mu);
  return (cum[i] as number) * (1 - t) + (cum[i + 1] as number) * t;
}

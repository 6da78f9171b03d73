// Reference kernel: background template from a 3-D background-rate table (science spec §4.3): rate at the
// reco-energy edges by trilinear interpolation of ln(rate), log-log trapezoid integration, × Ω × time.

import { FLOAT32_TINY, cellIndex, cellWeight } from './interp.js';

/**
 * ∫_{e1}^{e2} of the power law through (e1, y1) and (e2, y2) — gammapy's trapz_loglog: 0 when either value is 0.
 */
export function integrateLogLog(e1: number, e2: number, y1: number, y2: number): number {
  if (!(y1 > 0) || !(y2 > 0)) return 0;
  let ratio = y1 / y2;
  if (ratio < FLOAT32_TINY) ratio = FLOAT32_TINY;
  const gamma = -Math.log(ratio) / Math.log(e1 / e2);
  const g = 1 - gamma;
  if (Math.abs(g) <= 1e-8) return y1 * e1 * Math.log(e2 / e1);
  return ((y1 * e1) / g) * ((e2 / e1) ** g - 1);
}

/**
 * Rate at (ln E, cell of fov_lon, cell of fov_lat): trilinear interpolation of lnTable (extrapolating), exp, and
 * gammapy's zero rule exp(v) − tiny ≤ tiny → 0.
 */
function rateAt(
  lnTable: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  nLon: number,
  nLat: number,
  lnE: number,
  il: number,
  tl: number,
  ib: number,
  tb: number,
): number {
  const ie = cellIndex(lnENodes, 0, nE, lnE);
  const te = cellWeight(lnENodes, 0, nE, ie, lnE);
  const ie1 = nE > 1 ? ie + 1 : ie;
  const il1 = nLon > 1 ? il + 1 : il;
  const ib1 = nLat > 1 ? ib + 1 : ib;
  const a = (ie * nLon + il) * nLat;
  const b = (ie * nLon + il1) * nLat;
  const c = (ie1 * nLon + il) * nLat;
  const d = (ie1 * nLon + il1) * nLat;
  const v0 = ((lnTable[a + ib] as number) * (1 - tb) + (lnTable[a + ib1] as number) * tb) * (1 - tl) + ((lnTable[b + ib] as number) * (1 - tb) + (lnTable[b + ib1] as number) * tb) * tl;
  const v1 = ((lnTable[c + ib] as number) * (1 - tb) + (lnTable[c + ib1] as number) * tb) * (1 - tl) + ((lnTable[d + ib] as number) * (1 - tb) + (lnTable[d + ib1] as number) * tb) * tl;
  const v = Math.exp(v0 * (1 - te) + v1 * te);
  if (!(Math.abs(v) - FLOAT32_TINY > FLOAT32_TINY)) return 0;
  return v;
}

/**
 * out[k][p] = scale · Ω[p] · ∫_{E_k}^{E_k+1} rate(E, fovLon[p], fovLat[p]) dE for the nK reco bins:
 * - fovLon, fovLat: per-pixel FoV coordinates (deg), npix values each;
 * - lnTable: ln(max(rate, float32 tiny)) of the hole-filled table, nE × nLon × nLat with fov_lat fastest
 *   (lnTable[(e·nLon + l)·nLat + b]) — gammapy's axis order (energy, fov_lon, fov_lat);
 * - lnENodes (nE), lonNodes (nLon), latNodes (nLat): interpolation nodes (ln of the energy nodes);
 * - bounds: [eMin, eMax, lonMin, lonMax, latMin, latMax], the axis edges: outside, the rate is 0;
 * - edges (nK + 1): reco-energy edges, same unit as the energy axis; solidAngle: Ω per pixel (sr);
 * - scale: time × unit factor (e.g. ontime · 1e6 for a per-MeV rate and TeV edges); out: nK × npix, float32.
 * The rate at the nK + 1 edges is evaluated per pixel and integrated log-log. Allocates nothing.
 */
export function evalBkgMap(
  fovLon: Float64Array,
  fovLat: Float64Array,
  npix: number,
  lnTable: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  lonNodes: Float64Array,
  nLon: number,
  latNodes: Float64Array,
  nLat: number,
  bounds: Float64Array,
  edges: Float64Array,
  nK: number,
  solidAngle: Float64Array,
  scale: number,
  out: Float32Array,
): void {
  const eMin = bounds[0] as number;
  const eMax = bounds[1] as number;
  const lonMin = bounds[2] as number;
  const lonMax = bounds[3] as number;
  const latMin = bounds[4] as number;
  const latMax = bounds[5] as number;
  for (let p = 0; p < npix; p++) {
    const lon = fovLon[p] as number;
    const lat = fovLat[p] as number;
    if (!(lon >= lonMin && lon <= lonMax && lat >= latMin && lat <= latMax)) {
      for (let k = 0; k < nK; k++) out[k * npix + p] = 0;
      continue;
    }
    const il = cellIndex(lonNodes, 0, nLon, lon);
    const tl = cellWeight(lonNodes, 0, nLon, il, lon);
    const ib = cellIndex(latNodes, 0, nLat, lat);
    const tb = cellWeight(latNodes, 0, nLat, ib, lat);
    const factor = scale * (solidAngle[p] as number);
    let e1 = edges[0] as number;
    let y1 = e1 >= eMin && e1 <= eMax ? rateAt(lnTable, lnENodes, nE, nLon, nLat, Math.log(e1), il, tl, ib, tb) : 0;
    for (let k = 0; k < nK; k++) {
      const e2 = edges[k + 1] as number;
      const y2 = e2 >= eMin && e2 <= eMax ? rateAt(lnTable, lnENodes, nE, nLon, nLat, Math.log(e2), il, tl, ib, tb) : 0;
      out[k * npix + p] = integrateLogLog(e1, e2, y1, y2) * factor;
      e1 = e2;
      y1 = y2;
    }
  }
}

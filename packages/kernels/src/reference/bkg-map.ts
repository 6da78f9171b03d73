// Reference kernel: background template from a 3-D background-rate table (science spec §4.3): rate at the
// reco-energy edges by trilinear interpolation of ln(rate), log-log trapezoid integration, × Ω × time.

import { cellIndex, cellWeight, FLOAT32_TINY } from './interp.js';

const LN_TINY = Math.log(FLOAT32_TINY);

/**
 * ∫_{e1}^{e2} of the power law through (e1, y1) and (e2, y2) — gammapy's trapz_loglog: 0 when either value is 0.
 * Γ = −ln(max(y1/y2, tiny))/ln(e1/e2); I = y1·e1/(1 − Γ)·((e2/e1)^(1−Γ) − 1), or y1·e1·ln(e2/e1) when
 * |1 − Γ| ≤ 1e-8.
 */
export function integrateLogLog(e1: number, e2: number, y1: number, y2: number): number {
  if (!(y1 > 0) || !(y2 > 0)) return 0;
  return integrateLogLogLn(y1, Math.log(y1), Math.log(y2), e1, Math.log(e1), Math.log(e2));
}

/** The same integral from y1 > 0, v = ln y at both ends and the energies' logs (no log evaluated here). */
function integrateLogLogLn(y1: number, v1: number, v2: number, e1: number, l1: number, l2: number): number {
  let lr = v1 - v2;
  if (lr < LN_TINY) lr = LN_TINY;
  const g = 1 + lr / (l1 - l2); // 1 − Γ
  if (Math.abs(g) <= 1e-8) return y1 * e1 * (l2 - l1);
  return ((y1 * e1) / g) * (Math.exp(g * (l2 - l1)) - 1);
}

/** Bilinear value of one energy plane of the table at a pixel, from its cell corner a. */
function planeValue(
  lnTable: Float64Array,
  a: number,
  dLat: number,
  dLon: number,
  w00: number,
  w01: number,
  w10: number,
  w11: number,
): number {
  return (
    (lnTable[a] as number) * w00 +
    (lnTable[a + dLat] as number) * w01 +
    (lnTable[a + dLon] as number) * w10 +
    (lnTable[a + dLon + dLat] as number) * w11
  );
}

/**
 * out[k][p] = scale · Ω[p] · ∫_{E_k}^{E_k+1} rate(E, fovLon[p], fovLat[p]) dE for the nK reco bins:
 * - fovLon, fovLat: per-pixel FoV coordinates (deg), npix values each;
 * - lnTable: ln(max(rate, float32 tiny)) of the hole-filled table, nE × nLon × nLat with fov_lat fastest
 *   (lnTable[(e·nLon + l)·nLat + b]) — gammapy's axis order (energy, fov_lon, fov_lat);
 * - lnENodes (nE), lonNodes (nLon), latNodes (nLat): interpolation nodes (ln of the energy nodes);
 * - bounds: [eMin, eMax, lonMin, lonMax, latMin, latMax], the axis edges: outside, the rate is 0;
 * - edges (nK + 1): reco-energy edges, same unit as the energy axis; solidAngle: Ω per pixel (sr);
 * - scale: time × unit factor (e.g. ontime · 1e6 for a per-MeV rate and TeV edges);
 * - work: scratch of at least 3·(nK + 1) values; out: nK × npix, float32.
 * The rate at an edge is exp(v) of the interpolated ln value v, and 0 when exp(v) − tiny ≤ tiny (gammapy's
 * log scale); bins with a zero end get 0. Allocates nothing.
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
  work: Float64Array,
  out: Float32Array,
): void {
  const lonMin = bounds[2] as number;
  const lonMax = bounds[3] as number;
  const latMin = bounds[4] as number;
  const latMax = bounds[5] as number;
  // Energy cells of the edges, the same for every pixel: work[3j] = cell (−1 outside the axis), weight, ln E.
  for (let j = 0; j <= nK; j++) {
    const e = edges[j] as number;
    const lnE = Math.log(e);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    work[3 * j] = e >= (bounds[0] as number) && e <= (bounds[1] as number) ? ie : -1;
    work[3 * j + 1] = cellWeight(lnENodes, 0, nE, ie, lnE);
    work[3 * j + 2] = lnE;
  }
  const planeE = nLon * nLat;
  const dE = nE > 1 ? planeE : 0;
  const dLon = nLon > 1 ? nLat : 0;
  const dLat = nLat > 1 ? 1 : 0;
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
    const w00 = (1 - tl) * (1 - tb);
    const w01 = (1 - tl) * tb;
    const w10 = tl * (1 - tb);
    const w11 = tl * tb;
    const base = il * nLat + ib;
    const factor = scale * (solidAngle[p] as number);
    // The bilinear value of energy plane e at this pixel does not depend on the edge: an edge in the same cell as
    // the previous one reuses both planes, one in the next cell reuses its upper plane (same expression, same bits).
    let cell = -1;
    let lo = 0;
    let hi = 0;
    let y1 = 0;
    let v1 = 0;
    for (let j = 0; j <= nK; j++) {
      const ie = work[3 * j] as number;
      let y2 = 0;
      let v2 = 0;
      if (ie >= 0) {
        const te = work[3 * j + 1] as number;
        if (ie !== cell) {
          lo =
            dE !== 0 && cell >= 0 && ie === cell + 1
              ? hi
              : planeValue(lnTable, ie * planeE + base, dLat, dLon, w00, w01, w10, w11);
          hi = dE !== 0 ? planeValue(lnTable, (ie + 1) * planeE + base, dLat, dLon, w00, w01, w10, w11) : lo;
          cell = ie;
        }
        v2 = lo * (1 - te) + hi * te;
        y2 = Math.exp(v2);
        if (!(y2 - FLOAT32_TINY > FLOAT32_TINY)) y2 = 0;
      }
      if (j > 0) {
        const integral =
          y1 > 0 && y2 > 0
            ? integrateLogLogLn(
                y1,
                v1,
                v2,
                edges[j - 1] as number,
                work[3 * j - 1] as number,
                work[3 * j + 2] as number,
              )
            : 0;
        out[(j - 1) * npix + p] = integral * factor;
      }
      y1 = y2;
      v1 = v2;
    }
  }
}

// Reference kernel: event binning (science spec §4.1). Sky position → fractional pixel through the WCS
// parameter block (sky.ts), energy → fractional bin with gammapy's formula, both rounded half to even.

import { nativeX, nativeY, nativeZ, pixelColumn, pixelRow, rint } from './sky.js';

const DEG_TO_RAD = Math.PI / 180;

/**
 * Fractional bin of ln E on an axis of nEdges log-edges lnEdges (bin k covers [lnEdges[k], lnEdges[k+1])), as
 * gammapy computes it: scipy interp1d from ln(edges) to edge index, extrapolated linearly, minus 0.5:
 * i = clip(searchsorted(lnEdges, lnE), 1, nEdges − 1); e = (1/(x_i − x_{i−1}))·(lnE − x_{i−1}) + (i − 1) − 0.5.
 * Bin centres come out at integers. NaN gives NaN.
 */
export function energyBinCoordinate(lnEdges: Float64Array, nEdges: number, lnE: number): number {
  let lo = 0;
  let hi = nEdges;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((lnEdges[mid] as number) < lnE) lo = mid + 1;
    else hi = mid;
  }
  let i = lo;
  if (i < 1) i = 1;
  if (i > nEdges - 1) i = nEdges - 1;
  const x0 = lnEdges[i - 1] as number;
  const slope = 1 / ((lnEdges[i] as number) - x0);
  return slope * (lnE - x0) + (i - 1) - 0.5;
}

/**
 * Bins `count` events into the counts cube `out` ([nE][ny][nx], x fastest), adding 1 per event.
 * - ra, dec: ICRS degrees (float32 columns widened to float64); energy: in the unit of the edges.
 * - wcs: the WCS parameter block (sky.ts); nx, ny: map size.
 * - lnEdges: natural log of the nE + 1 energy edges.
 * An event counts in pixel (rint(x), rint(y)) and bin rint(e) when all three lie in range; events off the
 * map, outside the energy range, off a TAN projection, or with NaN coordinates are dropped silently.
 * Allocates nothing.
 */
export function binEvents(
  ra: Float64Array,
  dec: Float64Array,
  energy: Float64Array,
  count: number,
  wcs: Float64Array,
  nx: number,
  ny: number,
  lnEdges: Float64Array,
  nE: number,
  out: Float32Array,
): void {
  for (let i = 0; i < count; i++) {
    const e = energyBinCoordinate(lnEdges, nE + 1, Math.log(energy[i] as number));
    const ie = rint(e);
    if (!(ie >= 0 && ie < nE)) continue;
    const lon = (ra[i] as number) * DEG_TO_RAD;
    const lat = (dec[i] as number) * DEG_TO_RAD;
    const cl = Math.cos(lat);
    const cx = cl * Math.cos(lon);
    const cy = cl * Math.sin(lon);
    const cz = Math.sin(lat);
    const n0 = nativeX(wcs, cx, cy, cz);
    const ix = rint(pixelColumn(wcs, n0, nativeY(wcs, cx, cy, cz)));
    if (!(ix >= 0 && ix < nx)) continue;
    const iy = rint(pixelRow(wcs, n0, nativeZ(wcs, cx, cy, cz)));
    if (!(iy >= 0 && iy < ny)) continue;
    const k = (ie * ny + iy) * nx + ix;
    out[k] = (out[k] as number) + 1;
  }
}

/**
 * Per-run cutouts (science spec §4.0): a square of side `width` degrees centred on the run's pointing, trimmed
 * to the map ("trim" mode of astropy's Cutout2D, which gammapy uses).
 */
import { createWcs, icrsToPixel } from '../wcs/wcs.js';
import { roundHalfEven } from './rounding.js';
import type { WcsGeom } from './wcs-geom.js';

/** A cutout: its geometry, and where its pixel (0, 0) sits in the parent map. */
export interface Cutout {
  geom: WcsGeom;
  x0: number;
  y0: number;
}

export interface CutoutFailure {
  reason: 'no-overlap';
  message: string;
}

/**
 * The trimmed cutout of side `width` degrees around ICRS (ra, dec). With the position at fractional pixel
 * (px, py) and n = rint(width/|CDELT|) pixels per side, it keeps columns ceil(px − n/2) ≤ x < ceil(px + n/2)
 * clipped to the map, rows likewise. Its WCS is the parent's with CRPIX shifted, so pixel ↔ sky agrees exactly.
 */
export function cutoutAround(geom: WcsGeom, ra: number, dec: number, width: number): Cutout | CutoutFailure {
  const [px, py] = icrsToPixel(geom.wcs, ra, dec);
  const nxCut = Math.max(1, roundHalfEven(width / Math.abs(geom.wcs.cdelt[0])));
  const nyCut = Math.max(1, roundHalfEven(width / Math.abs(geom.wcs.cdelt[1])));
  const x0 = Math.max(0, Math.ceil(px - nxCut / 2));
  const x1 = Math.min(geom.nx, Math.ceil(px + nxCut / 2));
  const y0 = Math.max(0, Math.ceil(py - nyCut / 2));
  const y1 = Math.min(geom.ny, Math.ceil(py + nyCut / 2));
  if (!(x1 > x0 && y1 > y0)) {
    return {
      reason: 'no-overlap',
      message: `a ${width} deg cutout around (${ra}, ${dec}) does not overlap the ${geom.nx}×${geom.ny} map`,
    };
  }
  const w = geom.wcs;
  const wcs = createWcs({
    frame: w.frame,
    projection: w.projection,
    crval: w.crval,
    crpix: [w.crpix[0] - x0, w.crpix[1] - y0],
    cdelt: w.cdelt,
  });
  return { geom: { wcs, nx: x1 - x0, ny: y1 - y0 }, x0, y0 };
}

export function isCutoutFailure(v: Cutout | CutoutFailure): v is CutoutFailure {
  return 'reason' in v;
}

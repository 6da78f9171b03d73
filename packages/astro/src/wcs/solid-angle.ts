/**
 * Pixel solid angles. CAR cells are exact spherical rectangles in the native frame, so Ω depends on the row
 * only; other projections use gammapy's corner formula (two planar triangles with great-circle sides).
 */
import { angularSeparation, DEG } from './frames.js';
import { pixelToIcrs, type Wcs } from './wcs.js';

/** Exact CAR cell area in sr of row y: |Δφ| · |sin θ_top − sin θ_bottom|. */
export function carRowSolidAngle(wcs: Wcs, y: number): number {
  const lo = wcs.cdelt[1] * (y + 1 - wcs.crpix[1] - 0.5) * DEG;
  const hi = wcs.cdelt[1] * (y + 1 - wcs.crpix[1] + 0.5) * DEG;
  return Math.abs(wcs.cdelt[0] * DEG) * Math.abs(Math.sin(hi) - Math.sin(lo));
}

/** Heron's formula for a planar triangle with sides a, b, c. */
function heron(a: number, b: number, c: number): number {
  const s = (a + b + c) / 2;
  return Math.sqrt(Math.max(0, s * (s - a) * (s - b) * (s - c)));
}

/** Solid angle (sr) of pixel (x, y) from its four corners, as gammapy's WcsGeom.solid_angle does. */
export function cornerSolidAngle(wcs: Wcs, x: number, y: number): number {
  const c00 = pixelToIcrs(wcs, x - 0.5, y - 0.5);
  const c10 = pixelToIcrs(wcs, x + 0.5, y - 0.5);
  const c11 = pixelToIcrs(wcs, x + 0.5, y + 0.5);
  const c01 = pixelToIcrs(wcs, x - 0.5, y + 0.5);
  const sep = (p: [number, number], q: [number, number]) => angularSeparation(p[0], p[1], q[0], q[1]) * DEG;
  const a = sep(c00, c10);
  const b = sep(c10, c11);
  const c = sep(c11, c01);
  const d = sep(c01, c00);
  const e = sep(c00, c11);
  return heron(a, b, e) + heron(c, d, e);
}

/** Solid angle (sr) of every pixel of an nx × ny map, row-major (x fastest). */
export function pixelSolidAngles(wcs: Wcs, nx: number, ny: number): Float64Array {
  const out = new Float64Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    if (wcs.projection === 'CAR') {
      out.fill(carRowSolidAngle(wcs, y), y * nx, (y + 1) * nx);
    } else {
      for (let x = 0; x < nx; x++) out[y * nx + x] = cornerSolidAngle(wcs, x, y);
    }
  }
  return out;
}

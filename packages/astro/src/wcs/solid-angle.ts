/**
 * Pixel solid angles: gammapy's corner formula (the one its background maps carry), and the exact CAR cell area to
 * check it against.
 */
import { DEG } from './frames.js';
import { pixelToSky, type Wcs } from './wcs.js';

/** Exact CAR cell area in sr of row y: |Δφ| · |sin θ_top − sin θ_bottom|. */
export function carRowSolidAngle(wcs: Wcs, y: number): number {
  const lo = wcs.cdelt[1] * (y + 1 - wcs.crpix[1] - 0.5) * DEG;
  const hi = wcs.cdelt[1] * (y + 1 - wcs.crpix[1] + 0.5) * DEG;
  return Math.abs(wcs.cdelt[0] * DEG) * Math.abs(Math.sin(hi) - Math.sin(lo));
}

/**
 * Solid angle (sr) of every pixel of an nx × ny map, row-major (x fastest), as gammapy 1.0's WcsGeom.solid_angle
 * computes it: from the pixel corners in the map's frame, two planar triangles whose angles are differences of
 * position angles (one of them taken at two different corners). For 0.02° pixels this is the exact cell area to
 * 4e-8; for 0.2° pixels at Dec −72 it is 5e-5 below it, and gammapy's background carries that difference.
 */
export function pixelSolidAngles(wcs: Wcs, nx: number, ny: number): Float64Array {
  // Corners (pixel edges −0.5 … n − 0.5), indexed [j][i] as gammapy's get_coord(mode="edges"): lon, sin/cos lat.
  const cx = nx + 1;
  const lon = new Float64Array(cx * (ny + 1));
  const sinLat = new Float64Array(lon.length);
  const cosLat = new Float64Array(lon.length);
  for (let j = 0; j <= ny; j++)
    for (let i = 0; i <= nx; i++) {
      const [l, b] = pixelToSky(wcs, i - 0.5, j - 0.5);
      const c = j * cx + i;
      lon[c] = l * DEG;
      sinLat[c] = Math.sin(b * DEG);
      cosLat[c] = Math.cos(b * DEG);
    }
  // astropy's angular_separation (Vincenty) and position_angle (of q seen from p), radians.
  const separation = (p: number, q: number): number => {
    const dl = (lon[q] as number) - (lon[p] as number);
    const cdl = Math.cos(dl);
    const num1 = (cosLat[q] as number) * Math.sin(dl);
    const num2 =
      (cosLat[p] as number) * (sinLat[q] as number) - (sinLat[p] as number) * (cosLat[q] as number) * cdl;
    const den =
      (sinLat[p] as number) * (sinLat[q] as number) + (cosLat[p] as number) * (cosLat[q] as number) * cdl;
    return Math.atan2(Math.hypot(num1, num2), den);
  };
  const positionAngle = (p: number, q: number): number => {
    const dl = (lon[q] as number) - (lon[p] as number);
    const x =
      (sinLat[q] as number) * (cosLat[p] as number) -
      (cosLat[q] as number) * (sinLat[p] as number) * Math.cos(dl);
    return Math.atan2(Math.sin(dl) * (cosLat[q] as number), x);
  };
  const out = new Float64Array(nx * ny);
  for (let y = 0; y < ny; y++)
    for (let x = 0; x < nx; x++) {
      // gammapy's names, with its coordinate arrays indexed [y][x]: "low_right" is the corner one row up.
      const lowLeft = y * cx + x;
      const lowRight = (y + 1) * cx + x;
      const upLeft = y * cx + x + 1;
      const upRight = (y + 1) * cx + x + 1;
      const low = separation(lowLeft, lowRight);
      const left = separation(lowLeft, upLeft);
      const up = separation(upLeft, upRight);
      const right = separation(lowRight, upRight);
      const angleLowRight = positionAngle(lowRight, upRight) - positionAngle(lowRight, lowLeft);
      const angleUpLeft = positionAngle(upLeft, upRight) - positionAngle(lowLeft, upLeft);
      out[y * nx + x] = Math.abs(
        0.5 * low * right * Math.sin(angleLowRight) + 0.5 * up * left * Math.sin(angleUpLeft),
      );
    }
  return out;
}

/**
 * Pixel solid angles: gammapy's corner formula (the one its background maps carry), and the exact CAR cell area to
 * check it against.
 */
import { DEG } from './frames.js';
import { gridNatives, type Wcs } from './wcs.js';

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
 *
 * Every side of a pixel is a side of its neighbour too, so each side's separation (and the position angle along
 * it, from the same sine and cosine of its longitude difference) is evaluated once and used by both pixels: the
 * same expressions over the same corner values as evaluating each pixel on its own (same bits), with half the
 * trigonometry. The frame rotation of the corners is built once, not per corner.
 */
export function pixelSolidAngles(wcs: Wcs, nx: number, ny: number): Float64Array {
  // Corners (pixel edges −0.5 … n − 0.5), indexed [j][i] as gammapy's get_coord(mode="edges"): lon, sin/cos lat.
  const cx = nx + 1;
  const lon = new Float64Array(cx * (ny + 1));
  const sinLat = new Float64Array(lon.length);
  const cosLat = new Float64Array(lon.length);
  // The corners in the map's frame: pixelToSky's rotation of their native vectors (CAR's trigonometry once per
  // column and row), then frames.lonLat, written out.
  const v = gridNatives(wcs, cx, ny + 1, -0.5, wcs.nativeToFrame);
  for (let j = 0; j <= ny; j++) {
    for (let i = 0; i <= nx; i++) {
      const c = j * cx + i;
      const x = v[3 * c] as number;
      const y = v[3 * c + 1] as number;
      const z = v[3 * c + 2] as number;
      let l = Math.atan2(y, x) / DEG;
      if (l < 0) l += 360;
      if (l >= 360) l -= 360;
      const lat = Math.atan2(z, Math.hypot(x, y)) / DEG;
      lon[c] = l * DEG;
      sinLat[c] = Math.sin(lat * DEG);
      cosLat[c] = Math.cos(lat * DEG);
    }
  }
  // astropy's angular_separation (Vincenty) and position_angle (of q seen from p), radians, for the sides from
  // corners `from + i` to `from + i + step`, i < count; with `back`, the position angle of p seen from q too (its
  // longitude difference is −dl: the same cosine and the negated sine, bit for bit, sin being odd). One loop body, no call per
  // side: a thread's first map runs this before the JIT has compiled anything, and calls then cost more than the
  // arithmetic.
  const sides = (
    from: number,
    step: number,
    count: number,
    sep: Float64Array,
    pa: Float64Array,
    back?: Float64Array,
  ): void => {
    for (let i = 0; i < count; i++) {
      const p = from + i;
      const q = p + step;
      const sp = sinLat[p] as number;
      const cp = cosLat[p] as number;
      const sq = sinLat[q] as number;
      const cq = cosLat[q] as number;
      const dl = (lon[q] as number) - (lon[p] as number);
      const cdl = Math.cos(dl);
      const sdl = Math.sin(dl);
      const num1 = cq * sdl;
      const num2 = cp * sq - sp * cq * cdl;
      sep[i] = Math.atan2(Math.hypot(num1, num2), sp * sq + cp * cq * cdl);
      pa[i] = Math.atan2(sdl * cq, sq * cp - cq * sp * cdl);
      // 0 − sdl, not −sdl: equal longitudes give dl = +0 both ways, and atan2(−0, x < 0) is −π, not π.
      if (back) back[i] = Math.atan2((0 - sdl) * cp, sp * cq - cp * sq * cdl);
    }
  };
  // Sides along x, from corner (i, j) to (i + 1, j): separation and position angle, for the rows j and j + 1.
  let sepX = new Float64Array(nx);
  let paX = new Float64Array(nx);
  let sepX1 = new Float64Array(nx);
  let paX1 = new Float64Array(nx);
  // Sides along y, from corner (i, j) to (i, j + 1): separation and position angle, and the position angle the
  // other way (from (i, j + 1) to (i, j)).
  const sepY = new Float64Array(cx);
  const paY = new Float64Array(cx);
  const paYBack = new Float64Array(cx);
  const out = new Float64Array(nx * ny);
  sides(0, 1, nx, sepX, paX);
  for (let y = 0; y < ny; y++) {
    sides((y + 1) * cx, 1, nx, sepX1, paX1);
    sides(y * cx, cx, cx, sepY, paY, paYBack);
    for (let x = 0; x < nx; x++) {
      // gammapy's names, with its coordinate arrays indexed [y][x]: "low_right" is the corner one row up.
      // low = lowLeft→lowRight (y side at x), left = lowLeft→upLeft (x side of row y), up = upLeft→upRight
      // (y side at x + 1), right = lowRight→upRight (x side of row y + 1).
      const low = sepY[x] as number;
      const left = sepX[x] as number;
      const up = sepY[x + 1] as number;
      const right = sepX1[x] as number;
      const angleLowRight = (paX1[x] as number) - (paYBack[x] as number);
      const angleUpLeft = (paY[x + 1] as number) - (paX[x] as number);
      out[y * nx + x] = Math.abs(
        0.5 * low * right * Math.sin(angleLowRight) + 0.5 * up * left * Math.sin(angleUpLeft),
      );
    }
    [sepX, sepX1] = [sepX1, sepX];
    [paX, paX1] = [paX1, paX];
  }
  return out;
}

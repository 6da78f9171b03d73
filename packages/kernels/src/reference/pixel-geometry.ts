// Reference kernels: per-pixel geometry of a map relative to a pointing (offset and field-of-view coordinates,
// science spec §4.2/§4.3), and nearest-pixel sampling of one map grid on another (§4.5, §4.6).

import {
  columnAngle,
  DEG_TO_RAD,
  nativeX,
  nativeY,
  nativeZ,
  PROJECTION_CAR,
  pixelColumn,
  pixelRow,
  RAD_TO_DEG,
  rint,
  rowAngle,
  WCS_CDELT1,
  WCS_CDELT2,
  WCS_PROJECTION,
  WCS_ROTATION,
  WCS_X0,
  WCS_Y0,
} from './sky.js';

/**
 * Caches, per column x, what the native vector needs from it: CAR → cos φ_x at work[2x], sin φ_x at work[2x + 1];
 * TAN → ξ_x (radians) at work[2x].
 */
function cacheColumns(wcs: Float64Array, nx: number, work: Float64Array): void {
  const car = wcs[WCS_PROJECTION] === PROJECTION_CAR;
  for (let x = 0; x < nx; x++) {
    const a = columnAngle(wcs, x) * DEG_TO_RAD;
    work[2 * x] = car ? Math.cos(a) : a;
    work[2 * x + 1] = car ? Math.sin(a) : 0;
  }
}

/**
 * The native unit vector of pixel column x in a row with native angle b (deg), from the column cache, into
 * work[base..base + 2].
 */
function pixelNative(
  wcs: Float64Array,
  work: Float64Array,
  x: number,
  cb: number,
  sb: number,
  eta: number,
  base: number,
): void {
  if (wcs[WCS_PROJECTION] === PROJECTION_CAR) {
    work[base] = cb * (work[2 * x] as number);
    work[base + 1] = cb * (work[2 * x + 1] as number);
    work[base + 2] = sb;
  } else {
    const xi = work[2 * x] as number;
    const r = 1 / Math.sqrt(1 + xi * xi + eta * eta);
    work[base] = r;
    work[base + 1] = xi * r;
    work[base + 2] = eta * r;
  }
}

/**
 * For every pixel centre p = y·nx + x of the map `wcs` (nx × ny), its position in the field-of-view frame of a
 * pointing: with m = P · Rᵀ · n (n the pixel's native vector, R the map's ICRS → native rotation, P = `pointing`,
 * the 3×3 row-major ICRS → FoV rotation, x towards the pointing, y towards increasing RA, z north):
 * outLon[p] = atan2(m_y, m_x), outLat[p] = asin(m_z), outOffset[p] = atan2(√(m_y² + m_z²), m_x), in degrees.
 * `work` is scratch of at least 2·nx + 3 values (per-column trigonometry). Allocates nothing.
 */
export function pixelFovCoords(
  wcs: Float64Array,
  nx: number,
  ny: number,
  pointing: Float64Array,
  work: Float64Array,
  outOffset: Float64Array,
  outLon: Float64Array,
  outLat: Float64Array,
): void {
  // M = P · Rᵀ, computed entry by entry (Rᵀ[k][j] = R[j][k]).
  let m00 = 0,
    m01 = 0,
    m02 = 0,
    m10 = 0,
    m11 = 0,
    m12 = 0,
    m20 = 0,
    m21 = 0,
    m22 = 0;
  for (let k = 0; k < 3; k++) {
    const r0 = wcs[WCS_ROTATION + k] as number;
    const r1 = wcs[WCS_ROTATION + 3 + k] as number;
    const r2 = wcs[WCS_ROTATION + 6 + k] as number;
    const p0 = pointing[k] as number;
    const p1 = pointing[3 + k] as number;
    const p2 = pointing[6 + k] as number;
    m00 += p0 * r0;
    m01 += p0 * r1;
    m02 += p0 * r2;
    m10 += p1 * r0;
    m11 += p1 * r1;
    m12 += p1 * r2;
    m20 += p2 * r0;
    m21 += p2 * r1;
    m22 += p2 * r2;
  }
  cacheColumns(wcs, nx, work);
  const at = 2 * nx;
  for (let y = 0; y < ny; y++) {
    const b = rowAngle(wcs, y) * DEG_TO_RAD;
    const cb = Math.cos(b);
    const sb = Math.sin(b);
    for (let x = 0; x < nx; x++) {
      pixelNative(wcs, work, x, cb, sb, b, at);
      const n0 = work[at] as number;
      const n1 = work[at + 1] as number;
      const n2 = work[at + 2] as number;
      const v0 = m00 * n0 + m01 * n1 + m02 * n2;
      const v1 = m10 * n0 + m11 * n1 + m12 * n2;
      const v2 = m20 * n0 + m21 * n1 + m22 * n2;
      const p = y * nx + x;
      outLon[p] = Math.atan2(v1, v0) * RAD_TO_DEG;
      outLat[p] = Math.asin(Math.min(1, Math.max(-1, v2))) * RAD_TO_DEG;
      outOffset[p] = Math.atan2(Math.sqrt(v1 * v1 + v2 * v2), v0) * RAD_TO_DEG;
    }
  }
}

/**
 * Nearest-pixel sampling: for every pixel centre of map A (`wcsA`, nxA × nyA), the value of map B (`wcsB`,
 * nxB × nyB, `planes` planes of `valuesB`, plane-major) at the B pixel (rint(x_B), rint(y_B)) containing it;
 * `fill` where that pixel is outside B or off B's projection. out has `planes` planes of nxA·nyA values.
 * When A and B share projection and rotation, x_B = x0_B + CDELT1_A·(x − x0_A)/CDELT1_B exactly (same for y).
 * `work` is scratch of at least 2·nxA + 3 values (per-column trigonometry). Allocates nothing.
 */
export function sampleNearest(
  wcsA: Float64Array,
  nxA: number,
  nyA: number,
  wcsB: Float64Array,
  nxB: number,
  nyB: number,
  valuesB: Uint8Array,
  planes: number,
  fill: number,
  work: Float64Array,
  out: Uint8Array,
): void {
  const npixA = nxA * nyA;
  const npixB = nxB * nyB;
  // Grids sharing projection and rotation (cutouts, IRF grids of one map) have the same native angles: map the
  // pixel linearly, so that pixels on a common boundary round by exact arithmetic, not by rotation noise.
  let shared = wcsA[WCS_PROJECTION] === wcsB[WCS_PROJECTION];
  for (let i = 0; i < 9 && shared; i++) shared = wcsA[WCS_ROTATION + i] === wcsB[WCS_ROTATION + i];
  if (shared) {
    for (let y = 0; y < nyA; y++) {
      const iy = rint((wcsB[WCS_Y0] as number) + rowAngle(wcsA, y) / (wcsB[WCS_CDELT2] as number));
      for (let x = 0; x < nxA; x++) {
        const ix = rint((wcsB[WCS_X0] as number) + columnAngle(wcsA, x) / (wcsB[WCS_CDELT1] as number));
        const inside = ix >= 0 && ix < nxB && iy >= 0 && iy < nyB;
        const p = y * nxA + x;
        const q = inside ? iy * nxB + ix : 0;
        for (let k = 0; k < planes; k++)
          out[k * npixA + p] = inside ? (valuesB[k * npixB + q] as number) : fill;
      }
    }
    return;
  }
  cacheColumns(wcsA, nxA, work);
  const at = 2 * nxA;
  for (let y = 0; y < nyA; y++) {
    const b = rowAngle(wcsA, y) * DEG_TO_RAD;
    const cb = Math.cos(b);
    const sb = Math.sin(b);
    for (let x = 0; x < nxA; x++) {
      pixelNative(wcsA, work, x, cb, sb, b, at);
      const n0 = work[at] as number;
      const n1 = work[at + 1] as number;
      const n2 = work[at + 2] as number;
      // native A → ICRS (Rᵀ_A n) → native B (R_B c)
      let c0 = 0,
        c1 = 0,
        c2 = 0;
      c0 =
        (wcsA[WCS_ROTATION] as number) * n0 +
        (wcsA[WCS_ROTATION + 3] as number) * n1 +
        (wcsA[WCS_ROTATION + 6] as number) * n2;
      c1 =
        (wcsA[WCS_ROTATION + 1] as number) * n0 +
        (wcsA[WCS_ROTATION + 4] as number) * n1 +
        (wcsA[WCS_ROTATION + 7] as number) * n2;
      c2 =
        (wcsA[WCS_ROTATION + 2] as number) * n0 +
        (wcsA[WCS_ROTATION + 5] as number) * n1 +
        (wcsA[WCS_ROTATION + 8] as number) * n2;
      const m0 = nativeX(wcsB, c0, c1, c2);
      const ix = rint(pixelColumn(wcsB, m0, nativeY(wcsB, c0, c1, c2)));
      const iy = rint(pixelRow(wcsB, m0, nativeZ(wcsB, c0, c1, c2)));
      const inside = ix >= 0 && ix < nxB && iy >= 0 && iy < nyB;
      const p = y * nxA + x;
      const q = inside ? iy * nxB + ix : 0;
      for (let k = 0; k < planes; k++)
        out[k * npixA + p] = inside ? (valuesB[k * npixB + q] as number) : fill;
    }
  }
}

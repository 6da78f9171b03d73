// Projection parameters shared by every kernel that maps sky positions to pixels, and the scalar helpers that
// read them. All backends take the same Float64Array, so one signature serves TypeScript, WASM and Rust.
//
// Layout of a WCS parameter block (WCS_PARAMS_LENGTH = 14 float64 values):
//   [0]      projection code: 0 = CAR (plate carrée, native φ = atan2(n_y, n_x), θ = asin n_z),
//                             1 = TAN (gnomonic, ξ = n_y/n_x, η = n_z/n_x; n_x ≤ 0 is off the projection)
//   [1], [2] x0 = CRPIX1 − 1, y0 = CRPIX2 − 1 (0-based pixel of the reference point)
//   [3], [4] CDELT1, CDELT2 in degrees
//   [5..13]  R, 3×3 row-major: ICRS unit vector → native unit vector (x towards the reference point, y towards
//            increasing longitude, z towards north). R includes the ICRS → map-frame rotation.
// Pixel centres are at integer 0-based coordinates: x = x0 + a/CDELT1, y = y0 + b/CDELT2, with (a, b) the
// native angles in degrees.

export const WCS_PROJECTION = 0;
export const WCS_X0 = 1;
export const WCS_Y0 = 2;
export const WCS_CDELT1 = 3;
export const WCS_CDELT2 = 4;
export const WCS_ROTATION = 5;
export const WCS_PARAMS_LENGTH = 14;
export const PROJECTION_CAR = 0;
export const PROJECTION_TAN = 1;

const RAD_TO_DEG = 180 / Math.PI;
const DEG_TO_RAD = Math.PI / 180;

/** Round half to even (numpy.rint); NaN stays NaN. Exact for |v| < 2⁵². */
export function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Native x component (R row 0) of the ICRS unit vector (cx, cy, cz). */
export function nativeX(wcs: Float64Array, cx: number, cy: number, cz: number): number {
  return (
    (wcs[WCS_ROTATION] as number) * cx +
    (wcs[WCS_ROTATION + 1] as number) * cy +
    (wcs[WCS_ROTATION + 2] as number) * cz
  );
}
export function nativeY(wcs: Float64Array, cx: number, cy: number, cz: number): number {
  return (
    (wcs[WCS_ROTATION + 3] as number) * cx +
    (wcs[WCS_ROTATION + 4] as number) * cy +
    (wcs[WCS_ROTATION + 5] as number) * cz
  );
}
export function nativeZ(wcs: Float64Array, cx: number, cy: number, cz: number): number {
  return (
    (wcs[WCS_ROTATION + 6] as number) * cx +
    (wcs[WCS_ROTATION + 7] as number) * cy +
    (wcs[WCS_ROTATION + 8] as number) * cz
  );
}

/** Fractional 0-based pixel column of the native vector (nx, ny, nz); NaN when off the projection. */
export function pixelColumn(wcs: Float64Array, nx: number, ny: number): number {
  const a =
    wcs[WCS_PROJECTION] === PROJECTION_CAR
      ? Math.atan2(ny, nx) * RAD_TO_DEG
      : nx > 0
        ? (ny / nx) * RAD_TO_DEG
        : Number.NaN;
  return (wcs[WCS_X0] as number) + a / (wcs[WCS_CDELT1] as number);
}

/** Fractional 0-based pixel row of the native vector (nx, ny, nz); NaN when off the projection. */
export function pixelRow(wcs: Float64Array, nx: number, nz: number): number {
  let b: number;
  if (wcs[WCS_PROJECTION] === PROJECTION_CAR) b = Math.asin(Math.min(1, Math.max(-1, nz))) * RAD_TO_DEG;
  else b = nx > 0 ? (nz / nx) * RAD_TO_DEG : Number.NaN;
  return (wcs[WCS_Y0] as number) + b / (wcs[WCS_CDELT2] as number);
}

/** Native angle a (deg) of pixel column x: φ for CAR, ξ for TAN. */
export function columnAngle(wcs: Float64Array, x: number): number {
  return (wcs[WCS_CDELT1] as number) * (x - (wcs[WCS_X0] as number));
}

/** Native angle b (deg) of pixel row y: θ for CAR, η for TAN. */
export function rowAngle(wcs: Float64Array, y: number): number {
  return (wcs[WCS_CDELT2] as number) * (y - (wcs[WCS_Y0] as number));
}

export { DEG_TO_RAD, RAD_TO_DEG };

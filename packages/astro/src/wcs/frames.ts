/**
 * Celestial frames of a WCS and the rotations between them. Every position is handled as a unit vector;
 * a frame is described by the matrix that turns an ICRS unit vector into that frame's unit vector.
 */

/** The sky frames a map can be drawn in. */
export type SkyFrame = 'icrs' | 'galactic';

export const DEG = Math.PI / 180;

/** A 3×3 matrix, row-major. */
export type Mat3 = Float64Array;

/**
 * ICRS → Galactic, as astropy composes it (ICRS → FK5 J2000 frame bias, then FK5 → Galactic, IAU 1958
 * definition). The inverse is the transpose.
 */
const ICRS_TO_GALACTIC: readonly number[] = [
  -0.05487565771259158, -0.873437051955616, -0.4838350736167153, 0.49410943719272676, -0.44482972122329517,
  0.7469821839866675, -0.8676661375596576, -0.19807633727300053, 0.4559838136873016,
];

const IDENTITY: readonly number[] = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** The matrix taking ICRS unit vectors to unit vectors of `frame`. */
export function icrsToFrameMatrix(frame: SkyFrame): Mat3 {
  return Float64Array.from(frame === 'galactic' ? ICRS_TO_GALACTIC : IDENTITY);
}

/** a · b for 3×3 matrices. */
export function matMul(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[i * 3 + j] =
        (a[i * 3] as number) * (b[j] as number) +
        (a[i * 3 + 1] as number) * (b[3 + j] as number) +
        (a[i * 3 + 2] as number) * (b[6 + j] as number);
    }
  }
  return out;
}

/** The transpose (= inverse for a rotation). */
export function transpose(a: Mat3): Mat3 {
  return Float64Array.from([a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]] as number[]);
}

/** Unit vector of (lon, lat) in degrees. */
export function unitVector(lonDeg: number, latDeg: number): [number, number, number] {
  const cl = Math.cos(latDeg * DEG);
  return [cl * Math.cos(lonDeg * DEG), cl * Math.sin(lonDeg * DEG), Math.sin(latDeg * DEG)];
}

/** (lon in [0, 360), lat) in degrees of a vector (need not be unit length). */
export function lonLat(x: number, y: number, z: number): [number, number] {
  let lon = Math.atan2(y, x) / DEG;
  if (lon < 0) lon += 360;
  if (lon >= 360) lon -= 360;
  return [lon, Math.atan2(z, Math.hypot(x, y)) / DEG];
}

/** m · v. */
export function apply(m: Mat3, v: readonly [number, number, number]): [number, number, number] {
  return [
    (m[0] as number) * v[0] + (m[1] as number) * v[1] + (m[2] as number) * v[2],
    (m[3] as number) * v[0] + (m[4] as number) * v[1] + (m[5] as number) * v[2],
    (m[6] as number) * v[0] + (m[7] as number) * v[1] + (m[8] as number) * v[2],
  ];
}

/**
 * The "offset frame" rotation of science spec §3.1 step 4: frame unit vector → native vector whose x axis
 * points at (lon0, lat0), y towards increasing longitude (east) and z towards the frame's north.
 */
export function offsetFrameMatrix(lon0Deg: number, lat0Deg: number): Mat3 {
  const cl = Math.cos(lon0Deg * DEG);
  const sl = Math.sin(lon0Deg * DEG);
  const cb = Math.cos(lat0Deg * DEG);
  const sb = Math.sin(lat0Deg * DEG);
  return Float64Array.from([cb * cl, cb * sl, sb, -sl, cl, 0, -sb * cl, -sb * sl, cb]);
}

/** Converts (lon, lat) in degrees between frames. */
export function convertFrame(from: SkyFrame, to: SkyFrame, lon: number, lat: number): [number, number] {
  if (from === to) return [lon, lat];
  const v = unitVector(lon, lat);
  const m = from === 'icrs' ? icrsToFrameMatrix(to) : transpose(icrsToFrameMatrix(from));
  const w = apply(m, v);
  return lonLat(w[0], w[1], w[2]);
}

/**
 * Angular separation in degrees (Vincenty's formula: stable at all separations, as astropy computes it).
 */
export function angularSeparation(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dl = (lon2 - lon1) * DEG;
  const s1 = Math.sin(lat1 * DEG);
  const c1 = Math.cos(lat1 * DEG);
  const s2 = Math.sin(lat2 * DEG);
  const c2 = Math.cos(lat2 * DEG);
  const num1 = c2 * Math.sin(dl);
  const num2 = c1 * s2 - s1 * c2 * Math.cos(dl);
  const den = s1 * s2 + c1 * c2 * Math.cos(dl);
  return Math.atan2(Math.hypot(num1, num2), den) / DEG;
}

/**
 * Small sky-coordinate helpers for observation selection: ICRS ↔ Galactic rotation and angular separation.
 */

/** A sky frame supported by the selection. */
export type SkyFrame = 'icrs' | 'galactic';

/**
 * ICRS → Galactic rotation matrix as astropy 5.2 composes it (ICRS → FK5 J2000 frame bias, then FK5 →
 * Galactic); the inverse is its transpose.
 */
const ICRS_TO_GAL: readonly number[] = [
  -0.05487565771259158, -0.873437051955616, -0.4838350736167153, 0.49410943719272676, -0.44482972122329517,
  0.7469821839866675, -0.8676661375596576, -0.19807633727300053, 0.4559838136873016,
];

const DEG = Math.PI / 180;

function rotate(lon: number, lat: number, m: readonly number[], transpose: boolean): [number, number] {
  const cl = Math.cos(lat * DEG);
  const v = [cl * Math.cos(lon * DEG), cl * Math.sin(lon * DEG), Math.sin(lat * DEG)];
  const at = (i: number, j: number) => (transpose ? m[j * 3 + i] : m[i * 3 + j]) as number;
  const r = [0, 1, 2].map(
    (i) => at(i, 0) * (v[0] as number) + at(i, 1) * (v[1] as number) + at(i, 2) * (v[2] as number),
  );
  const [x, y, z] = r as [number, number, number];
  let outLon = Math.atan2(y, x) / DEG;
  if (outLon < 0) outLon += 360;
  return [outLon, Math.atan2(z, Math.hypot(x, y)) / DEG];
}

/** ICRS (ra, dec) in degrees → Galactic (l, b) in degrees. */
export function icrsToGalactic(ra: number, dec: number): [number, number] {
  return rotate(ra, dec, ICRS_TO_GAL, false);
}

/** Galactic (l, b) in degrees → ICRS (ra, dec) in degrees. */
export function galacticToIcrs(l: number, b: number): [number, number] {
  return rotate(l, b, ICRS_TO_GAL, true);
}

/** A position in `frame` converted to ICRS. */
export function toIcrs(frame: SkyFrame, lon: number, lat: number): [number, number] {
  return frame === 'icrs' ? [lon, lat] : galacticToIcrs(lon, lat);
}

/** Angular separation in degrees (Vincenty formula, stable for all separations, as astropy computes it). */
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

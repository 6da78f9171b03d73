/**
 * Field-of-view coordinates aligned with the horizon (alt/az), for background models with FOVALIGN = ALTAZ: gammapy
 * 1.0 transforms the map's pixels and the pointing to astropy's AltAz frame at the run's mid time and site, then takes
 * each pixel's offset from the pointing there (sky_to_fov: longitude sign flipped). Here: the annual aberration of
 * each direction (first order in v/c, low-precision solar theory), then one 3×3 matrix to the FoV frame: frame bias
 * ignored, IAU 1976 precession, the four largest IAU 1980 nutation terms, Greenwich apparent sidereal time (IAU 1982
 * GMST + equation of the equinoxes) from UT1 (dl3/ut1.ts gives it from UTC). No refraction (astropy's default
 * pressure is 0), diurnal aberration or polar motion (< 0.5″).
 */
import { apply, DEG, lonLat, type Mat3, matMul, offsetFrameMatrix, unitVector } from './frames.js';

/** Where a telescope is: geodetic longitude (east positive) and latitude, degrees. */
export interface Site {
  lon: number;
  lat: number;
}

/** A moment as MJD in TT (precession, nutation) and in UT1 (the Earth's rotation; UTC where UT1 is not known). */
export interface Epoch {
  tt: number;
  ut1: number;
}

const ARCSEC = DEG / 3600;

/** Rotation of the coordinate axes about x, y or z by `t` radians (the IAU's R1, R2, R3). */
function r1(t: number): Mat3 {
  const c = Math.cos(t);
  const s = Math.sin(t);
  return Float64Array.from([1, 0, 0, 0, c, s, 0, -s, c]);
}
function r2(t: number): Mat3 {
  const c = Math.cos(t);
  const s = Math.sin(t);
  return Float64Array.from([c, 0, -s, 0, 1, 0, s, 0, c]);
}
function r3(t: number): Mat3 {
  const c = Math.cos(t);
  const s = Math.sin(t);
  return Float64Array.from([c, s, 0, -s, c, 0, 0, 0, 1]);
}

/** Julian centuries (TT) since J2000.0. */
const centuries = (mjdTt: number) => (mjdTt - 51544.5) / 36525;

/** IAU 1976 precession (Lieske 1977): mean equator and equinox of J2000.0 → of date. */
function precession(t: number): Mat3 {
  const zeta = (2306.2181 * t + 0.30188 * t * t + 0.017998 * t ** 3) * ARCSEC;
  const z = (2306.2181 * t + 1.09468 * t * t + 0.018203 * t ** 3) * ARCSEC;
  const theta = (2004.3109 * t - 0.42665 * t * t - 0.041833 * t ** 3) * ARCSEC;
  return matMul(r3(-z), matMul(r2(theta), r3(-zeta)));
}

/** Mean obliquity of the ecliptic (IAU 1980), radians. */
const obliquity = (t: number) => (84381.448 - 46.815 * t - 0.00059 * t * t + 0.001813 * t ** 3) * ARCSEC;

/** The largest terms of the IAU 1980 nutation (±0.3″): Δψ, Δε in radians. */
function nutation(t: number): { dpsi: number; deps: number } {
  const node = (125.04452 - 1934.136261 * t) * DEG;
  const sun = (280.4665 + 36000.7698 * t) * DEG;
  const moon = (218.3165 + 481267.8813 * t) * DEG;
  return {
    dpsi:
      (-17.2 * Math.sin(node) -
        1.32 * Math.sin(2 * sun) -
        0.23 * Math.sin(2 * moon) +
        0.21 * Math.sin(2 * node)) *
      ARCSEC,
    deps:
      (9.2 * Math.cos(node) +
        0.57 * Math.cos(2 * sun) +
        0.1 * Math.cos(2 * moon) -
        0.09 * Math.cos(2 * node)) *
      ARCSEC,
  };
}

/** Greenwich mean sidereal time (IAU 1982, from UT1 as MJD), radians. */
function gmst(mjdUt1: number): number {
  const t = (mjdUt1 - 51544.5) / 36525;
  const seconds = 67310.54841 + (876600 * 3600 + 8640184.812866) * t + 0.093104 * t * t - 6.2e-6 * t ** 3;
  return ((((seconds / 240) % 360) + 360) % 360) * DEG;
}

/**
 * The Earth's velocity (ICRS axes, in units of c) at `t`: from the Sun's geometric longitude (low-precision solar
 * theory, 0.01°), for the annual aberration.
 */
function earthVelocity(t: number): [number, number, number] {
  const anomaly = (357.52911 + 35999.05029 * t) * DEG;
  const sunLon =
    (280.4665 + 36000.7698 * t) * DEG +
    (1.914602 * Math.sin(anomaly) + 0.019993 * Math.sin(2 * anomaly)) * DEG;
  const k = 20.49552 * ARCSEC;
  const eps = obliquity(0);
  return [k * Math.sin(sunLon), -k * Math.cos(sunLon) * Math.cos(eps), -k * Math.cos(sunLon) * Math.sin(eps)];
}

/** Direction `u` (unit vector) aberrated by velocity `v` (units of c), to first order in v. */
function aberrated(
  u: readonly [number, number, number],
  v: readonly [number, number, number],
): [number, number, number] {
  const d = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const w: [number, number, number] = [
    u[0] + v[0] - d * u[0],
    u[1] + v[1] - d * u[1],
    u[2] + v[2] - d * u[2],
  ];
  const n = Math.hypot(...w);
  return [w[0] / n, w[1] / n, w[2] / n];
}

/**
 * Mean-of-J2000 (ICRS) unit vectors, aberrated, → horizontal (north, east, up) at `epoch` and `site`. The horizontal
 * triad is left-handed: this matrix has determinant −1.
 */
function toHorizontal(epoch: Epoch, site: Site): Mat3 {
  const t = centuries(epoch.tt);
  const eps = obliquity(t);
  const { dpsi, deps } = nutation(t);
  const nut = matMul(r1(-(eps + deps)), matMul(r3(-dpsi), r1(eps)));
  const last = gmst(epoch.ut1) + dpsi * Math.cos(eps) + site.lon * DEG;
  const phi = site.lat * DEG;
  const [sp, cp] = [Math.sin(phi), Math.cos(phi)];
  // (H, δ) frame → (north, east, up): north = −sin φ·x + cos φ·z, east = y, up = cos φ·x + sin φ·z.
  const horizon = Float64Array.from([-sp, 0, cp, 0, 1, 0, cp, 0, sp]);
  return matMul(horizon, matMul(r3(last), matMul(nut, precession(t))));
}

/** Azimuth (from north through east) and altitude of (ra, dec), degrees, at `epoch` and `site` (gammapy's pointing.altaz). */
export function altAz(ra: number, dec: number, epoch: Epoch, site: Site): [number, number] {
  return lonLat(
    ...apply(toHorizontal(epoch, site), aberrated(unitVector(ra, dec), earthVelocity(centuries(epoch.tt)))),
  );
}

/**
 * FoV coordinates (degrees) aligned with alt/az of ICRS directions (ra[i], dec[i]) about a pointing (ra0, dec0):
 * gammapy's sky_to_fov of their (az, alt) about the pointing's, longitude negated, as astropy's AltAz gives them.
 * The aberration is applied per direction (across a 5° field it changes by ~1″).
 */
export function altAzFovCoords(
  ra: Float64Array,
  dec: Float64Array,
  pointing: { ra: number; dec: number },
  epoch: Epoch,
  site: Site,
): { lon: Float64Array; lat: Float64Array } {
  const v = earthVelocity(centuries(epoch.tt));
  const horizon = toHorizontal(epoch, site);
  const [az, alt] = lonLat(...apply(horizon, aberrated(unitVector(pointing.ra, pointing.dec), v)));
  const flip = Float64Array.from([1, 0, 0, 0, -1, 0, 0, 0, 1]);
  const m = matMul(flip, matMul(offsetFrameMatrix(az, alt), horizon));
  const lon = new Float64Array(ra.length);
  const lat = new Float64Array(ra.length);
  for (let i = 0; i < ra.length; i++) {
    const [x, y, z] = apply(m, aberrated(unitVector(ra[i] as number, dec[i] as number), v));
    lon[i] = Math.atan2(y, x) / DEG;
    lat[i] = Math.atan2(z, Math.hypot(x, y)) / DEG;
  }
  return { lon, lat };
}

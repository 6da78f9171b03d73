/**
 * Pixel ↔ sky as wcslib 7 computes it, operation for operation, for the CAR and TAN projections with a unity PC
 * matrix and the default LONPOLE/LATPOLE (every grid gammapy creates): astropy's `all_pix2world`/`wcs_world2pix`
 * with origin 0 (pixel + 1 in, − 1 out), `linp2x`/`linx2p`'s simple case, `carx2s`/`cars2x`, `tanx2s`/`tans2x`,
 * `sphx2s`/`sphs2x` with the Euler angles of `celset`, and wcstrig's degree functions (exact at multiples of 90°;
 * `D2R` and `R2D` are unparenthesised macros: `x*D2R` is `(x*PI)/180`).
 *
 * pipe's own WCS (wcs.ts, rotation matrices) agrees with it to ~1e-13 pixel, which is all a map needs. This one
 * exists for the few decisions gammapy leaves to that last bit: a grid centre on an exact pixel edge, which
 * gammapy's `center_skydir` round trip sends to one side or the other by its rounding noise (edisp-centre.ts).
 * wcslib calls glibc's libm, whose results are the correctly rounded ones for all but ~0.1 % of arguments: this
 * module uses correctly rounded functions (geom/rounded-math.ts; node's own differ from glibc's for 3–18 %), so a
 * decision can still, rarely, differ.
 */
import { acosR, asinR, atan2R, cosR, hypotR, sinR } from '../geom/rounded-math.js';
import type { WcsSpec } from './wcs.js';

const PI = Math.PI;
const WCSTRIG_TOL = 1e-10;
/** sph.c's tolerance for its rearranged longitude formula. */
const SPH_TOL = 1e-5;

const d2r = (angle: number) => (angle * PI) / 180.0;
const r2d = (radians: number) => (radians * 180.0) / PI;

/** C's fmod (JavaScript's % on doubles is the same operation). */
const fmod = (a: number, b: number) => a % b;

function sincosd(angle: number): [number, number] {
  if (fmod(angle, 90.0) === 0.0) {
    const i = Math.abs(Math.floor(angle / 90.0 + 0.5)) % 4;
    if (i === 0) return [0.0, 1.0];
    if (i === 1) return [angle > 0.0 ? 1.0 : -1.0, 0.0];
    if (i === 2) return [0.0, -1.0];
    return [angle > 0.0 ? -1.0 : 1.0, 0.0];
  }
  return [sinR(d2r(angle)), cosR(d2r(angle))];
}

const sind = (angle: number) => sincosd(angle)[0];
const cosd = (angle: number) => sincosd(angle)[1];

function atan2d(y: number, x: number): number {
  if (y === 0.0) {
    if (x >= 0.0) return 0.0;
    if (x < 0.0) return 180.0;
  } else if (x === 0.0) {
    if (y > 0.0) return 90.0;
    if (y < 0.0) return -90.0;
  }
  return r2d(atan2R(y, x));
}

function asind(v: number): number {
  if (v <= -1.0) {
    if (v + 1.0 > -WCSTRIG_TOL) return -90.0;
  } else if (v === 0.0) return 0.0;
  else if (v >= 1.0) {
    if (v - 1.0 < WCSTRIG_TOL) return 90.0;
  }
  return r2d(asinR(v));
}

function acosd(v: number): number {
  if (v >= 1.0) {
    if (v - 1.0 < WCSTRIG_TOL) return 0.0;
  } else if (v === 0.0) return 90.0;
  else if (v <= -1.0) {
    if (v + 1.0 > -WCSTRIG_TOL) return 180.0;
  }
  return r2d(acosR(v));
}

/** celset's Euler angles [lngp, 90 − latp, phip, cos, sin] for the default LONPOLE and LATPOLE (+90). */
export function eulerAngles(lng0: number, lat0: number, theta0: number): number[] {
  const phi0 = 0.0;
  const tol = 1.0e-10;
  let phip = (lat0 < theta0 ? 180.0 : 0.0) + phi0;
  if (phip < -180.0) phip += 360.0;
  else if (phip > 180.0) phip -= 360.0;
  let lngp: number;
  let latp = 90.0;
  if (theta0 === 90.0) {
    lngp = lng0;
    latp = lat0;
  } else {
    const [slat0, clat0] = sincosd(lat0);
    const [sthe0, cthe0] = sincosd(theta0);
    let sphip: number;
    let u: number;
    let v: number;
    if (phip === phi0) {
      sphip = 0.0;
      u = theta0;
      v = 90.0 - lat0;
    } else {
      const [s, c] = sincosd(phip - phi0);
      sphip = s;
      const x = cthe0 * c;
      const y = sthe0;
      const z = Math.sqrt(x * x + y * y);
      let slz = slat0 / z;
      if (Math.abs(slz) > 1.0 && Math.abs(slz) - 1.0 < tol) slz = slz > 0.0 ? 1.0 : -1.0;
      u = atan2d(y, x);
      v = acosd(slz);
    }
    let latp1 = u + v;
    if (latp1 > 180.0) latp1 -= 360.0;
    else if (latp1 < -180.0) latp1 += 360.0;
    let latp2 = u - v;
    if (latp2 > 180.0) latp2 -= 360.0;
    else if (latp2 < -180.0) latp2 += 360.0;
    if (Math.abs(latp - latp1) < Math.abs(latp - latp2)) latp = Math.abs(latp1) < 90.0 + tol ? latp1 : latp2;
    else latp = Math.abs(latp2) < 90.0 + tol ? latp2 : latp1;
    if (Math.abs(latp) < 90.0 + tol) {
      if (latp > 90.0) latp = 90.0;
      else if (latp < -90.0) latp = -90.0;
    }
    const z = cosd(latp) * clat0;
    if (Math.abs(z) < tol) {
      if (Math.abs(clat0) < tol) lngp = lng0;
      else if (latp > 0.0) lngp = lng0 + phip - phi0 - 180.0;
      else lngp = lng0 - phip + phi0;
    } else {
      const x = (sthe0 - sind(latp) * slat0) / z;
      const y = (sphip * cthe0) / clat0;
      lngp = lng0 - atan2d(y, x);
    }
    if (lng0 >= 0.0) {
      if (lngp < 0.0) lngp += 360.0;
      else if (lngp > 360.0) lngp -= 360.0;
    } else if (lngp > 0.0) lngp -= 360.0;
    else if (lngp < -360.0) lngp += 360.0;
  }
  const e1 = 90.0 - latp;
  const [s, c] = sincosd(e1);
  return [lngp, e1, phip, c, s];
}

/** sphx2s for one point (the general rotation; the special cases need eul[4] = 0, a reference point at a pole). */
function sphx2s(eul: number[], phi: number, theta: number): [number, number] {
  const [e0, e1, e2, e3, e4] = eul as [number, number, number, number, number];
  if (e4 === 0.0) {
    let lng: number;
    let lat: number;
    if (e1 === 0.0) {
      lng = phi + fmod(e0 + 180.0 - e2, 360.0);
      lat = theta;
    } else {
      lng = fmod(e0 + e2, 360.0) - phi;
      lat = -theta;
    }
    return [wrapLng(lng, e0), lat];
  }
  const dphi = phi - e2;
  const [sinthe, costhe] = sincosd(theta);
  const costhe3 = costhe * e3;
  const costhe4 = costhe * e4;
  const sinthe3 = sinthe * e3;
  const sinthe4 = sinthe * e4;
  const [sinphi, cosphi] = sincosd(dphi);
  let x = sinthe4 - costhe3 * cosphi;
  if (Math.abs(x) < SPH_TOL) x = -cosd(theta + e1) + costhe3 * (1.0 - cosphi);
  const y = -costhe * sinphi;
  let dlng: number;
  if (x !== 0.0 || y !== 0.0) dlng = atan2d(y, x);
  else dlng = e1 < 90.0 ? dphi + 180.0 : -dphi;
  const lng = wrapLng(e0 + dlng, e0);
  let lat: number;
  if (fmod(dphi, 180.0) === 0.0) {
    lat = theta + cosphi * e1;
    if (lat > 90.0) lat = 180.0 - lat;
    if (lat < -90.0) lat = -180.0 - lat;
  } else {
    const z = sinthe3 + costhe4 * cosphi;
    lat = Math.abs(z) > 0.99 ? Math.sign(z) * Math.abs(acosd(Math.sqrt(x * x + y * y))) : asind(z);
  }
  return [lng, lat];
}

/** sphx2s's longitude normalisation: into [0, 360] when the pole's longitude e0 ≥ 0, else [−360, 0]. */
function wrapLng(lng: number, e0: number): number {
  let l = lng;
  if (e0 >= 0.0) {
    if (l < 0.0) l += 360.0;
  } else if (l > 0.0) l -= 360.0;
  if (l > 360.0) l -= 360.0;
  else if (l < -360.0) l += 360.0;
  return l;
}

/** sphs2x for one point. */
function sphs2x(eul: number[], lng: number, lat: number): [number, number] {
  const [e0, e1, e2, e3, e4] = eul as [number, number, number, number, number];
  const normal = (p: number) => (p > 180.0 ? p - 360.0 : p < -180.0 ? p + 360.0 : p);
  if (e4 === 0.0) {
    if (e1 === 0.0) return [normal(fmod(lng + fmod(e2 - 180.0 - e0, 360.0), 360.0)), lat];
    return [normal(fmod(fmod(e2 + e0, 360.0) - lng, 360.0)), -lat];
  }
  const dlng = lng - e0;
  const [sinlat, coslat] = sincosd(lat);
  const coslat3 = coslat * e3;
  const coslat4 = coslat * e4;
  const sinlat3 = sinlat * e3;
  const sinlat4 = sinlat * e4;
  const [sinlng, coslng] = sincosd(dlng);
  let x = sinlat4 - coslat3 * coslng;
  if (Math.abs(x) < SPH_TOL) x = -cosd(lat + e1) + coslat3 * (1.0 - coslng);
  const y = -coslat * sinlng;
  let dphi: number;
  if (x !== 0.0 || y !== 0.0) dphi = atan2d(y, x);
  else dphi = e1 < 90.0 ? dlng - 180.0 : -dlng;
  const phi = normal(fmod(e2 + dphi, 360.0));
  let theta: number;
  if (fmod(dlng, 180.0) === 0.0) {
    theta = lat + coslng * e1;
    if (theta > 90.0) theta = 180.0 - theta;
    if (theta < -90.0) theta = -180.0 - theta;
  } else {
    const z = sinlat3 + coslat4 * coslng;
    theta = Math.abs(z) > 0.99 ? Math.sign(z) * Math.abs(acosd(Math.sqrt(x * x + y * y))) : asind(z);
  }
  return [phi, theta];
}

/** The projections this module reproduces. */
export function wcslibExactSupports(wcs: Pick<WcsSpec, 'projection' | 'ceaLambda' | 'sinSlant'>): boolean {
  return wcs.projection === 'CAR' || wcs.projection === 'TAN';
}

export interface ExactWcs {
  pixelToSky(x: number, y: number): [number, number];
  skyToPixel(lon: number, lat: number): [number, number];
}

/** wcslib's transformations of a CAR or TAN grid (wcslibExactSupports), 0-based pixels as astropy's origin 0. */
export function wcslibExact(wcs: Pick<WcsSpec, 'projection' | 'crval' | 'crpix' | 'cdelt'>): ExactWcs {
  const car = wcs.projection === 'CAR';
  if (!car && wcs.projection !== 'TAN') throw new Error(`wcslibExact: ${wcs.projection} is not reproduced`);
  const eul = eulerAngles(wcs.crval[0], wcs.crval[1], car ? 0.0 : 90.0);
  const r0 = 180.0 / PI;
  return {
    pixelToSky(px, py) {
      const x = wcs.cdelt[0] * (px + 1.0 - wcs.crpix[0]);
      const y = wcs.cdelt[1] * (py + 1.0 - wcs.crpix[1]);
      let phi: number;
      let theta: number;
      if (car) {
        phi = 1.0 * (x + 0.0);
        theta = 1.0 * (y + 0.0);
      } else {
        const r = Math.sqrt(x * x + y * y);
        phi = r === 0.0 ? 0.0 : atan2d(x, -y);
        theta = atan2d(r0, r);
      }
      return sphx2s(eul, phi, theta);
    },
    skyToPixel(lon, lat) {
      const [phi, theta] = sphs2x(eul, lon, lat);
      let x: number;
      let y: number;
      if (car) {
        x = 1.0 * phi - 0.0;
        y = 1.0 * theta - 0.0;
      } else {
        const [sinphi, cosphi] = sincosd(phi);
        const s = sind(theta);
        const r = s === 0.0 ? 0.0 : (r0 * cosd(theta)) / s;
        x = r * sinphi - 0.0;
        y = -r * cosphi - 0.0;
      }
      return [x / wcs.cdelt[0] + wcs.crpix[0] - 1.0, y / wcs.cdelt[1] + wcs.crpix[1] - 1.0];
    },
  };
}

/** astropy's angular_separation (Vincenty) of two positions in degrees, operation for operation (radians out). */
export function astropySeparation(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const rad = 0.017453292519943295; // astropy's degree → radian scale, applied to each value
  const dlon = (lon2 - lon1) * rad;
  const sdlon = sinR(dlon);
  const cdlon = cosR(dlon);
  const slat1 = sinR(lat1 * rad);
  const slat2 = sinR(lat2 * rad);
  const clat1 = cosR(lat1 * rad);
  const clat2 = cosR(lat2 * rad);
  const num1 = clat2 * sdlon;
  const num2 = clat1 * slat2 - slat1 * clat2 * cdlon;
  const denominator = slat1 * slat2 + clat1 * clat2 * cdlon;
  return atan2R(hypotR(num1, num2), denominator);
}

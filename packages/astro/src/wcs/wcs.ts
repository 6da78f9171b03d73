/**
 * A celestial WCS of the kind gammapy writes: CAR (plate carrée, oblique when CRVAL2 ≠ 0) or TAN (gnomonic),
 * in ICRS or Galactic coordinates, with the default LONPOLE. Maps are CAR or TAN (the kernels project those); an
 * image read from a file (an exclusion mask) may also be in one of the other projections of {@link SkyProjection},
 * computed here through zenithal.ts and cylindrical.ts. Pixel coordinates are 0-based with pixel centres
 * at integers (FITS pixel p + 1); CRPIX is stored 1-based, as in the header.
 *
 * Both projections go through the same native unit vector n (science spec §3.1): x towards the reference point,
 * y towards increasing longitude, z towards the frame's north. CAR reads (φ, θ) = (atan2(n_y, n_x), asin n_z)
 * off it, TAN reads (ξ, η) = (n_y/n_x, n_z/n_x).
 */

import {
  type CylindricalProjection,
  cylindricalFromPlane,
  cylindricalToPlane,
  type GlsProjection,
} from './cylindrical.js';
import {
  apply,
  DEG,
  icrsToFrameMatrix,
  lonLat,
  type Mat3,
  matMul,
  offsetFrameMatrix,
  type SkyFrame,
  transpose,
  unitVector,
} from './frames.js';
import {
  isZenithalProjection,
  type ZenithalProjection,
  zenithalFromPlane,
  zenithalToPlane,
} from './zenithal.js';

/** The projections of a map: the kernels project these. */
export type Projection = 'CAR' | 'TAN';

/** Every projection pipe reads: a map's, or the zenithal and θ0 = 0 ones of Calabretta & Greisen 2002. */
export type SkyProjection = Projection | ZenithalProjection | CylindricalProjection | GlsProjection;

/** True for the projections the kernels project, those a map (not only an exclusion mask) may have. */
export function isMapProjection(projection: SkyProjection): projection is Projection {
  return projection === 'CAR' || projection === 'TAN';
}

/** True for the projections with θ0 = 90° (native pole at the reference point). */
export function isZenithal(projection: SkyProjection): boolean {
  return projection === 'TAN' || isZenithalProjection(projection);
}

/** What defines a WCS. */
export interface WcsSpec {
  frame: SkyFrame;
  projection: SkyProjection;
  /** CEA's λ (PV2_1) when not the default 1. */
  ceaLambda?: number;
  /** SIN's (ξ, η) = (PV2_1, PV2_2) when not (0, 0); no other projection takes a parameter. */
  sinSlant?: readonly [number, number];
  /** Reference point (lon, lat) in degrees, in `frame`. */
  crval: readonly [number, number];
  /** Reference pixel, FITS 1-based. */
  crpix: readonly [number, number];
  /** Pixel size in degrees (CDELT1 is negative for the usual east-left orientation). */
  cdelt: readonly [number, number];
}

/** A WCS with its rotations precomputed. Immutable. */
export interface Wcs extends WcsSpec {
  /** ICRS unit vector → native unit vector (row-major 3×3). */
  readonly icrsToNative: Mat3;
  /** Native unit vector → ICRS unit vector. */
  readonly nativeToIcrs: Mat3;
  /** The WCS frame's unit vector → native unit vector (pixelToSky and skyToPixel convert thousands of pixels). */
  readonly frameToNative: Mat3;
  /** Native unit vector → the WCS frame's unit vector. */
  readonly nativeToFrame: Mat3;
}

export function createWcs(spec: WcsSpec): Wcs {
  // GLS (AIPS's sinusoidal, as wcslib's celfix reads it): the native frame is the celestial one turned about the
  // pole only, with the reference point at native (0, CRVAL2) (θ0 = CRVAL2, LONPOLE 0, LATPOLE 90).
  const frameToNative = offsetFrameMatrix(spec.crval[0], spec.projection === 'GLS' ? 0 : spec.crval[1]);
  const icrsToNative = matMul(frameToNative, icrsToFrameMatrix(spec.frame));
  return {
    frame: spec.frame,
    projection: spec.projection,
    ...(spec.ceaLambda !== undefined ? { ceaLambda: spec.ceaLambda } : {}),
    ...(spec.sinSlant !== undefined ? { sinSlant: [spec.sinSlant[0], spec.sinSlant[1]] as const } : {}),
    crval: [spec.crval[0], spec.crval[1]],
    crpix: [spec.crpix[0], spec.crpix[1]],
    cdelt: [spec.cdelt[0], spec.cdelt[1]],
    icrsToNative,
    nativeToIcrs: transpose(icrsToNative),
    frameToNative,
    nativeToFrame: transpose(frameToNative),
  };
}

/** The native unit vector of 0-based pixel (x, y). */
export function pixelToNative(wcs: WcsSpec, x: number, y: number): [number, number, number] {
  const a = wcs.cdelt[0] * (x + 1 - wcs.crpix[0]);
  const b = wcs.cdelt[1] * (y + 1 - wcs.crpix[1]);
  if (wcs.projection === 'CAR') {
    const ct = Math.cos(b * DEG);
    return [ct * Math.cos(a * DEG), ct * Math.sin(a * DEG), Math.sin(b * DEG)];
  }
  if (wcs.projection !== 'TAN') return planeToNative(wcs, a, b);
  const xi = a * DEG;
  const eta = b * DEG;
  const r = 1 / Math.sqrt(1 + xi * xi + eta * eta);
  return [r, xi * r, eta * r];
}

/** The native unit vector of plane coordinates (a, b) in degrees, for the projections other than CAR and TAN. */
function planeToNative(wcs: WcsSpec, a: number, b: number): [number, number, number] {
  const p = wcs.projection as Exclude<SkyProjection, Projection>;
  if (p === 'GLS') return cylindricalFromPlane('SFL', a, b + wcs.crval[1]);
  return isZenithalProjection(p)
    ? zenithalFromPlane(p, a, b, wcs.sinSlant)
    : cylindricalFromPlane(p, a, b, wcs.ceaLambda);
}

/** Plane coordinates (a, b) in degrees of a native vector, for the projections other than CAR and TAN. */
function nativeToPlane(wcs: WcsSpec, n: readonly [number, number, number]): [number, number] {
  const p = wcs.projection as Exclude<SkyProjection, Projection>;
  if (p === 'GLS') {
    const [a, b] = cylindricalToPlane('SFL', n);
    return [a, b - wcs.crval[1]];
  }
  return isZenithalProjection(p)
    ? zenithalToPlane(p, n, wcs.sinSlant)
    : cylindricalToPlane(p, n, wcs.ceaLambda);
}

/** 0-based fractional pixel of a native vector; NaN for a point off the projection (TAN: the far hemisphere). */
export function nativeToPixel(wcs: WcsSpec, n: readonly [number, number, number]): [number, number] {
  let a: number;
  let b: number;
  if (wcs.projection === 'CAR') {
    a = Math.atan2(n[1], n[0]) / DEG;
    b = Math.asin(Math.max(-1, Math.min(1, n[2]))) / DEG;
  } else if (wcs.projection !== 'TAN') {
    [a, b] = nativeToPlane(wcs, n);
  } else {
    if (!(n[0] > 0)) return [Number.NaN, Number.NaN];
    a = n[1] / n[0] / DEG;
    b = n[2] / n[0] / DEG;
  }
  return [wcs.crpix[0] - 1 + a / wcs.cdelt[0], wcs.crpix[1] - 1 + b / wcs.cdelt[1]];
}

/**
 * The native unit vector of every point (x + offset, y + offset) of an nx × ny grid, row-major, interleaved
 * (n0, n1, n2): pixelToNative's numbers bit for bit (the same operations in the same order), without an array per
 * point, and with CAR's trigonometry once per column and row; with `rotation`, those vectors turned by it
 * (frames.apply's numbers). Map-sized loops (a mask's sampling, the pixel
 * corners of solid angles) spend most of a worker's first task here otherwise.
 */
export function gridNatives(wcs: WcsSpec, nx: number, ny: number, offset = 0, rotation?: Mat3): Float64Array {
  const out = nativeVectors(wcs, nx, ny, offset);
  if (rotation) rotateInPlace(out, rotation);
  return out;
}

/** out[p..p+2] = m · out[p..p+2] for every vector: frames.apply's arithmetic, bit for bit, without an array each. */
function rotateInPlace(out: Float64Array, m: Mat3): void {
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m as unknown as number[];
  for (let p = 0; p < out.length; p += 3) {
    const n0 = out[p] as number;
    const n1 = out[p + 1] as number;
    const n2 = out[p + 2] as number;
    out[p] = (m0 as number) * n0 + (m1 as number) * n1 + (m2 as number) * n2;
    out[p + 1] = (m3 as number) * n0 + (m4 as number) * n1 + (m5 as number) * n2;
    out[p + 2] = (m6 as number) * n0 + (m7 as number) * n1 + (m8 as number) * n2;
  }
}

function nativeVectors(wcs: WcsSpec, nx: number, ny: number, offset: number): Float64Array {
  const out = new Float64Array(3 * nx * ny);
  if (wcs.projection !== 'CAR' && wcs.projection !== 'TAN') {
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) out.set(pixelToNative(wcs, x + offset, y + offset), 3 * (y * nx + x));
    return out;
  }
  const car = wcs.projection === 'CAR';
  // CAR: n = (cos b · cos a, cos b · sin a, sin b), a from the column, b from the row; TAN: (r, ξr, ηr).
  const cosA = new Float64Array(nx);
  const sinA = new Float64Array(nx);
  const xi = new Float64Array(nx);
  for (let x = 0; x < nx; x++) {
    const a = wcs.cdelt[0] * (x + offset + 1 - wcs.crpix[0]);
    cosA[x] = Math.cos(a * DEG);
    sinA[x] = Math.sin(a * DEG);
    xi[x] = a * DEG;
  }
  for (let y = 0; y < ny; y++) {
    const b = wcs.cdelt[1] * (y + offset + 1 - wcs.crpix[1]);
    const cosB = Math.cos(b * DEG);
    const sinB = Math.sin(b * DEG);
    const eta = b * DEG;
    for (let x = 0; x < nx; x++) {
      const p = 3 * (y * nx + x);
      if (car) {
        out[p] = cosB * (cosA[x] as number);
        out[p + 1] = cosB * (sinA[x] as number);
        out[p + 2] = sinB;
      } else {
        const k = xi[x] as number;
        const r = 1 / Math.sqrt(1 + k * k + eta * eta);
        out[p] = r;
        out[p + 1] = k * r;
        out[p + 2] = eta * r;
      }
    }
  }
  return out;
}

/**
 * For every pixel centre of an nx × ny grid with WCS `from`, its 0-based fractional pixel in WCS `to` (through
 * `fromNativeToTo`, the rotation from `from`'s native frame to `to`'s): out[2p], out[2p + 1] for pixel p = y·nx + x.
 * The same numbers as nativeToPixel(to, apply(m, pixelToNative(from, x, y))) bit for bit, through gridNatives and,
 * for a CAR or TAN `to`, nativeToPixel written out.
 */
export function gridToPixels(
  from: WcsSpec,
  nx: number,
  ny: number,
  fromNativeToTo: Mat3,
  to: WcsSpec,
): Float64Array {
  const v = gridNatives(from, nx, ny, 0, fromNativeToTo);
  const out = new Float64Array(2 * nx * ny);
  const [crpixX, crpixY] = to.crpix;
  const [cdeltX, cdeltY] = to.cdelt;
  const car = to.projection === 'CAR';
  const tan = to.projection === 'TAN';
  for (let p = 0; p < nx * ny; p++) {
    const v0 = v[3 * p] as number;
    const v1 = v[3 * p + 1] as number;
    const v2 = v[3 * p + 2] as number;
    let a: number;
    let c: number;
    if (car) {
      a = Math.atan2(v1, v0) / DEG;
      c = Math.asin(Math.max(-1, Math.min(1, v2))) / DEG;
    } else if (!tan) {
      [out[2 * p], out[2 * p + 1]] = nativeToPixel(to, [v0, v1, v2]);
      continue;
    } else if (!(v0 > 0)) {
      a = Number.NaN;
      c = Number.NaN;
    } else {
      a = v1 / v0 / DEG;
      c = v2 / v0 / DEG;
    }
    out[2 * p] = crpixX - 1 + a / cdeltX;
    out[2 * p + 1] = crpixY - 1 + c / cdeltY;
  }
  return out;
}

/** Sky position (lon, lat) in the WCS frame, degrees, lon in [0, 360), of 0-based pixel (x, y). */
export function pixelToSky(wcs: Wcs, x: number, y: number): [number, number] {
  const n = pixelToNative(wcs, x, y);
  const c = apply(wcs.nativeToFrame, n);
  return lonLat(c[0], c[1], c[2]);
}

/** 0-based fractional pixel of (lon, lat) given in the WCS frame, degrees. */
export function skyToPixel(wcs: Wcs, lon: number, lat: number): [number, number] {
  const n = apply(wcs.frameToNative, unitVector(lon, lat));
  return nativeToPixel(wcs, n);
}

/** ICRS (ra, dec) in degrees of 0-based pixel (x, y). */
export function pixelToIcrs(wcs: Wcs, x: number, y: number): [number, number] {
  const c = apply(wcs.nativeToIcrs, pixelToNative(wcs, x, y));
  return lonLat(c[0], c[1], c[2]);
}

/** 0-based fractional pixel of an ICRS position (ra, dec) in degrees. */
export function icrsToPixel(wcs: Wcs, ra: number, dec: number): [number, number] {
  return nativeToPixel(wcs, apply(wcs.icrsToNative, unitVector(ra, dec)));
}

/**
 * wcslib's default LONPOLE: for θ0 = 0 (CAR and the cylindricals, pseudocylindricals and AIT) 0 with CRVAL2 ≥ 0,
 * else 180; 180 for the zenithal projections (θ0 = 90).
 */
export function defaultLonpole(projection: SkyProjection, lat0: number): number {
  if (projection === 'GLS') return 0;
  return !isZenithal(projection) && lat0 >= 0 ? 0 : 180;
}

/** LATPOLE as wcslib writes it: the latitude of the native pole (90 − |CRVAL2| for θ0 = 0, CRVAL2 for zenithal). */
export function defaultLatpole(projection: SkyProjection, lat0: number): number {
  if (projection === 'GLS') return 90;
  return isZenithal(projection) ? lat0 : 90 - Math.abs(lat0);
}

/**
 * WCS ↔ FITS header cards: the cards gammapy (through astropy/wcslib) writes for a map, and parsing them back
 * from any header (a FitsHeader, or a plain keyword record).
 */
import type { CardInput } from '../fits/index.js';
import { DEG, type SkyFrame } from './frames.js';
import {
  createWcs,
  defaultLatpole,
  defaultLonpole,
  isZenithal,
  type SkyProjection,
  type Wcs,
} from './wcs.js';

/** Why a header does not describe a WCS this library can use. */
export interface WcsHeaderFailure {
  reason: 'wcs-missing-key' | 'wcs-unsupported';
  message: string;
  /** A valid WCS beyond what pipe implements (a projection, a rotation): wcslib, and so gammapy and astropy, read it. */
  wcslibReads?: true;
}

/** Anything with keyword lookup: FitsHeader, or a record wrapped by {@link recordHeader}. */
export interface HeaderLookup {
  get(key: string): unknown;
}

/** Adapts a plain keyword → value record (case-insensitive keys) to {@link HeaderLookup}. */
export function recordHeader(record: Readonly<Record<string, unknown>>): HeaderLookup {
  const upper = new Map(Object.entries(record).map(([k, v]) => [k.toUpperCase(), v]));
  return { get: (key) => upper.get(key.toUpperCase()) };
}

const LON_TYPES: Record<string, SkyFrame> = { 'RA--': 'icrs', GLON: 'galactic' };
const LAT_TYPES: Record<string, SkyFrame> = { 'DEC-': 'icrs', GLAT: 'galactic' };

/** CTYPE1/CTYPE2 values of a frame and projection, e.g. RA---CAR / DEC--CAR. */
export function ctypes(frame: SkyFrame, projection: SkyProjection): [string, string] {
  return frame === 'icrs'
    ? [`RA---${projection}`, `DEC--${projection}`]
    : [`GLON-${projection}`, `GLAT-${projection}`];
}

/** The celestial WCS cards of a map header, in the order astropy writes them. */
export function wcsHeaderCards(wcs: Wcs): CardInput[] {
  const [c1, c2] = ctypes(wcs.frame, wcs.projection);
  const cards: CardInput[] = [
    { key: 'WCSAXES', value: 2, comment: 'Number of coordinate axes' },
    { key: 'CRPIX1', value: wcs.crpix[0], comment: 'Pixel coordinate of reference point' },
    { key: 'CRPIX2', value: wcs.crpix[1], comment: 'Pixel coordinate of reference point' },
    { key: 'CDELT1', value: wcs.cdelt[0], comment: '[deg] Coordinate increment at reference point' },
    { key: 'CDELT2', value: wcs.cdelt[1], comment: '[deg] Coordinate increment at reference point' },
    { key: 'CUNIT1', value: 'deg', comment: 'Units of coordinate increment and value' },
    { key: 'CUNIT2', value: 'deg', comment: 'Units of coordinate increment and value' },
    { key: 'CTYPE1', value: c1 },
    { key: 'CTYPE2', value: c2 },
    { key: 'CRVAL1', value: wcs.crval[0], comment: '[deg] Coordinate value at reference point' },
    { key: 'CRVAL2', value: wcs.crval[1], comment: '[deg] Coordinate value at reference point' },
    {
      key: 'LONPOLE',
      value: defaultLonpole(wcs.projection, wcs.crval[1]),
      comment: '[deg] Native longitude of celestial pole',
    },
    {
      key: 'LATPOLE',
      value: defaultLatpole(wcs.projection, wcs.crval[1]),
      comment: '[deg] Native latitude of celestial pole',
    },
  ];
  if (wcs.ceaLambda !== undefined)
    cards.push({ key: 'PV2_1', value: wcs.ceaLambda, comment: "CEA's lambda" });
  if (wcs.sinSlant !== undefined)
    cards.push(
      { key: 'PV2_1', value: wcs.sinSlant[0], comment: "SIN's xi" },
      { key: 'PV2_2', value: wcs.sinSlant[1], comment: "SIN's eta" },
    );
  if (wcs.frame === 'icrs')
    cards.push({ key: 'RADESYS', value: 'ICRS', comment: 'Equatorial coordinate system' });
  return cards;
}

function num(h: HeaderLookup, key: string): number | undefined {
  const v = h.get(key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function str(h: HeaderLookup, key: string): string | undefined {
  const v = h.get(key);
  return typeof v === 'string' ? v.trim() : undefined;
}

/**
 * The projection codes parseWcsHeader reads. NCP and GLS are AIPS's, read as wcslib's celfix reads them: NCP is
 * SIN with (ξ, η) = (0, cot CRVAL2); GLS is SFL about a native frame with θ0 = CRVAL2 (wcs.ts).
 */
const PROJECTIONS: Readonly<Record<string, SkyProjection>> = {
  CAR: 'CAR',
  TAN: 'TAN',
  SIN: 'SIN',
  NCP: 'SIN',
  ARC: 'ARC',
  ZEA: 'ZEA',
  STG: 'STG',
  AZP: 'AZP',
  AIT: 'AIT',
  MOL: 'MOL',
  SFL: 'SFL',
  GLS: 'GLS',
  MER: 'MER',
  CEA: 'CEA',
};

/** The projection list as error messages name it. */
export const SUPPORTED_PROJECTIONS =
  'CAR, TAN, SIN (NCP), ARC, ZEA, STG, AZP (mu = gamma = 0), AIT, MOL, SFL (GLS), MER or CEA';

/**
 * Parses the celestial WCS of a 2-D (or the first two axes of an N-D) image header. Supports CTYPE RA/DEC or
 * GLON/GLAT with one of {@link SUPPORTED_PROJECTIONS} (projection parameters PVi_m at wcslib's defaults, except
 * CEA's λ = PV2_1 and SIN's ξ, η = PV2_1, PV2_2), CDELT (or a diagonal CD / identity PC matrix), CUNIT deg, RADESYS ICRS or FK5
 * (treated as ICRS: the 20 mas frame bias is below any pixel size in use), the default LONPOLE, and a LATPOLE that
 * selects the default native pole.
 */
export function parseWcsHeader(h: HeaderLookup): Wcs | WcsHeaderFailure {
  const c1 = str(h, 'CTYPE1');
  const c2 = str(h, 'CTYPE2');
  if (c1 === undefined || c2 === undefined)
    return { reason: 'wcs-missing-key', message: 'CTYPE1/CTYPE2 missing' };
  const f1 = LON_TYPES[c1.slice(0, 4).toUpperCase()];
  const f2 = LAT_TYPES[c2.slice(0, 4).toUpperCase()];
  const p1 = c1.slice(5).toUpperCase();
  const p2 = c2.slice(5).toUpperCase();
  if (f1 === undefined || f2 === undefined || f1 !== f2)
    return { reason: 'wcs-unsupported', message: `celestial axes ${c1}/${c2} are not RA/DEC or GLON/GLAT` };
  const projection = PROJECTIONS[p1];
  if (p1 !== p2 || projection === undefined)
    return {
      reason: 'wcs-unsupported',
      message: `projection ${c1}/${c2} is not supported (CTYPE1 '${c1}', CTYPE2 '${c2}'; supported: ${SUPPORTED_PROJECTIONS})`,
      wcslibReads: true,
    };
  const pv = parseProjectionParameters(h, projection, num(h, 'CRVAL2') ?? 0);
  if ('reason' in pv) return pv;
  for (const k of ['CUNIT1', 'CUNIT2']) {
    const u = str(h, k);
    if (u !== undefined && u !== '' && u.toLowerCase() !== 'deg')
      return { reason: 'wcs-unsupported', message: `${k} '${u}' is not deg` };
  }
  const frameFailure = f1 === 'icrs' ? equatorialFrameFailure(h) : undefined;
  if (frameFailure) return frameFailure;
  const crval1 = num(h, 'CRVAL1');
  const crval2 = num(h, 'CRVAL2');
  const crpix1 = num(h, 'CRPIX1');
  const crpix2 = num(h, 'CRPIX2');
  if (crval1 === undefined || crval2 === undefined || crpix1 === undefined || crpix2 === undefined) {
    return { reason: 'wcs-missing-key', message: 'CRVAL1/2 and CRPIX1/2 are required' };
  }
  for (const [k, v] of [
    ['CRVAL1', crval1],
    ['CRVAL2', crval2],
    ['CRPIX1', crpix1],
    ['CRPIX2', crpix2],
  ] as const)
    if (!Number.isFinite(v))
      return { reason: 'wcs-unsupported', message: `${k} = ${v} is not a finite number` };
  const cdelt = parseScale(h);
  if ('reason' in cdelt) return cdelt;
  if (p1 === 'NCP') {
    if (crval2 === 0) return { reason: 'wcs-unsupported', message: 'NCP with CRVAL2 = 0 has no projection' };
    pv.sinSlant = [0, Math.cos(crval2 * DEG) / Math.sin(crval2 * DEG)];
  }
  const lonpole = num(h, 'LONPOLE') ?? num(h, 'PV1_3');
  const expected = defaultLonpole(projection, crval2);
  if (lonpole !== undefined && Math.abs(lonpole - expected) > 1e-10) {
    return {
      reason: 'wcs-unsupported',
      message: `LONPOLE ${lonpole} differs from the default ${expected} (rotated native frames are not supported)`,
      wcslibReads: true,
    };
  }
  const latpole = latpoleFailure(projection, crval2, num(h, 'LATPOLE') ?? num(h, 'PV1_4'));
  if (latpole) return latpole;
  return createWcs({
    frame: f1,
    projection,
    crval: [crval1, crval2],
    crpix: [crpix1, crpix2],
    cdelt: cdelt.cdelt,
    ...(pv.ceaLambda !== undefined ? { ceaLambda: pv.ceaLambda } : {}),
    ...(pv.sinSlant !== undefined ? { sinSlant: pv.sinSlant } : {}),
  });
}

/**
 * For θ0 ≠ 90 (CAR, the cylindricals, pseudocylindricals, AIT, GLS) the native pole has two latitudes that put the
 * reference point where it belongs, and wcslib's celset takes the one nearer LATPOLE (the second on a tie): with
 * the default LATPOLE (90) that is the one pipe's rotation uses (defaultLatpole), with LATPOLE nearer the other
 * (e.g. −67.986 for a CAR map at Dec 22.014, or 0) wcslib's frame is flipped about the reference point. Such a
 * header is refused; for the zenithal projections LATPOLE plays no part.
 */
function latpoleFailure(
  projection: SkyProjection,
  lat0: number,
  latpole: number | undefined,
): WcsHeaderFailure | undefined {
  if (latpole === undefined || isZenithal(projection) || Math.abs(lat0) === 90) return undefined;
  const theta0 = nativeTheta0(projection, lat0) * DEG;
  const phip = defaultLonpole(projection, lat0) * DEG;
  const u = Math.atan2(Math.sin(theta0), Math.cos(theta0) * Math.cos(phip)) / DEG;
  // sin(φp − φ0) = 0 for the default LONPOLE (0 or 180): wcslib's denominator √(1 − cos²θ0 sin²(φp − φ0)) is 1.
  const v = Math.acos(Math.max(-1, Math.min(1, Math.sin(lat0 * DEG)))) / DEG;
  const wrap = (l: number) => (l > 180 ? l - 360 : l < -180 ? l + 360 : l);
  const l1 = wrap(u + v);
  const l2 = wrap(u - v);
  const valid = (l: number) => Math.abs(l) <= 90 + 1e-10;
  const picked =
    Math.abs(l1 - latpole) < Math.abs(l2 - latpole) ? (valid(l1) ? l1 : l2) : valid(l2) ? l2 : l1;
  const ours = defaultLatpole(projection, lat0);
  if (Math.abs(picked - ours) <= 1e-9) return undefined;
  return {
    reason: 'wcs-unsupported',
    message: `LATPOLE ${latpole} selects the native pole at latitude ${picked}, not ${ours} (the frame flipped about the reference point is not supported; omit LATPOLE or set ${ours})`,
    wcslibReads: true,
  };
}

/** The native latitude θ0 (deg) of the reference point: 90 zenithal, CRVAL2 for GLS, 0 otherwise. */
function nativeTheta0(projection: SkyProjection, lat0: number): number {
  return isZenithal(projection) ? 90 : projection === 'GLS' ? lat0 : 0;
}

/**
 * The PVi_m cards (i = 1, 2; m = 0 … 29, wcslib's range) at their defaults, as the projection code above assumes:
 * PV1_1 = φ0 = 0, PV1_2 = θ0 (90 zenithal, CRVAL2 for GLS, 0 otherwise), PV1_3/PV1_4 = LONPOLE/LATPOLE (LONPOLE is checked
 * below), PV2_m = 0 (AZP's μ and γ; TAN, CAR and the others take none); CEA's λ = PV2_1 in (0, 1], SIN's ξ, η =
 * PV2_1, PV2_2 (slant orthographic; NCP's, η = cot CRVAL2, is set by parseWcsHeader).
 */
function parseProjectionParameters(
  h: HeaderLookup,
  projection: SkyProjection,
  lat0: number,
): { ceaLambda?: number; sinSlant?: [number, number] } | WcsHeaderFailure {
  let ceaLambda: number | undefined;
  const slant: [number, number] = [0, 0];
  const theta0 = nativeTheta0(projection, lat0);
  for (const i of [1, 2])
    for (let m = 0; m < 30; m++) {
      if (i === 1 && m >= 3) continue; // LONPOLE/LATPOLE repeated: parseWcsHeader checks them as those
      const key = `PV${i}_${m}`;
      const v = num(h, key);
      if (v === undefined) continue;
      if (projection === 'CEA' && i === 2 && m === 1) {
        if (!(v > 0 && v <= 1))
          return { reason: 'wcs-unsupported', message: `${key} = ${v}: CEA's lambda must be in (0, 1]` };
        if (v !== 1) ceaLambda = v;
        continue;
      }
      if (projection === 'SIN' && i === 2 && (m === 1 || m === 2)) {
        if (!Number.isFinite(v))
          return { reason: 'wcs-unsupported', message: `${key} = ${v} is not a number` };
        slant[m - 1] = v;
        continue;
      }
      const fallback = i === 1 && m === 2 ? theta0 : 0;
      if (v !== fallback)
        return {
          reason: 'wcs-unsupported',
          message: `${key} = ${v} differs from ${projection}'s default ${fallback} (projection parameters other than the defaults are not supported)`,
          wcslibReads: true,
        };
    }
  return {
    ...(ceaLambda !== undefined ? { ceaLambda } : {}),
    ...(slant[0] !== 0 || slant[1] !== 0 ? { sinSlant: slant } : {}),
  };
}

function parseScale(h: HeaderLookup): { cdelt: [number, number] } | WcsHeaderFailure {
  const cd11 = num(h, 'CD1_1');
  const cd22 = num(h, 'CD2_2');
  const off = (a: string, b: string) => (num(h, a) ?? 0) !== 0 || (num(h, b) ?? 0) !== 0;
  if (cd11 !== undefined || cd22 !== undefined) {
    if (off('CD1_2', 'CD2_1'))
      return {
        reason: 'wcs-unsupported',
        message: 'rotated CD matrices are not supported',
        wcslibReads: true,
      };
    if (cd11 === undefined || cd22 === undefined)
      return { reason: 'wcs-missing-key', message: 'CD1_1 and CD2_2 must both be present' };
    // wcslib refuses a singular matrix (astropy: SingularMatrixError); read as is, every pixel centre would map to
    // one point (or NaN) and the mask exclude all or nothing.
    if (!(Number.isFinite(cd11) && Number.isFinite(cd22) && cd11 !== 0 && cd22 !== 0))
      return {
        reason: 'wcs-unsupported',
        message: `CD1_1 = ${cd11}, CD2_2 = ${cd22}: the CD matrix is singular (pixels with no size on the sky)`,
      };
    return { cdelt: [cd11, cd22] };
  }
  const d1 = num(h, 'CDELT1');
  const d2 = num(h, 'CDELT2');
  if (d1 === undefined || d2 === undefined || d1 === 0 || d2 === 0)
    return { reason: 'wcs-missing-key', message: 'CDELT1/CDELT2 missing or zero' };
  if (!Number.isFinite(d1) || !Number.isFinite(d2))
    return { reason: 'wcs-unsupported', message: `CDELT1 = ${d1}, CDELT2 = ${d2}: not finite numbers` };
  if (off('PC1_2', 'PC2_1') || (num(h, 'PC1_1') ?? 1) !== 1 || (num(h, 'PC2_2') ?? 1) !== 1) {
    return {
      reason: 'wcs-unsupported',
      message: 'PC matrices other than the identity are not supported',
      wcslibReads: true,
    };
  }
  // The old AIPS rotation (wcslib uses CROTA2 when there is neither a PC nor a CD matrix): read as no rotation, a
  // CROTA2 = 30 mask excluded other pixels than gammapy's (astropy applies it), with no word.
  const anyPc = ['PC1_1', 'PC1_2', 'PC2_1', 'PC2_2'].some((k) => num(h, k) !== undefined);
  const crota = num(h, 'CROTA2');
  if (!anyPc && crota !== undefined && crota !== 0)
    return {
      reason: 'wcs-unsupported',
      message: `CROTA2 = ${crota}: rotated pixel grids are not supported (a mask with north up, CROTA2 = 0, is)`,
      wcslibReads: true,
    };
  return { cdelt: [d1, d2] };
}

/**
 * RA/DEC axes are read as ICRS: right for RADESYS ICRS, and FK5 at J2000 (20 mas apart). The FITS WCS standard
 * (Calabretta & Greisen 2002, §3.1) makes a header without RADESYS FK4 when its EQUINOX is before 1984 and FK5
 * otherwise, at that equinox: an 'EQUINOX = 1950' mask is B1950, its grid ~0.7° from ICRS at the Crab, and an FK5 one
 * of another equinox is precessed likewise. Those are refused rather than read shifted.
 */
function equatorialFrameFailure(h: HeaderLookup): WcsHeaderFailure | undefined {
  const radesys = str(h, 'RADESYS') ?? str(h, 'RADECSYS');
  const equinoxKey =
    num(h, 'EQUINOX') !== undefined ? 'EQUINOX' : num(h, 'EPOCH') !== undefined ? 'EPOCH' : undefined;
  const equinox = equinoxKey ? num(h, equinoxKey)! : undefined;
  if (radesys !== undefined && !['ICRS', 'FK5'].includes(radesys.toUpperCase()))
    return { reason: 'wcs-unsupported', message: `RADESYS '${radesys}' is not ICRS or FK5` };
  const system = radesys?.toUpperCase() ?? (equinox === undefined ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5');
  if (system === 'FK4')
    return {
      reason: 'wcs-unsupported',
      message: `${equinoxKey} = ${equinox} without RADESYS is FK4 (B${equinox}) by the FITS WCS standard; pipe reads ICRS or FK5 at J2000 (set RADESYS if the grid is one of those)`,
    };
  if (system === 'FK5' && equinox !== undefined && Math.abs(equinox - 2000) > 1e-9)
    return {
      reason: 'wcs-unsupported',
      message: `FK5 at ${equinoxKey} = ${equinox}, not J2000: pipe reads ICRS or FK5 at J2000 (the grid would be off by the precession since)`,
    };
  return undefined;
}

/** True when a parse result is a failure. */
export function isWcsFailure(v: Wcs | WcsHeaderFailure): v is WcsHeaderFailure {
  return 'reason' in v;
}

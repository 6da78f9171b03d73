/**
 * WCS ↔ FITS header cards: the cards gammapy (through astropy/wcslib) writes for a map, and parsing them back
 * from any header (a FitsHeader, or a plain keyword record).
 */
import type { CardInput } from '../fits/index.js';
import type { SkyFrame } from './frames.js';
import { createWcs, defaultLatpole, defaultLonpole, type Projection, type Wcs } from './wcs.js';

/** Why a header does not describe a WCS this library can use. */
export interface WcsHeaderFailure {
  reason: 'wcs-missing-key' | 'wcs-unsupported';
  message: string;
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
export function ctypes(frame: SkyFrame, projection: Projection): [string, string] {
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
 * Parses the celestial WCS of a 2-D (or the first two axes of an N-D) image header. Supports CTYPE RA/DEC or
 * GLON/GLAT with CAR or TAN, CDELT (or a diagonal CD / identity PC matrix), CUNIT deg, RADESYS ICRS or FK5
 * (treated as ICRS: the 20 mas frame bias is below any pixel size in use), and the default LONPOLE.
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
  if (p1 !== p2 || (p1 !== 'CAR' && p1 !== 'TAN'))
    return { reason: 'wcs-unsupported', message: `projection ${c1}/${c2} is not CAR or TAN` };
  const projection = p1 as Projection;
  for (const k of ['CUNIT1', 'CUNIT2']) {
    const u = str(h, k);
    if (u !== undefined && u !== '' && u.toLowerCase() !== 'deg')
      return { reason: 'wcs-unsupported', message: `${k} '${u}' is not deg` };
  }
  const radesys = str(h, 'RADESYS') ?? str(h, 'RADECSYS');
  if (f1 === 'icrs' && radesys !== undefined && !['ICRS', 'FK5'].includes(radesys.toUpperCase())) {
    return { reason: 'wcs-unsupported', message: `RADESYS '${radesys}' is not ICRS or FK5` };
  }
  const crval1 = num(h, 'CRVAL1');
  const crval2 = num(h, 'CRVAL2');
  const crpix1 = num(h, 'CRPIX1');
  const crpix2 = num(h, 'CRPIX2');
  if (crval1 === undefined || crval2 === undefined || crpix1 === undefined || crpix2 === undefined) {
    return { reason: 'wcs-missing-key', message: 'CRVAL1/2 and CRPIX1/2 are required' };
  }
  const cdelt = parseScale(h);
  if ('reason' in cdelt) return cdelt;
  const lonpole = num(h, 'LONPOLE');
  const expected = defaultLonpole(projection, crval2);
  if (lonpole !== undefined && Math.abs(lonpole - expected) > 1e-10) {
    return {
      reason: 'wcs-unsupported',
      message: `LONPOLE ${lonpole} differs from the default ${expected} (rotated native frames are not supported)`,
    };
  }
  return createWcs({
    frame: f1,
    projection,
    crval: [crval1, crval2],
    crpix: [crpix1, crpix2],
    cdelt: cdelt.cdelt,
  });
}

function parseScale(h: HeaderLookup): { cdelt: [number, number] } | WcsHeaderFailure {
  const cd11 = num(h, 'CD1_1');
  const cd22 = num(h, 'CD2_2');
  const off = (a: string, b: string) => (num(h, a) ?? 0) !== 0 || (num(h, b) ?? 0) !== 0;
  if (cd11 !== undefined || cd22 !== undefined) {
    if (off('CD1_2', 'CD2_1'))
      return { reason: 'wcs-unsupported', message: 'rotated CD matrices are not supported' };
    if (cd11 === undefined || cd22 === undefined)
      return { reason: 'wcs-missing-key', message: 'CD1_1 and CD2_2 must both be present' };
    return { cdelt: [cd11, cd22] };
  }
  const d1 = num(h, 'CDELT1');
  const d2 = num(h, 'CDELT2');
  if (d1 === undefined || d2 === undefined || d1 === 0 || d2 === 0)
    return { reason: 'wcs-missing-key', message: 'CDELT1/CDELT2 missing or zero' };
  if (off('PC1_2', 'PC2_1') || (num(h, 'PC1_1') ?? 1) !== 1 || (num(h, 'PC2_2') ?? 1) !== 1) {
    return { reason: 'wcs-unsupported', message: 'PC matrices other than the identity are not supported' };
  }
  return { cdelt: [d1, d2] };
}

/** True when a parse result is a failure. */
export function isWcsFailure(v: Wcs | WcsHeaderFailure): v is WcsHeaderFailure {
  return 'reason' in v;
}

/**
 * Map geometry: a WCS plus pixel counts (gammapy's WcsGeom.create, science spec §3.1, §3.3). The map centre
 * (skydir) is CRVAL, CRPIX = (npix + 1)/2, so for an even npix the centre falls on a pixel corner.
 */
import { convertFrame, type SkyFrame } from '../wcs/frames.js';
import { pixelSolidAngles } from '../wcs/solid-angle.js';
import { createWcs, type Projection, pixelToIcrs, type Wcs } from '../wcs/wcs.js';
import { roundHalfEven } from './rounding.js';

/** A sky map grid: nx columns (longitude), ny rows (latitude). */
export interface WcsGeom {
  wcs: Wcs;
  nx: number;
  ny: number;
}

/** How to build a geometry (angles in degrees). */
export interface WcsGeomSpec {
  /** Map centre, in `skydirFrame` (default: the map frame). */
  skydir: { lon: number; lat: number; frame?: SkyFrame };
  binsize: number;
  /** Width and height in degrees (a single number for a square map). */
  width: number | readonly [number, number];
  /** Frame of the map (default: the skydir's frame, else icrs). */
  frame?: SkyFrame;
  projection?: Projection;
}

export interface GeomFailure {
  reason: 'geom-invalid';
  message: string;
}

/** npix = rint(width / binsize) per axis, CRPIX = (npix + 1)/2, CDELT = (−binsize, binsize). */
export function createWcsGeom(spec: WcsGeomSpec): WcsGeom | GeomFailure {
  const [w, h] = typeof spec.width === 'number' ? [spec.width, spec.width] : spec.width;
  if (!(spec.binsize > 0) || !(w > 0) || !(h > 0))
    return {
      reason: 'geom-invalid',
      message: `binsize and width must be positive (binsize ${spec.binsize}, width ${w}×${h} deg)`,
    };
  const nx = roundHalfEven(w / spec.binsize);
  const ny = roundHalfEven(h / spec.binsize);
  if (nx < 1 || ny < 1)
    return {
      reason: 'geom-invalid',
      message: `width ${w}×${h} deg is less than one ${spec.binsize} deg pixel`,
    };
  const frame = spec.frame ?? spec.skydir.frame ?? 'icrs';
  const [lon, lat] = convertFrame(spec.skydir.frame ?? frame, frame, spec.skydir.lon, spec.skydir.lat);
  const wcs = createWcs({
    frame,
    projection: spec.projection ?? 'CAR',
    // gammapy's skydir is a SkyCoord, whose longitude astropy wraps into [0, 360): `lon: -12.7 deg` is CRVAL1 347.3
    // there, and a map with CRVAL1 -12.7 is another geometry to gammapy (Map arithmetic refuses to mix the two).
    crval: [wrapLongitude(lon), lat],
    crpix: [(nx + 1) / 2, (ny + 1) / 2],
    cdelt: [-spec.binsize, spec.binsize],
  });
  return { wcs, nx, ny };
}

/**
 * A longitude (deg) wrapped into [0, 360) as astropy's `Longitude` wraps it (`Angle._wrap_at(360 deg)`), with
 * Python's float floor division: unchanged inside the range, so -12.7 → 347.3 and 720.1 → 0.10000000000002274.
 */
export function wrapLongitude(lon: number): number {
  const wraps = pyFloorDiv(lon, 360);
  if (!Number.isFinite(wraps) || wraps === 0) return lon;
  let v = lon - wraps * 360;
  // astropy: "Rounding errors can cause problems."
  if (v >= 360) v -= 360;
  if (v < 0) v += 360;
  return v;
}

/** Python's `a // b` for floats (CPython's float_floor_div), which Math.floor(a / b) does not always equal. */
function pyFloorDiv(a: number, b: number): number {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  }
  if (div === 0) return 0;
  let floor = Math.floor(div);
  if (div - floor > 0.5) floor += 1;
  return floor;
}

export function isGeomFailure(v: WcsGeom | GeomFailure): v is GeomFailure {
  return 'reason' in v;
}

/**
 * The coarse IRF grid of the map `spec` describes: same centre and projection, pixel size `binsizeIrf`, and the
 * width the map really has (npix × binsize, not the width asked for), as gammapy's `geom.to_binsz(binsz_irf)`.
 * They differ when the width is not a whole number of pixels: 1.7° at 0.03° is 57 pixels, 1.71°, so 9 IRF
 * pixels of 0.2° (8.55), where 1.7° / 0.2° would round half-even to 8.
 */
export function irfGeom(spec: WcsGeomSpec, binsizeIrf: number): WcsGeom | GeomFailure {
  const map = createWcsGeom(spec);
  if (isGeomFailure(map)) return map;
  return createWcsGeom({
    ...spec,
    binsize: binsizeIrf,
    width: [map.nx * spec.binsize, map.ny * spec.binsize],
  });
}

export function npix(geom: WcsGeom): number {
  return geom.nx * geom.ny;
}

/** The last grids' solid angles: every run of an analysis is a cutout of one grid, computed once per process. */
const solidAngleMemo = new Map<string, Float64Array>();

/**
 * Solid angle of every pixel (sr), row-major. A cutout (`within`: the grid it was cut from and its offset) takes its
 * pixels from that grid's array: same sky corners, same values, without ~0.5 µs of trigonometry per pixel per run.
 */
export function geomSolidAngles(
  geom: WcsGeom,
  within?: { geom: WcsGeom; x0: number; y0: number },
): Float64Array {
  if (!within) return pixelSolidAngles(geom.wcs, geom.nx, geom.ny);
  const { wcs, nx, ny } = within.geom;
  const key = JSON.stringify([wcs.frame, wcs.projection, wcs.crval, wcs.crpix, wcs.cdelt, nx, ny]);
  let full = solidAngleMemo.get(key);
  if (!full) {
    full = pixelSolidAngles(wcs, nx, ny);
    if (solidAngleMemo.size >= 4) solidAngleMemo.delete(solidAngleMemo.keys().next().value as string);
    solidAngleMemo.set(key, full);
  }
  const out = new Float64Array(geom.nx * geom.ny);
  for (let y = 0; y < geom.ny; y++) {
    const from = (y + within.y0) * nx + within.x0;
    out.set(full.subarray(from, from + geom.nx), y * geom.nx);
  }
  return out;
}

/** ICRS (ra, dec) of every pixel centre, row-major. */
export function pixelCentresIcrs(geom: WcsGeom): { ra: Float64Array; dec: Float64Array } {
  const ra = new Float64Array(npix(geom));
  const dec = new Float64Array(npix(geom));
  for (let y = 0; y < geom.ny; y++) {
    for (let x = 0; x < geom.nx; x++) {
      const [a, d] = pixelToIcrs(geom.wcs, x, y);
      ra[y * geom.nx + x] = a;
      dec[y * geom.nx + x] = d;
    }
  }
  return { ra, dec };
}

/** The fractional pixel of the map centre (CRVAL), 0-based. */
export function centrePixel(geom: WcsGeom): [number, number] {
  return [geom.wcs.crpix[0] - 1, geom.wcs.crpix[1] - 1];
}

/**
 * Exclusion masks (science spec §1.5, §4.5): a 2-D image (1 = usable for background normalisation) with its
 * own WCS, sampled on a map geometry by nearest pixel; pixels outside the mask image count as excluded.
 */
import type { Kernels } from '@pipe/kernels';
import { rint } from '@pipe/kernels/scalars';
import { type FitsFile, type FitsHeader, readFitsSync } from '../fits/index.js';
import { npix, type WcsGeom } from '../geom/wcs-geom.js';
import { matMul } from '../wcs/frames.js';
import { isWcsFailure, parseWcsHeader, type WcsHeaderFailure } from '../wcs/header.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import { gridToPixels, isMapProjection, type Wcs } from '../wcs/wcs.js';

/** A boolean sky image: data[y·nx + x] is 1 (true) or 0. */
export interface SkyMask {
  wcs: Wcs;
  nx: number;
  ny: number;
  data: Uint8Array;
  /**
   * A cube's reco energy axis (its BANDS table), in TeV: gammapy looks the mask up at each reco bin's centre, and a
   * centre outside [min, max) finds no plane, so the whole bin is excluded (its nearest-pixel lookup gives NaN, then 0).
   */
  energyRange?: { min: number; max: number };
}

const ENERGY_TEV: Record<string, number> = { eV: 1e-12, keV: 1e-9, MeV: 1e-6, GeV: 1e-3, TeV: 1, PeV: 1e3 };

/** Whether an exclusion mask has a plane at a reco bin of log centre `centreTeV` (always, for a 2-D mask). */
export function maskCoversEnergy(mask: SkyMask, centreTeV: number): boolean {
  const r = mask.energyRange;
  return r === undefined || (centreTeV >= r.min && centreTeV < r.max);
}

export interface ExclusionReadFailure {
  reason: 'exclusion-invalid';
  message: string;
  /** A mask gammapy 1.0 reads (wcslib's projections and grids, a cube of differing planes): a limit of pipe's. */
  gammapyReads?: true;
}

/**
 * Reads a mask image (first HDU with 2-D data, or the named HDU): non-zero → 1, as gammapy's Analysis takes it
 * (`data.astype(bool)`), so NaN counts as usable too. A cube is read as one image when all its planes agree, and
 * refused otherwise. FITS problems throw FitsError (with file and HDU); an unusable WCS or shape is a failure value.
 */
export function readSkyMask(path: string, hdu?: string | number): SkyMask | ExclusionReadFailure {
  const file = readFitsSync(path);
  // Without a name, the first HDU holding image data (gammapy's Map.read: an empty primary is skipped).
  const h =
    hdu !== undefined
      ? file.hdu(hdu)
      : file.hdus.find((x) => (x.kind === 'primary' || x.kind === 'image') && x.dataLength > 0);
  if (!h) {
    const list = file.hdus.map(
      (x, i) => `${i}:${x.name || '(unnamed)'} ${x.dataLength > 0 ? x.kind : 'empty'}`,
    );
    return {
      reason: 'exclusion-invalid',
      message: `${path}: no image HDU with data (HDUs ${list.join(', ')}); an exclusion mask is a 2-D sky image`,
    };
  }
  const image = h.image();
  const [nx, ny] = image.naxes as [number, number];
  if (image.naxes.length < 2 || !(nx > 0 && ny > 0))
    return {
      reason: 'exclusion-invalid',
      message: `${path} [${h.name}]: image has shape ${image.naxes.join('×')}, expected 2-D`,
    };
  const wcs = parseWcsHeader(h.header);
  if (isWcsFailure(wcs))
    return {
      reason: 'exclusion-invalid',
      message: `${path} [${h.name}]: ${(wcs as WcsHeaderFailure).message}`,
      ...((wcs as WcsHeaderFailure).wcslibReads ? { gammapyReads: true as const } : {}),
    };
  const src = image.data;
  // NaN !== 0: usable, as numpy's bool(NaN).
  const usable = (i: number) => {
    const v = src[i] as number | bigint;
    return typeof v === 'bigint' ? (v !== 0n ? 1 : 0) : v !== 0 ? 1 : 0;
  };
  const data = new Uint8Array(nx * ny);
  for (let i = 0; i < nx * ny; i++) data[i] = usable(i);
  // A cube (e.g. with an energy axis) is taken as one sky mask only when its planes agree: gammapy would
  // interpolate differing planes along the dataset's energy axis, which a 2-D mask cannot say.
  const planes = image.naxes.slice(2).reduce((a, b) => a * b, 1);
  for (let k = 1; k < planes; k++)
    for (let i = 0; i < nx * ny; i++)
      if (usable(k * nx * ny + i) !== data[i])
        return {
          reason: 'exclusion-invalid',
          message:
            `${path} [${h.name}]: a ${image.naxes.join('×')} cube whose planes differ (plane ${k + 1} at pixel ` +
            `(${i % nx}, ${Math.floor(i / nx)}) differs from plane 1); an exclusion mask is one 2-D sky image, the same for every energy`,
          gammapyReads: true,
        };
  const energyRange = image.naxes.length > 2 ? bandsEnergyRange(file, h.header) : undefined;
  return { wcs, nx, ny, data, ...(energyRange ? { energyRange } : {}) };
}

/** A map cube's reco energy range (TeV) from its BANDS table, as gammapy's Map.read finds it; else undefined. */
function bandsEnergyRange(file: FitsFile, header: FitsHeader): { min: number; max: number } | undefined {
  const bandsName = header.string('BANDSHDU');
  if (bandsName === undefined) return undefined;
  const bands = file.hdu(bandsName);
  const axcols = (bands.header.string('AXCOLS1') ?? header.string('AXCOLS1') ?? 'E_MIN,E_MAX').split(',');
  const [loName, hiName] = [axcols[0] as string, (axcols[1] ?? axcols[0]) as string];
  // A true-energy (or other) axis: not the reco energy gammapy looks the mask up at; left as before.
  if (!/^E_MIN$/i.test(loName)) return undefined;
  const t = bands.table();
  const unit = ENERGY_TEV[(t.column(loName).unit ?? 'TeV').trim()];
  if (unit === undefined) return undefined;
  const lo = t.scalarFloat64(loName);
  const hi = t.scalarFloat64(hiName);
  if (lo.length === 0) return undefined;
  return { min: (lo[0] as number) * unit, max: (hi[hi.length - 1] as number) * unit };
}

/**
 * The mask sampled on `geom` by nearest pixel (§4.5 step 1), 1 = usable. A CAR or TAN mask goes through the
 * kernels' sampleNearest; a mask in another projection (the kernels project CAR and TAN only) through
 * {@link sampleMaskNearest}, the same steps in TypeScript.
 */
export function projectMask(mask: SkyMask, geom: WcsGeom, kernels: Kernels, outside = 0): Uint8Array {
  // A copy: callers may change theirs.
  return remembered(mask, geom, `project ${outside}`, () =>
    projectMaskOnce(mask, geom, kernels, outside),
  ).slice();
}

function projectMaskOnce(mask: SkyMask, geom: WcsGeom, kernels: Kernels, outside: number): Uint8Array {
  if (!isMapProjection(mask.wcs.projection)) return sampleMaskNearest(mask, geom, outside);
  const out = new Uint8Array(npix(geom));
  kernels.sampleNearest(
    wcsKernelParams(geom.wcs),
    geom.nx,
    geom.ny,
    wcsKernelParams(mask.wcs),
    mask.nx,
    mask.ny,
    mask.data,
    1,
    outside,
    new Float64Array(2 * geom.nx + 3),
    out,
  );
  return out;
}

/**
 * Nearest-pixel sampling as the kernels' sampleNearest does it for grids of different projections: each map pixel
 * centre's native vector, to ICRS, to the mask's native frame, to its fractional mask pixel, rounded half to even;
 * `outside` (0, excluded, unless told otherwise) outside the mask image or off its projection.
 */
export function sampleMaskNearest(mask: SkyMask, geom: WcsGeom, outside = 0): Uint8Array {
  const out = new Uint8Array(npix(geom));
  const at = maskPixels(mask, geom);
  for (let p = 0; p < out.length; p++)
    // NaN (off the projection) rounds to NaN, outside the image.
    out[p] = maskValue(mask, rint(at[2 * p] as number), rint(at[2 * p + 1] as number), outside);
  return out;
}

/**
 * The fractional mask pixel of every map pixel centre (map native → ICRS → mask native, one matrix): see gridToPixels.
 * Only the mask's grid is read: several masks on one grid share these.
 */
export function maskPixels(mask: Pick<SkyMask, 'wcs'>, geom: WcsGeom): Float64Array {
  return gridToPixels(
    geom.wcs,
    geom.nx,
    geom.ny,
    matMul(mask.wcs.icrsToNative, geom.wcs.nativeToIcrs),
    mask.wcs,
  );
}

/** The mask's value at integer pixel (ix, iy); `outside` (0: excluded) outside the image (NaN fails both tests). */
function maskValue(mask: SkyMask, ix: number, iy: number, outside = 0): number {
  return ix >= 0 && ix < mask.nx && iy >= 0 && iy < mask.ny
    ? (mask.data[iy * mask.nx + ix] as number)
    : outside;
}

/** How close (in mask pixels) to a mask pixel edge a map pixel centre counts as on it. */
const TIE_TOLERANCE = 1e-9;

/**
 * The map pixels whose centre lies on an edge between a usable and an excluded pixel of the mask (within
 * TIE_TOLERANCE, in mask pixels), where nearest-pixel sampling is a tie. pipe rounds them half to even; gammapy
 * rounds the result of its pixel → sky → pixel round trip through wcslib, whose floating-point noise (~1e-12
 * pixel) decides each such pixel either way. A mask grid commensurate with the map's but offset by half a pixel
 * (e.g. an even-sized mask and an odd-sized map on one centre) puts whole rows and columns on edges.
 */
export function maskBoundaryTies(mask: SkyMask, geom: WcsGeom): number {
  return remembered(mask, geom, 'ties', () => countBoundaryTies(mask, geom));
}

function countBoundaryTies(mask: SkyMask, geom: WcsGeom): number {
  const tied = new Uint8Array(npix(geom));
  markBoundaryTies(mask, geom, tied);
  return tied.reduce((k, v) => k + v, 0);
}

/**
 * Sets tied[p] = 1 for each pixel p of `geom` whose centre lies on an edge between mask pixels of different values
 * (see {@link maskBoundaryTies}); other entries are left as they are, so calls over several masks OR their ties.
 */
export function markBoundaryTies(
  mask: SkyMask,
  geom: WcsGeom,
  tied: Uint8Array,
  at: Float64Array = maskPixels(mask, geom),
): void {
  for (let p = 0; p < at.length; p += 2) {
    const mx = at[p] as number;
    const my = at[p + 1] as number;
    if (!Number.isFinite(mx) || !Number.isFinite(my)) continue;
    const tx = Math.abs(mx - Math.floor(mx) - 0.5) < TIE_TOLERANCE;
    const ty = Math.abs(my - Math.floor(my) - 0.5) < TIE_TOLERANCE;
    if (!tx && !ty) continue;
    // The mask pixels the centre could round to: both sides of each tied edge; a tie when they differ.
    const x0 = tx ? Math.floor(mx) : Math.round(mx);
    const y0 = ty ? Math.floor(my) : Math.round(my);
    const v = maskValue(mask, x0, y0);
    if (
      (tx && maskValue(mask, x0 + 1, y0) !== v) ||
      (ty && maskValue(mask, x0, y0 + 1) !== v) ||
      (tx && ty && maskValue(mask, x0 + 1, y0 + 1) !== v)
    )
      tied[p / 2] = 1;
  }
}

/**
 * This thread's projections and tie counts of a mask, by map geometry: pure functions of the two, and a worker
 * reduces run after run on one geometry when the map is smaller than the runs' cutouts (the Crab's 2° map: each of
 * its runs projected the mask and searched its edges again, ~10 ms of a run in a fresh thread). The key is the
 * geometry's exact WCS and size, so a hit returns what the computation would.
 */
const maskMemo = new WeakMap<SkyMask, Map<string, Uint8Array | number>>();
/** Results kept per mask (kinds × geometries): the runs' cutouts differ when the map is larger than them. */
const MEMO_PER_MASK = 16;

function remembered<T extends Uint8Array | number>(
  mask: SkyMask,
  geom: WcsGeom,
  kind: string,
  make: () => T,
): T {
  const w = geom.wcs;
  const key = JSON.stringify([
    kind,
    w.frame,
    w.projection,
    w.ceaLambda,
    w.sinSlant,
    w.crval,
    w.crpix,
    w.cdelt,
    geom.nx,
    geom.ny,
  ]);
  let byGeom = maskMemo.get(mask);
  if (!byGeom) {
    byGeom = new Map();
    maskMemo.set(mask, byGeom);
  }
  const hit = byGeom.get(key);
  if (hit !== undefined) return hit as T;
  const value = make();
  if (byGeom.size >= MEMO_PER_MASK) byGeom.delete(byGeom.keys().next().value as string);
  byGeom.set(key, value);
  return value;
}

/**
 * The edisp kernel the excess/flux estimator uses (science spec §7.1, §7.5): K[t][k] at the IRF pixel nearest the
 * IRF grid's centre (floor of ((n − 1)/2), so IRF pixel (4, 4) for a 10×10 grid whose centre is a corner),
 * weighted per reco bin by the dataset's mask_safe sampled on the IRF grid. A dataset reduced without an EDISP map
 * (map_selection without edisp) uses gammapy's stand-in: the stacked dataset gammapy creates holds
 * EDispKernelMap.from_geom, a diagonal response (the overlap of each true bin with each reco bin, as a fraction of the
 * true bin's width in linear energy), which runs without edisp leave as it is.
 *
 * When no run covers the centre (a map centred away from every pointing by more than offset_max), the kernel is
 * empty there and gammapy's `_get_nearest_valid_position` moves: it tests the centre's pixel (rint, half-even, of
 * (n − 1)/2) in the mask "any K > 0" of the (mask-weighted) kernel map and, if that is empty while some pixel is
 * not, reads the kernel at the valid pixel whose centre is nearest the grid centre (the first in [y][x] order on
 * a tie). pipe also moves when the pixel it reads (which may differ from the one tested) is empty: an empty kernel
 * makes every flux ±inf, where gammapy, by its rounding noise, mostly moved.
 */
import type { Kernels } from '@pipe/kernels';
import { nbins } from '../geom/energy-axis.js';
import { roundHalfEven } from '../geom/rounding.js';
import { npix } from '../geom/wcs-geom.js';
import { angularSeparation } from '../wcs/frames.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import { pixelToSky, skyToPixel, type Wcs } from '../wcs/wcs.js';
import { astropySeparation, wcslibExact, wcslibExactSupports } from '../wcs/wcslib-exact.js';
import type { MapDataset } from './dataset.js';

/** K[t][k] (nTrue × nReco, row t) at the IRF pixel nearest the map centre (the diagonal response without EDISP). */
export function edispKernelAtMapCentre(
  ds: MapDataset,
  kernels: Kernels,
): { matrix: Float64Array; pixel: [number, number]; tie?: Array<[number, number]> } {
  const ig = ds.irfGeom;
  const crval = gammapyIrfCrval(ds.geom.wcs);
  const nT = nbins(ds.energyTrue);
  const nK = nbins(ds.energy);
  const ni = npix(ig);
  const w = new Uint8Array(nK * ni);
  kernels.sampleNearest(
    wcsKernelParams(ig.wcs),
    ig.nx,
    ig.ny,
    wcsKernelParams(ds.geom.wcs),
    ds.geom.nx,
    ds.geom.ny,
    ds.maskSafe,
    nK,
    0,
    new Float64Array(2 * ig.nx + 3),
    w,
  );
  const diagonal = ds.edisp ? undefined : diagonalResponse(ds.energy.edges, ds.energyTrue.edges);
  const value = (t: number, k: number, q: number): number =>
    (ds.edisp ? ds.edisp.data[(t * nK + k) * ni + q] : diagonal?.[t * nK + k]) as number;
  const valid = (q: number): boolean => {
    for (let k = 0; k < nK; k++) {
      if (!w[k * ni + q]) continue;
      for (let t = 0; t < nT; t++) if (value(t, k, q) > 0) return true;
    }
    return false;
  };
  // gammapy tests one pixel (rint) and reads another (the round trip's nearest): when they differ and the one read is
  // empty (its mask sampled at a tie the other way), gammapy's own rounding noise mostly sent it to the fallback, and
  // an empty kernel would make every flux ±inf: the fallback too.
  const { pixel, tie } = kernelPixel(ig, crval, valid, true);
  const p = pixel[1] * ig.nx + pixel[0];
  const matrix = new Float64Array(nT * nK);
  for (let t = 0; t < nT; t++)
    for (let k = 0; k < nK; k++) {
      matrix[t * nK + k] = w[k * ni + p] ? value(t, k, p) : 0;
    }
  return tie ? { matrix, pixel, tie } : { matrix, pixel };
}

/**
 * The IRF pixel gammapy 1.0's `get_edisp_kernel()` reads: the grid centre's (gridCentre), unless the pixel it tests
 * there (`get_by_coord`: rint) holds no kernel while another does; then `_get_nearest_valid_position` takes the valid
 * pixel whose centre is nearest the grid centre (astropy's `separation`, in its arithmetic where wcslib-exact.ts
 * applies; the first in [y][x] order on an exact tie). `alsoWhenReadEmpty`: move too when the pixel read is empty
 * (see edispKernelAtMapCentre). `tie`: as gridCentre's, when the centre's pixel is read.
 */
export function kernelPixel(
  ig: { nx: number; ny: number; wcs: Wcs },
  crval: readonly [number, number] | undefined,
  valid: (q: number) => boolean,
  alsoWhenReadEmpty = false,
): { pixel: [number, number]; tie?: Array<[number, number]> } {
  const centre = gridCentre(ig, crval);
  const [x, y] = centre.pixel;
  const [tx, ty] = centre.tested ?? [roundHalfEven((ig.nx - 1) / 2), roundHalfEven((ig.ny - 1) / 2)];
  if (valid(ty * ig.nx + tx) && !(alsoWhenReadEmpty && !valid(y * ig.nx + x)))
    return centre.tie ? { pixel: [x, y], tie: centre.tie } : { pixel: [x, y] };
  const exact = wcslibExactSupports(ig.wcs)
    ? wcslibExact({ ...ig.wcs, crval: crval ?? ig.wcs.crval })
    : undefined;
  const toSky = (px: number, py: number) => (exact ? exact.pixelToSky(px, py) : pixelToSky(ig.wcs, px, py));
  const separation = exact ? astropySeparation : angularSeparation;
  const [lon0, lat0] = toSky((ig.nx - 1) / 2, (ig.ny - 1) / 2);
  let best = Number.POSITIVE_INFINITY;
  let pixel: [number, number] = [x, y];
  for (let iy = 0; iy < ig.ny; iy++)
    for (let ix = 0; ix < ig.nx; ix++) {
      if (!valid(iy * ig.nx + ix)) continue;
      const [lon, lat] = toSky(ix, iy);
      const d = separation(lon, lat, lon0, lat0);
      if (d < best) {
        best = d;
        pixel = [ix, iy];
      }
    }
  return { pixel };
}

/**
 * gammapy 1.0 get_overlap_fraction(energy_axis, energy_axis_true): K[t][k] = the length of [reco_k] ∩ [true_t] over
 * the length of [true_t], in linear energy (float32 in gammapy's map).
 */
export function diagonalResponse(reco: ArrayLike<number>, truth: ArrayLike<number>): Float64Array {
  const nK = reco.length - 1;
  const nT = truth.length - 1;
  const out = new Float64Array(nT * nK);
  for (let t = 0; t < nT; t++) {
    const bLo = truth[t] as number;
    const bHi = truth[t + 1] as number;
    for (let k = 0; k < nK; k++) {
      const overlap = Math.min(reco[k + 1] as number, bHi) - Math.max(reco[k] as number, bLo);
      out[t * nK + k] = Math.fround(Math.max(overlap, 0) / (bHi - bLo));
    }
  }
  return out;
}

/**
 * The IRF pixel gammapy reads the kernel at (and the exposure at, for aeff-max): the grid's centre_skydir (the sky
 * position of the central fractional pixel ((n − 1)/2)) through to_region_nd_map, which on an even axis lands on a
 * pixel edge that the last bits of its round trips decide (regionCentre). For CAR and TAN grids they are wcslib's
 * own (wcslib-exact.ts: 60 of 60 cutouts, 47 of them ties, read as gammapy 1.0 reads them); another projection takes
 * pipe's WCS round trip, whose 1e-13 error can have the other sign: gridCentre then names the tie.
 */
export function gridCentrePixel(
  ig: { nx: number; ny: number; wcs: Wcs },
  crval?: readonly [number, number],
): [number, number] {
  return gridCentre(ig, crval).pixel;
}

/**
 * The CRVAL gammapy's IRF grids have: `to_binsz` makes them around the analysis grid's `center_skydir`, its
 * reference pixel taken to the sky by wcslib, which is CRVAL up to rounding (83.63299999999998 for 83.633). Any
 * grid of the analysis serves (a run's cutout keeps CRVAL); undefined where wcslib's arithmetic is not reproduced.
 */
export function gammapyIrfCrval(analysis: Wcs): [number, number] | undefined {
  if (!wcslibExactSupports(analysis)) return undefined;
  return wcslibExact(analysis).pixelToSky(analysis.crpix[0] - 1, analysis.crpix[1] - 1);
}

/** A round trip this close to a half-integer (its noise is ~1e-13 pixel) is a tie that rounding decided. */
const TIE_SLACK = 1e-9;

/**
 * gridCentrePixel's pixel and, when its choice is such a tie decided by rounding noise, the pixels on the other side
 * of it (one across an edge, three around a corner), any of which gammapy, through wcslib's arithmetic, may take
 * instead.
 */
export function gridCentre(
  ig: { nx: number; ny: number; wcs: Wcs },
  /** The grid's CRVAL as gammapy has it (gammapyIrfCrval for an IRF grid); default the grid's own. */
  crval?: readonly [number, number],
): {
  pixel: [number, number];
  /** The pixel gammapy tests for a valid kernel there (`get_by_coord`: rint of the centre's pixel coordinates). */
  tested?: [number, number];
  tie?: Array<[number, number]>;
} {
  if (wcslibExactSupports(ig.wcs)) return regionCentre(ig, crval ?? ig.wcs.crval);
  const trip = centreRoundTrip(ig);
  if (!trip) return { pixel: [Math.floor((ig.nx - 1) / 2), Math.floor((ig.ny - 1) / 2)] };
  // Per axis: the chosen index first, and the one across the tie when the round trip landed on one.
  const candidates = (v: number, n: number): number[] => {
    const chosen = nearestTieLow(v, n);
    if (Math.abs(v - Math.floor(v) - 0.5) >= TIE_SLACK) return [chosen];
    const other = Math.min(n - 1, Math.max(0, chosen === Math.floor(v) ? chosen + 1 : chosen - 1));
    return other === chosen ? [chosen] : [chosen, other];
  };
  const xs = candidates(trip[0], ig.nx);
  const ys = candidates(trip[1], ig.ny);
  const [pixel, ...others] = ys.flatMap((y) => xs.map((x): [number, number] => [x, y]));
  return others.length > 0 ? { pixel: pixel!, tie: others } : { pixel: pixel! };
}

/**
 * gammapy's path, in wcslib's arithmetic (wcslib-exact.ts): `center_skydir` (pixel ((n − 1)/2) to the sky), then
 * `to_region_nd_map(SkyCoord)`, whose PointSkyRegion becomes the bounding box of its pixel (regions'
 * `RegionBoundingBox.from_float`: floor(v + 0.5) to ceil(v + 0.5), whose centre is that pixel, or the half-pixel v
 * itself when v + 0.5 is an integer), taken to the sky and back to a pixel again, which the map is read at by
 * scipy's nearest (an exact tie to the lower pixel). On an even axis the centre is such a tie, and the last bit of
 * the two round trips decides it: 5.500000000000021 reads pixel 6 (a DR1 Crab run's 12 × 15 cutout).
 */
function regionCentre(
  ig: { nx: number; ny: number; wcs: Wcs },
  crval: readonly [number, number],
): { pixel: [number, number]; tested: [number, number] } {
  const w = wcslibExact({ ...ig.wcs, crval });
  const [lon, lat] = w.pixelToSky((ig.nx - 1) / 2, (ig.ny - 1) / 2);
  const [x1, y1] = w.skyToPixel(lon, lat);
  const boxCentre = (v: number) => 0.5 * (Math.ceil(v + 0.5) - 1 + Math.floor(v + 0.5));
  const [lon2, lat2] = w.pixelToSky(boxCentre(x1), boxCentre(y1));
  const [x2, y2] = w.skyToPixel(lon2, lat2);
  return {
    pixel: [nearestTieLow(x2, ig.nx), nearestTieLow(y2, ig.ny)],
    tested: [roundHalfEven(x1), roundHalfEven(y1)],
  };
}

/** The grid centre's pixel after pixel → sky → pixel; undefined at the reference pixel, where it is exact. */
function centreRoundTrip(ig: { nx: number; ny: number; wcs: Wcs }): [number, number] | undefined {
  const cx = (ig.nx - 1) / 2;
  const cy = (ig.ny - 1) / 2;
  // At the reference pixel the round trip is exact in wcslib (native coordinates 0, 0): the tie stays a tie.
  if (cx === ig.wcs.crpix[0] - 1 && cy === ig.wcs.crpix[1] - 1) return undefined;
  const [lon, lat] = pixelToSky(ig.wcs, cx, cy);
  return skyToPixel(ig.wcs, lon, lat);
}

/** The nearest integer of x in [0, n − 1], an exact tie to the lower one (RegularGridInterpolator "nearest"). */
function nearestTieLow(x: number, n: number): number {
  const i = Math.floor(x);
  const j = x - i > 0.5 ? i + 1 : i;
  return Math.min(n - 1, Math.max(0, j));
}

/**
 * The per-run map makers of science spec §4.1–4.3: counts from events, exposure from AEFF, background from
 * BKG_3D. Each is a plain function over typed arrays; the loops run in the kernels passed in.
 */
import type { Kernels } from '@pipe/kernels';
import { EDGE_SLACK, type EnergyAxis, logCentres, logEdges, nbins } from '../geom/energy-axis.js';
import { geomSolidAngles, npix, type WcsGeom } from '../geom/wcs-geom.js';
import { apply, DEG, icrsToFrameMatrix, lonLat, offsetFrameMatrix, type SkyFrame } from '../wcs/frames.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import { createWcs } from '../wcs/wcs.js';
import type { AeffInputs, BkgInputs } from './irf-inputs.js';

/** An ICRS pointing direction, degrees. */
export interface Pointing {
  ra: number;
  dec: number;
}

/** Event coordinates: ICRS degrees and energy in TeV, float64 (float32 columns widened). */
export interface EventCoords {
  ra: Float64Array;
  dec: Float64Array;
  energy: Float64Array;
  /**
   * The file's RA/DEC columns are float32 (TFORM E, as in H.E.S.S. DL3). astropy then turns them into radians in
   * float32 when it changes frame (see `eventsInFrame`); absent means float64.
   */
  radecFloat32?: boolean;
}

const F32_DEG_TO_RAD = Math.fround(Math.PI / 180);

/**
 * Event positions in a non-ICRS map frame, as gammapy gets them: `EventList.radec` is a SkyCoord over the float32
 * RA/DEC columns, and astropy's frame change converts degrees to radians in the columns' dtype (float32 × the
 * scale, rounded to float32) before the float64 rotation. That rounding moves an event by up to ~1e-5°, so an
 * event that close to a pixel edge lands in the other pixel than a float64 conversion gives (MSH 15-52 in
 * Galactic at 0.04°: 4 pixels differed by one count). Returns (lon, lat) in degrees in `frame`.
 */
export function eventsInFrame(
  events: EventCoords,
  frame: SkyFrame,
): { lon: Float64Array; lat: Float64Array } {
  const m = icrsToFrameMatrix(frame);
  const n = events.ra.length;
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  const f32 = events.radecFloat32 === true;
  for (let i = 0; i < n; i++) {
    const ra = events.ra[i] as number;
    const dec = events.dec[i] as number;
    // float32 × float32 is exact in float64; fround then rounds it as numpy's float32 multiply does.
    const r = f32 ? Math.fround(Math.fround(ra) * F32_DEG_TO_RAD) : ra * DEG;
    const d = f32 ? Math.fround(Math.fround(dec) * F32_DEG_TO_RAD) : dec * DEG;
    const cd = Math.cos(d);
    const [x, y, z] = apply(m, [cd * Math.cos(r), cd * Math.sin(r), Math.sin(d)]);
    const [l, b] = lonLat(x, y, z);
    lon[i] = l;
    lat[i] = b;
  }
  return { lon, lat };
}

/** Per-pixel geometry relative to a pointing: offset, and FoV lon/lat (RADEC-aligned), degrees. */
export interface PointingGeometry {
  offset: Float64Array;
  fovLon: Float64Array;
  fovLat: Float64Array;
}

/** Offsets and FoV coordinates of every pixel centre of `geom` relative to `pointing`. */
export function pointingGeometry(geom: WcsGeom, pointing: Pointing, kernels: Kernels): PointingGeometry {
  const n = npix(geom);
  const out = { offset: new Float64Array(n), fovLon: new Float64Array(n), fovLat: new Float64Array(n) };
  kernels.pixelFovCoords(
    wcsKernelParams(geom.wcs),
    geom.nx,
    geom.ny,
    offsetFrameMatrix(pointing.ra, pointing.dec),
    new Float64Array(2 * geom.nx + 3),
    out.offset,
    out.fovLon,
    out.fovLat,
  );
  return out;
}

/** Counts cube [E][y][x] (§4.1): every event in the map and energy range, no other cut. */
export function makeCounts(
  events: EventCoords,
  geom: WcsGeom,
  energy: EnergyAxis,
  kernels: Kernels,
): Float32Array {
  const out = new Float32Array(nbins(energy) * npix(geom));
  // A non-ICRS map: the events go in already in the map frame (astropy's rounding, `eventsInFrame`), through a
  // WCS with the same projection and no frame rotation.
  const inFrame = geom.wcs.frame === 'icrs' ? undefined : eventsInFrame(events, geom.wcs.frame);
  kernels.binEvents(
    inFrame?.lon ?? events.ra,
    inFrame?.lat ?? events.dec,
    events.energy,
    events.ra.length,
    wcsKernelParams(inFrame ? createWcs({ ...geom.wcs, frame: 'icrs' }) : geom.wcs),
    geom.nx,
    geom.ny,
    logEdges(energy),
    nbins(energy),
    out,
  );
  return out;
}

/**
 * Exposure cube [E_true][y][x] in m² s (§4.2): AEFF at the true-energy log centres and each pixel's offset,
 * times the livetime.
 */
export function makeExposure(
  aeff: AeffInputs,
  offsets: Float64Array,
  geomNpix: number,
  energyTrue: EnergyAxis,
  livetime: number,
  kernels: Kernels,
): Float32Array {
  const nT = nbins(energyTrue);
  const out = new Float32Array(nT * geomNpix);
  kernels.evalAeffMap(
    offsets,
    geomNpix,
    aeff.table,
    aeff.lnENodes,
    aeff.lnENodes.length,
    aeff.offNodes,
    aeff.offNodes.length,
    aeff.bounds,
    logCentres(energyTrue),
    nT,
    livetime,
    new Float64Array(2 * nT),
    out,
  );
  return out;
}

/**
 * Background template [E][y][x] in counts (§4.3): the rate integrated log-log over each reco bin, × pixel solid
 * angle × ontime. Rates are per MeV and energies in TeV, hence the 1e6. BKG_3D (RADEC-aligned) or BKG_2D.
 */
export function makeBackground(
  bkg: BkgInputs,
  fov: PointingGeometry,
  geom: WcsGeom,
  energy: EnergyAxis,
  ontime: number,
  kernels: Kernels,
  solidAngle: Float64Array = geomSolidAngles(geom),
): Float32Array {
  const nK = nbins(energy);
  const n = npix(geom);
  const out = new Float32Array(nK * n);
  // BKG_2D: the pixel's angular separation from the pointing on the "lon" axis, as gammapy's
  // make_map_background_irf evaluates it (not √(lon² + lat²) of the FoV coordinates: 1e-5 apart at 1.4°)
  const lon = bkg.radial ? fov.offset : fov.fovLon;
  const lat = bkg.radial ? new Float64Array(n) : fov.fovLat;
  // An axis edge meant to be the table's bound (max: 100 TeV on a BKG table ending at 100 TeV) comes out of
  // exp(ln lo + k·step) a few ulps off: beyond the bound, the edge's rate was 0 and so was the whole bin's
  // background, and the safe mask dropped the bin (a DR1 cross-check: 100.00000000000004 here, while gammapy's numpy
  // gave 99.99999999999994 and kept it). An edge within 1e-12 of a bound counts as inside (its rate extrapolated
  // by that much).
  const bounds = Float64Array.from(bkg.bounds);
  bounds[0] = (bounds[0] as number) * (1 - EDGE_SLACK);
  bounds[1] = (bounds[1] as number) * (1 + EDGE_SLACK);
  kernels.evalBkgMap(
    lon,
    lat,
    n,
    bkg.lnTable,
    bkg.lnENodes,
    bkg.lnENodes.length,
    bkg.lonNodes,
    bkg.lonNodes.length,
    bkg.latNodes,
    bkg.latNodes.length,
    bounds,
    energy.edges,
    nK,
    solidAngle,
    ontime * 1e6,
    new Float64Array(3 * (nK + 1)),
    out,
  );
  return out;
}

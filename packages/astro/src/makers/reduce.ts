/**
 * Reduction of one run (science spec §4.0–4.6): cutout around the pointing → counts, exposure, background, PSF
 * and EDISP maps → safe mask → FoV background scale. Returns a per-run dataset on the run's cutout.
 */
import type { Kernels } from '@pipe/kernels';
import { cutoutAround, isCutoutFailure } from '../geom/cutout.js';
import { type EnergyAxis, logCentres, nbins } from '../geom/energy-axis.js';
import { geomSolidAngles, npix, pixelCentresIcrs, type WcsGeom } from '../geom/wcs-geom.js';
import type { IrfTable } from '../irf/index.js';
import { altAzFovCoords } from '../wcs/index.js';
import type { MapDataset, OnOffMaps, RunMeta } from './dataset.js';
import { gammapyIrfCrval, gridCentrePixel, kernelPixel } from './edisp-centre.js';
import { maskBoundaryTies, maskCoversEnergy, projectMask, type SkyMask } from './exclusion.js';
import { type FovNormRequirements, type FovPlaneSums, fovBackgroundNorm, fovPlaneSums } from './fov-norm.js';
import {
  defaultParameters,
  type FovShapeModel,
  fitShape,
  isFitFailure,
  shapeFactors,
} from './fov-spectrum.js';
import {
  aeffInputs,
  bkgInputs,
  edispInputs,
  type IrfInputFailure,
  isIrfInputFailure,
  psfInputs,
} from './irf-inputs.js';
import {
  type EdispKernelMap,
  edispKernelAtPixel,
  makeEdispKernelMap,
  makeIrfExposure,
  makePsfMap,
  type PsfMap,
} from './irf-maps.js';
import { makeBackground, makeCounts, makeExposure, pointingGeometry } from './maps.js';
import type { IrfType, ObservationData } from './observation-data.js';
import { parametricPsfMap } from './psf-parametric.js';
import { type RingFailure, runRingBackground } from './ring-background.js';
import { isSafeMaskFailure, makeSafeMask, type SafeMaskMethod } from './safe-mask.js';

/** The analysis grids (the `datasets.geom` part of the config). */
export interface ReductionGeometry {
  geom: WcsGeom;
  energy: EnergyAxis;
  energyTrue: EnergyAxis;
  /** Coarse grid of the PSF and EDISP maps (binsize_irf). */
  irfGeom: WcsGeom;
  /** PSF map rad axis edges (deg). */
  radEdges: Float64Array;
  /** Half-side of the per-run cutout (geom.selection.offset_max), deg. */
  offsetMax: number;
}

export type MapName = 'counts' | 'exposure' | 'background' | 'psf' | 'edisp';

export interface ReductionConfig {
  /** map_selection; counts and exposure are always made (stacking needs them). */
  maps: readonly MapName[];
  safeMask: {
    methods: readonly SafeMaskMethod[];
    offsetMax?: number;
    biasPercent?: number;
    aeffPercent?: number;
  };
  background:
    | {
        method: 'fov_background';
        exclusion?: SkyMask;
        requirements?: FovNormRequirements;
        /** A spectral model other than pl-norm, and the method (for pl-norm, fit and scale agree: fov-norm.ts). */
        spectrum?: { model: FovShapeModel; method: 'scale' | 'fit' };
      }
    /** RingBackgroundMaker: inner radius and width in degrees. */
    | { method: 'ring'; rIn: number; width: number; exclusion?: SkyMask; onOff?: boolean }
    | { method: 'none' };
}

/** Why a run could not be reduced. */
export interface ReductionFailure {
  reason:
    | 'irf-unsupported'
    | 'irf-missing'
    | 'no-overlap'
    | 'safe-mask-input-missing'
    | RingFailure['reason'];
  obsId: number;
  message: string;
  /** The config setting to blame (the build says where it was written), when one decides the failure. */
  param?: string[];
}

/** Something the user should know about a reduced run (a safe-mask method's, or the exclusion mask's). */
export interface ReductionWarning {
  method?: SafeMaskMethod;
  message: string;
}

export interface ReductionResult {
  dataset: MapDataset;
  warnings: ReductionWarning[];
}

function fail(
  obsId: number,
  f: { reason: ReductionFailure['reason']; message: string; param?: string[] },
): ReductionFailure {
  return {
    reason: f.reason,
    obsId,
    message: `OBS_ID ${obsId}: ${f.message}`,
    ...(f.param ? { param: f.param } : {}),
  };
}

export function isReductionFailure(v: ReductionResult | ReductionFailure): v is ReductionFailure {
  return 'reason' in v;
}

/**
 * The IRFs a reduction reads, from the maps it makes and its safe-mask methods (gammapy reads an IRF only when it
 * uses it: a run without a BKG HDU still serves an analysis without a background map). The effective area always.
 */
export function irfsUsed(
  maps: Iterable<string>,
  safeMaskMethods: readonly string[],
): Record<IrfType, boolean> {
  const want = new Set(maps);
  return {
    aeff: true,
    edisp: want.has('edisp') || safeMaskMethods.includes('edisp-bias'),
    psf: want.has('psf'),
    bkg: want.has('background'),
  };
}

/** Reduces one run onto its cutout of the analysis geometry. */
export function reduceObservation(
  obs: ObservationData,
  rg: ReductionGeometry,
  config: ReductionConfig,
  kernels: Kernels,
): ReductionResult | ReductionFailure {
  const want = new Set(config.maps);
  const used = irfsUsed(config.maps, config.safeMask.methods);
  const cut = cutoutAround(rg.geom, obs.pointing.ra, obs.pointing.dec, 2 * rg.offsetMax);
  const irfCut = cutoutAround(rg.irfGeom, obs.pointing.ra, obs.pointing.dec, 2 * rg.offsetMax);
  // Say where the numbers come from: the run's pointing and the config keys that size the cutout and the map.
  const overlap = (f: { reason: 'no-overlap'; message: string }) =>
    fail(obs.obsId, {
      reason: f.reason,
      message: `${f.message}: the run's pointing (RA_PNT, DEC_PNT) is outside the map (datasets.geom.wcs: skydir, width) by more than datasets.geom.selection.offset_max (${rg.offsetMax} deg); select runs near the map (observations.obs_cone) or widen it`,
      // gammapy: astropy's NoOverlapError. The cutout's half-size is blamed, so the build says where it was set
      // (or the nearest setting written above it, e.g. datasets.geom).
      param: ['datasets', 'geom', 'selection', 'offset_max'],
    });
  if (isCutoutFailure(cut)) return overlap(cut);
  if (isCutoutFailure(irfCut)) return overlap(irfCut);
  if (!obs.aeff)
    return fail(obs.obsId, { reason: 'irf-missing', message: 'no AEFF: the exposure cannot be made' });
  const aeff = aeffInputs(obs.aeff);
  if (isIrfInputFailure(aeff)) return fail(obs.obsId, aeff);
  const geom = cut.geom;
  const n = npix(geom);
  const nE = nbins(rg.energy);
  const livetime = obs.ontime * obs.deadc;
  const fov = pointingGeometry(geom, obs.pointing, kernels);

  const counts = makeCounts(obs.events, geom, rg.energy, kernels);
  const exposure = makeExposure(aeff, fov.offset, n, rg.energyTrue, livetime, kernels);
  let background: Float32Array = new Float32Array(nE * n);
  // gammapy's MapDatasetMaker reads the run's BKG for a background map (map_selection), and fails without one (an
  // AttributeError on None): a run the HDU index gives no BKG row, kept by a required_irf without bkg.
  if (used.bkg && !obs.bkg)
    return fail(obs.obsId, {
      reason: 'irf-missing',
      message: 'map_selection lists background but the run has no BKG (the HDU index names none)',
      param: ['datasets', 'map_selection'],
    });
  if (used.bkg && obs.bkg) {
    const bkg = bkgInputs(obs.bkg);
    if (isIrfInputFailure(bkg)) return fail(obs.obsId, bkg);
    const solidAngle = geomSolidAngles(geom, { geom: rg.geom, x0: cut.x0, y0: cut.y0 });
    let bkgFov = fov;
    if (bkg.altAz) {
      const horizon = obs.horizon;
      if (!horizon || 'missing' in horizon)
        return fail(obs.obsId, {
          reason: 'irf-unsupported',
          message: `the background (${obs.bkg.file} [${obs.bkg.hdu}]) is aligned with alt/az (FOVALIGN=ALTAZ), which needs the observatory (GEOLON, GEOLAT, GEOALT or ALTITUDE) and the run's times (TSTART, TSTOP, MJDREFI/MJDREFF) in the EVENTS header, as gammapy does; ${horizon ? `${horizon.where.file} [${horizon.where.hdu}]: ${horizon.missing}` : 'they were not read'}`,
        });
      const { ra, dec } = pixelCentresIcrs(geom);
      const fovAltAz = altAzFovCoords(ra, dec, obs.pointing, horizon.epoch, horizon.site);
      bkgFov = { offset: fov.offset, fovLon: fovAltAz.lon, fovLat: fovAltAz.lat };
    }
    background = makeBackground(bkg, bkgFov, geom, rg.energy, obs.ontime, kernels, solidAngle);
  }

  const irfN = npix(irfCut.geom);
  const needIrf = used.psf || used.edisp;
  const irfFov = needIrf ? pointingGeometry(irfCut.geom, obs.pointing, kernels) : undefined;
  const irfExposure = irfFov
    ? makeIrfExposure(aeff, irfFov.offset, irfN, rg.energyTrue, livetime, kernels)
    : undefined;
  let psf: PsfMap | undefined;
  let edisp: EdispKernelMap | undefined;
  if (used.psf && irfFov && irfExposure) {
    if (!obs.psf)
      return fail(obs.obsId, {
        reason: 'irf-missing',
        message: 'map_selection lists psf but the run has no PSF',
      });
    if (obs.psf.hduClass === 'psf_3gauss' || obs.psf.hduClass === 'psf_king') {
      const data = parametricPsfMap(obs.psf, irfFov.offset, irfN, rg.energyTrue, rg.radEdges);
      if (!(data instanceof Float32Array)) return fail(obs.obsId, data);
      psf = { radEdges: rg.radEdges, data, exposure: irfExposure };
    } else {
      const inputs = psfInputs(obs.psf);
      if (isIrfInputFailure(inputs)) return fail(obs.obsId, inputs);
      psf = makePsfMap(inputs, irfFov.offset, irfN, rg.energyTrue, rg.radEdges, irfExposure, kernels);
    }
  }
  if (used.edisp && irfFov && irfExposure) {
    if (!obs.edisp) return fail(obs.obsId, { reason: 'irf-missing', message: 'the run has no EDISP' });
    const inputs = edispInputs(obs.edisp);
    if (isIrfInputFailure(inputs)) return fail(obs.obsId, inputs as IrfInputFailure);
    edisp = makeEdispKernelMap(inputs, irfFov.offset, irfN, rg.energyTrue, rg.energy, irfExposure, kernels);
  }

  const safe = makeSafeMask(config.safeMask.methods, {
    energy: rg.energy,
    npix: n,
    // Only a background map the reduction made masks by its values (gammapy: `if dataset.background is not None`).
    ...(used.bkg ? { background } : {}),
    aeffThresholds: aeff.thresholds,
    offsets: fov.offset,
    offsetMax: config.safeMask.offsetMax ?? 3,
    ...(edisp
      ? { edispKernel: { matrix: edispNearGridCentre(edisp, rg, irfCut.geom), energyTrue: rg.energyTrue } }
      : {}),
    ...(config.safeMask.biasPercent !== undefined ? { biasPercent: config.safeMask.biasPercent } : {}),
    ...(config.safeMask.methods.includes('aeff-max')
      ? {
          aeffAtCentre: {
            values: aeffAtGridCentre(exposure, geom, nbins(rg.energyTrue), livetime),
            energyTrue: rg.energyTrue,
          },
        }
      : {}),
    ...(config.safeMask.aeffPercent !== undefined ? { aeffPercent: config.safeMask.aeffPercent } : {}),
  });
  if (isSafeMaskFailure(safe)) return fail(obs.obsId, safe);
  const maskSafe = safe.mask;

  const run: RunMeta = {
    obsId: obs.obsId,
    pointing: obs.pointing,
    ontime: obs.ontime,
    deadc: obs.deadc,
    livetime,
    countsInMap: sumOf(counts),
    backgroundTemplateSum: sumOf(background),
    fovNorm: 1,
    fovNormErr: Number.NaN,
  };
  if (config.background.method === 'fov_background') {
    const exclusion = config.background.exclusion
      ? projectMask(config.background.exclusion, geom, kernels)
      : new Uint8Array(n).fill(1);
    const fitMask = maskOutsideMaskEnergies(maskSafe, config.background.exclusion, rg, n);
    const spectrum = config.background.spectrum;
    const centres = logCentres(rg.energy);
    // gammapy checks the requirements and scales with the model at its defaults, whatever the method.
    const norm = fovBackgroundNorm(
      counts,
      background,
      fitMask,
      exclusion,
      n,
      nE,
      config.background.requirements,
      spectrum && shapeFactors(spectrum.model, defaultParameters(spectrum.model), centres),
    );
    run.fovCounts = norm.countsTotal;
    run.fovBackground = norm.backgroundTotal;
    if (norm.invalid) {
      run.fovInvalid = norm.invalid;
      maskSafe.fill(0);
    } else if (!spectrum) {
      run.fovNorm = norm.norm;
      run.fovNormErr = norm.normErr;
      scaleInPlace(background, norm.norm);
    } else {
      const fit =
        spectrum.method === 'scale'
          ? {
              parameters: { ...defaultParameters(spectrum.model), norm: norm.norm },
              errors: { norm: norm.normErr },
            }
          : fitFovShape(spectrum.model, fovPlaneSums(counts, background, fitMask, exclusion, n, nE), centres);
      if (isFitFailure(fit)) {
        run.fovInvalid = 'fit-not-converged';
        run.fovFitProblem = fit.failed;
        maskSafe.fill(0);
      } else {
        run.fovNorm = fit.parameters['norm'] as number;
        run.fovNormErr = fit.errors['norm'] ?? Number.NaN;
        run.fovSpectrum = { model: spectrum.model, ...fit };
        scalePlanesInPlace(background, shapeFactors(spectrum.model, fit.parameters, centres), n);
      }
    }
  }

  const ringWarnings: ReductionWarning[] = [];
  let onOff: OnOffMaps | undefined;
  if (config.background.method === 'ring') {
    // The ring's one reco bin at a centre the cube mask's energy axis does not reach: gammapy reads the mask there
    // as NaN, as beyond its image, and its background comes out 0 everywhere.
    const ringMask = config.background.exclusion;
    if (ringMask?.energyRange && binsOutsideMask(ringMask, rg).length > 0)
      return fail(obs.obsId, {
        reason: 'exclusion-outside',
        message: `the exclusion mask is a cube whose energy axis (${ringMask.energyRange.min.toPrecision(4)}–${ringMask.energyRange.max.toPrecision(4)} TeV) does not reach the centre of the reco energy bin: the ring background needs the mask at that energy (gammapy 1.0 finds no plane there and its background comes out 0 everywhere); use a 2-D mask`,
        param: ['datasets', 'background', 'exclusion'],
      });
    const ring = runRingBackground(
      { counts, acceptance: background, maskSafe, geom, nE },
      config.background,
      kernels,
    );
    if ('reason' in ring) return fail(obs.obsId, ring);
    background = ring.background;
    onOff = ring.onOff;
    if (ring.warning) ringWarnings.push({ message: `OBS_ID ${obs.obsId}: ${ring.warning}` });
  }

  const dataset: MapDataset = {
    name: `obs_${obs.obsId}`,
    geom,
    irfGeom: irfCut.geom,
    placement: { x0: cut.x0, y0: cut.y0, irfX0: irfCut.x0, irfY0: irfCut.y0 },
    energy: rg.energy,
    energyTrue: rg.energyTrue,
    counts,
    exposure,
    background,
    maskSafe,
    livetime,
    ontime: obs.ontime,
    runs: [run],
    ...(obs.gti ? { gti: obs.gti } : {}),
  };
  if (psf) dataset.psf = psf;
  if (edisp && want.has('edisp')) dataset.edisp = edisp;
  if (onOff) dataset.onOff = onOff;
  return {
    dataset,
    warnings: [
      ...(obs.firstRowOutsideCut
        ? [
            {
              message: `OBS_ID ${obs.obsId}: gammapy 1.0 would drop this run: its Observations.select_time compares obs_time with the run's first GTI row only, which lies outside the interval; pipe keeps the run's GTI rows inside it (${obs.ontime.toFixed(1)} s)`,
            },
          ]
        : []),
      ...pointLike(obs.obsId, obs.aeff),
      ...negativeAeff(obs.obsId, obs.aeff, rg.energyTrue, maxOf(fov.offset)),
      ...safe.warnings,
      ...exclusionTies(config, geom),
      ...exclusionEnergies(config, rg),
      ...ringWarnings,
    ],
  };
}

/**
 * A point-like AEFF (MAGIC, LST-1, VERITAS 1D IRFs) counts only the events inside its RAD_MAX cut: a map's exposure
 * and fluxes made from it are not those of the full PSF. gammapy 1.0's map maker uses it without a word; pipe makes
 * the same maps and says so.
 */
function pointLike(obsId: number, aeff: IrfTable): ReductionWarning[] {
  if (!aeff.pointLike) return [];
  return [
    {
      message: `OBS_ID ${obsId}: the effective area (${aeff.file} [${aeff.hdu}]) is point-like (HDUCLAS3 = POINT-LIKE): it counts only the events inside the RAD_MAX cut, so the exposure and flux maps are those of a 1D analysis (gammapy 1.0 makes them from it the same way)`,
    },
  ];
}

/**
 * An effective area below 0 is no area: a damaged or mis-made IRF. gammapy 1.0 reads it and clips what it
 * interpolates to 0 (ScaledRegularGridInterpolator, clip=True) without a word, and so does the exposure kernel, so the
 * maps are gammapy's; the user hears of it, with the file, HDU, column and the most negative bin. Only nodes the
 * maps interpolate from count (the true-energy axis's range, offsets up to the map's farthest pixel, and the node
 * beyond each end): DR1 has such values in 13 runs, all at energies or offsets an analysis rarely reads.
 */
function negativeAeff(
  obsId: number,
  aeff: IrfTable,
  energyTrue: EnergyAxis,
  offsetMax: number,
): ReductionWarning[] {
  const data = aeff.data;
  const energyAxis = aeff.axes.findIndex((a) => a.name === 'energy_true');
  const offsetAxis = aeff.axes.findIndex((a) => a.name === 'offset');
  const read = aeff.axes.map((axis, k) =>
    k === energyAxis
      ? nodesBetween(
          axis.nodes,
          energyTrue.edges[0] as number,
          energyTrue.edges[energyTrue.edges.length - 1] as number,
        )
      : k === offsetAxis
        ? nodesBetween(axis.nodes, 0, offsetMax)
        : [0, axis.nbin - 1],
  );
  let bad = 0;
  let worst = -1;
  for (let i = 0; i < data.length; i++) {
    if (!((data[i] as number) < 0)) continue;
    const inRange = aeff.shape.every((_, k) => {
      const at = Math.floor(i / (aeff.strides[k] as number)) % (aeff.shape[k] as number);
      return at >= read[k]![0]! && at <= read[k]![1]!;
    });
    if (!inRange) continue;
    bad++;
    if (worst < 0 || (data[i] as number) < (data[worst] as number)) worst = i;
  }
  if (bad === 0) return [];
  const bin = aeff.shape.map(
    (n, k) => `${aeff.axes[k]?.name ?? `axis ${k}`} ${Math.floor(worst / (aeff.strides[k] as number)) % n}`,
  );
  const column = aeff.arrays['aeff']?.column ?? 'EFFAREA';
  return [
    {
      message: `OBS_ID ${obsId}: the effective area (${aeff.file} [${aeff.hdu}], column ${column}) has ${bad} negative value${bad === 1 ? '' : 's'} where the maps read it, the lowest ${data[worst]} ${aeff.unit} at bin [${bin.join(', ')}] (0-based): an area cannot be negative (a damaged or mis-made IRF?); the exposure is 0 where it interpolates below 0, as gammapy 1.0 makes it (silently)`,
    },
  ];
}

/** The node indices [first, last] an interpolation over [lo, hi] reads: those inside, and the one beyond each end. */
function nodesBetween(nodes: ArrayLike<number>, lo: number, hi: number): [number, number] {
  let first = 0;
  while (first + 1 < nodes.length && (nodes[first + 1] as number) <= lo) first++;
  let last = nodes.length - 1;
  while (last > 0 && (nodes[last - 1] as number) >= hi) last--;
  return [first, last];
}

function maxOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if ((values[i] as number) > m) m = values[i] as number;
  return m;
}

/** The reco bins (0-based) at whose log centre an exclusion cube has no plane (none for a 2-D mask). */
function binsOutsideMask(mask: SkyMask | undefined, rg: ReductionGeometry): number[] {
  if (!mask?.energyRange) return [];
  const e = rg.energy.edges;
  const out: number[] = [];
  for (let k = 0; k + 1 < e.length; k++)
    if (!maskCoversEnergy(mask, Math.sqrt((e[k] as number) * (e[k + 1] as number)))) out.push(k);
  return out;
}

/**
 * The safe mask the FoV norm sums over: as gammapy's FoVBackgroundMaker, which interpolates an exclusion cube onto
 * the dataset's reco bins, a bin whose centre its energy axis does not reach is excluded (the run's own safe mask
 * is not changed). The same array when the mask is 2-D or covers every bin.
 */
function maskOutsideMaskEnergies(
  maskSafe: Uint8Array,
  mask: SkyMask | undefined,
  rg: ReductionGeometry,
  n: number,
): Uint8Array {
  const outside = binsOutsideMask(mask, rg);
  if (outside.length === 0) return maskSafe;
  const copy = maskSafe.slice();
  for (const k of outside) copy.fill(0, k * n, (k + 1) * n);
  return copy;
}

function exclusionEnergies(config: ReductionConfig, rg: ReductionGeometry): ReductionWarning[] {
  if (config.background.method !== 'fov_background') return [];
  const mask = config.background.exclusion;
  const outside = binsOutsideMask(mask, rg);
  if (outside.length === 0 || !mask?.energyRange) return [];
  const e = rg.energy.edges;
  const bins = outside.map(
    (k) => `${(e[k] as number).toPrecision(4)}–${(e[k + 1] as number).toPrecision(4)}`,
  );
  return [
    {
      message:
        `the exclusion mask is a cube whose energy axis (${mask.energyRange.min.toPrecision(4)}–${mask.energyRange.max.toPrecision(4)} TeV) ` +
        `does not reach the centre of reco bin${outside.length === 1 ? '' : 's'} ${bins.join(', ')} TeV: as in gammapy, ` +
        `${outside.length === 1 ? 'that bin is' : 'those bins are'} excluded from the FoV normalisation (a 2-D mask applies at every energy)`,
    },
  ];
}

/**
 * A warning when map pixel centres lie on edges between usable and excluded mask pixels: there gammapy's choice is
 * decided by its WCS round trip's floating-point noise, so its FoV norm can differ from pipe's (by ~1e-3 for a
 * bright source whose exclusion circle has such edges: found by a gammapy cross-check sweep).
 */
function exclusionTies(config: ReductionConfig, geom: WcsGeom): ReductionWarning[] {
  const mask = config.background.method === 'none' ? undefined : config.background.exclusion;
  const ties = mask ? maskBoundaryTies(mask, geom) : 0;
  if (ties === 0) return [];
  return [
    {
      message:
        `${ties} map pixel centre${ties === 1 ? ' lies' : 's lie'} exactly on an edge between usable and excluded pixels of the exclusion mask: ` +
        `pipe rounds them half to even, gammapy by the floating-point noise of its WCS round trip, so the ${config.background.method === 'ring' ? 'ring background' : 'FoV norm'} may differ from gammapy's ` +
        "(a mask whose pixel edges do not pass through the map's pixel centres avoids this: one on the map's own grid, or this one with its CRPIX moved by half a map pixel)",
    },
  ];
}

/**
 * K[t][k] at the IRF pixel gammapy's edisp-bias reads: nearest the centre of the run's IRF grid, or, when the run's
 * kernel is empty there (a map centred beyond the IRF's offsets), at the nearest pixel where it is not.
 */
function edispNearGridCentre(edisp: EdispKernelMap, rg: ReductionGeometry, ig: WcsGeom): Float64Array {
  const ni = npix(ig);
  const cells = nbins(rg.energyTrue) * nbins(rg.energy);
  const valid = (q: number) => {
    for (let i = 0; i < cells; i++) if ((edisp.data[i * ni + q] as number) > 0) return true;
    return false;
  };
  const [x, y] = kernelPixel(ig, gammapyIrfCrval(rg.geom.wcs), valid).pixel;
  return edispKernelAtPixel(edisp, ni, nbins(rg.energyTrue), nbins(rg.energy), y * ig.nx + x);
}

/**
 * The effective area per true-energy bin at the run's map centre (gammapy's aeff-max position: the cutout's
 * center_skydir, read from the exposure map by nearest pixel, ÷ livetime, in float32).
 */
function aeffAtGridCentre(exposure: Float32Array, geom: WcsGeom, nT: number, livetime: number): Float32Array {
  const [x, y] = gridCentrePixel(geom);
  const n = npix(geom);
  const p = y * geom.nx + x;
  const out = new Float32Array(nT);
  for (let t = 0; t < nT; t++) out[t] = (exposure[t * n + p] as number) / livetime;
  return out;
}

// Small loops in their own functions: a fresh worker optimises them after a few calls, where the same loops inline
// would wait for the whole reduction function to be compiled.

/** Σ values, in order, in float64. */
function sumOf(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum;
}

/** values[i] = factor · values[i] (float32 rounding, as before). */
function scaleInPlace(values: Float32Array, factor: number): void {
  for (let i = 0; i < values.length; i++) values[i] = factor * (values[i] as number);
}

/** The Cash fit of the FoV background's shape; gammapy's statistic is NaN with a NaN background in the fit region. */
function fitFovShape(
  model: FovShapeModel,
  sums: FovPlaneSums,
  centres: Float64Array,
): ReturnType<typeof fitShape> {
  if (sums.nan) return { failed: 'the fit statistic is NaN (a NaN background in the fit region)' };
  return fitShape(model, sums.counts, sums.background, centres);
}

/** Each energy plane of `npix` values times its own factor. */
function scalePlanesInPlace(values: Float32Array, factors: ArrayLike<number>, npix: number): void {
  for (let k = 0; k < factors.length; k++) {
    const factor = factors[k] as number;
    for (let i = k * npix; i < (k + 1) * npix; i++) values[i] = factor * (values[i] as number);
  }
}

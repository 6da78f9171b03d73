/**
 * From the `datasets` section of a gammapy AnalysisConfig (as config/ normalises it) to the reduction's
 * geometry and settings, with gammapy 1.0's meaning of each key (science spec §0). Problems are values.
 */
import type { AnalysisConfig } from '../config/index.js';
import { parseAngle, unknownParameter } from '../config/index.js';
import { didYouMean } from '../fits/errors.js';
import { isEnergyAxisFailure, logEnergyAxis } from '../geom/energy-axis.js';
import { createWcsGeom, irfGeom as irfGeomOf, isGeomFailure } from '../geom/wcs-geom.js';
import type { SkyMask } from './exclusion.js';
import type { FovNormRequirements } from './fov-norm.js';
import { FOV_SPECTRAL_MODELS } from './fov-spectrum.js';
import { defaultRadEdges } from './irf-maps.js';
import type { MapName, ReductionConfig, ReductionGeometry } from './reduce.js';
import { SAFE_MASK_METHODS, type SafeMaskMethod } from './safe-mask.js';

/** A config value the reduction cannot use; `path` points into the config. */
export interface ReductionConfigIssue {
  reason: 'config-unsupported' | 'config-invalid';
  path: string[];
  message: string;
  hint?: string;
}

type Datasets = AnalysisConfig['datasets'];

/** The methods of gammapy 1.0's FoVBackgroundMaker. */
const FOV_METHODS = ['fit', 'scale'];

/** The analysis grids of `datasets.geom`: the map, its IRF grid, the energy axes, the cutout half-size. */
export function reductionGeometryFromConfig(ds: Datasets): ReductionGeometry | ReductionConfigIssue {
  const { wcs, axes, selection } = ds.geom;
  const sky = wcs.skydir;
  if (sky.lon === null || sky.lat === null || sky.frame === null)
    return {
      reason: 'config-invalid',
      path: ['datasets', 'geom', 'wcs', 'skydir'],
      message: 'the map centre needs frame, lon and lat',
    };
  const spec = {
    skydir: { lon: sky.lon, lat: sky.lat, frame: sky.frame },
    frame: sky.frame,
    binsize: wcs.binsize,
    width: [wcs.width.width, wcs.width.height] as [number, number],
  };
  const geom = createWcsGeom(spec);
  if (isGeomFailure(geom))
    return { reason: 'config-invalid', path: ['datasets', 'geom', 'wcs'], message: geom.message };
  const irfGeom = irfGeomOf(spec, wcs.binsize_irf);
  if (isGeomFailure(irfGeom))
    return {
      reason: 'config-invalid',
      path: ['datasets', 'geom', 'wcs', 'binsize_irf'],
      message: irfGeom.message,
    };
  const energy = logEnergyAxis('reco', axes.energy.min, axes.energy.max, axes.energy.nbins);
  if (isEnergyAxisFailure(energy))
    return {
      reason: 'config-invalid',
      path: ['datasets', 'geom', 'axes', 'energy'],
      message: energy.message,
    };
  const energyTrue = logEnergyAxis(
    'true',
    axes.energy_true.min,
    axes.energy_true.max,
    axes.energy_true.nbins,
  );
  if (isEnergyAxisFailure(energyTrue))
    return {
      reason: 'config-invalid',
      path: ['datasets', 'geom', 'axes', 'energy_true'],
      message: energyTrue.message,
    };
  if (!(selection.offset_max > 0))
    return {
      reason: 'config-invalid',
      path: ['datasets', 'geom', 'selection', 'offset_max'],
      message: 'offset_max must be > 0',
    };
  return { geom, irfGeom, energy, energyTrue, radEdges: defaultRadEdges(), offsetMax: selection.offset_max };
}

const MAPS: readonly MapName[] = ['counts', 'exposure', 'background', 'psf', 'edisp'];

/**
 * The reduction settings of `datasets`: map_selection, safe_mask (methods and their parameters offset_max,
 * bias_percent), background (fov_background with method scale, or none). The exclusion mask is read by the
 * caller (it is a file input) and passed in.
 */
export function reductionConfigFromConfig(
  ds: Datasets,
  exclusion?: SkyMask,
): ReductionConfig | ReductionConfigIssue {
  const maps: MapName[] = [];
  for (const m of ds.map_selection) {
    if (!(MAPS as readonly string[]).includes(m))
      return {
        reason: 'config-unsupported',
        path: ['datasets', 'map_selection'],
        message: `map '${m}' is not one of ${MAPS.join(', ')}`,
      };
    maps.push(m as MapName);
  }
  const methods: SafeMaskMethod[] = [];
  for (const m of ds.safe_mask.methods) {
    if (!(SAFE_MASK_METHODS as readonly string[]).includes(m))
      return {
        reason: 'config-unsupported',
        path: ['datasets', 'safe_mask', 'methods'],
        message: `safe-mask method '${m}' is not supported (${SAFE_MASK_METHODS.join(', ')})`,
      };
    methods.push(m as SafeMaskMethod);
  }
  const params = ds.safe_mask.parameters;
  // gammapy passes these to SafeMaskMaker(**parameters): an unknown key is its TypeError, a typo a silent default.
  const unknownSafe = unknownParameter(params, 'SafeMaskMaker', ['datasets', 'safe_mask', 'parameters']);
  if (unknownSafe) return { reason: 'config-invalid', ...unknownSafe };
  for (const k of ['position', 'fixed_offset'] as const)
    if (params[k] !== undefined && params[k] !== null)
      return {
        reason: 'config-unsupported',
        path: ['datasets', 'safe_mask', 'parameters', k],
        // Checked with gammapy 1.0: `fixed_offset: 0.5 deg` ends in a TypeError, `position: 83.6 deg` in an AttributeError.
        message: `SafeMaskMaker's '${k}' is not supported: pipe evaluates edisp-bias and aeff-max at the map centre (gammapy's default); gammapy 1.0 cannot take it from a config either (the value reaches SafeMaskMaker as text, and get_datasets fails on it)`,
      };
  if (params.aeff_percent !== undefined && !(typeof params.aeff_percent === 'number'))
    return {
      reason: 'config-invalid',
      path: ['datasets', 'safe_mask', 'parameters', 'aeff_percent'],
      message: 'aeff_percent must be a number',
    };
  const safeMask: ReductionConfig['safeMask'] = { methods };
  if (typeof params.aeff_percent === 'number') safeMask.aeffPercent = params.aeff_percent;
  if (params.offset_max !== undefined) {
    const a = angleParameter(params.offset_max, ['datasets', 'safe_mask', 'parameters', 'offset_max']);
    if (typeof a !== 'number') return a;
    safeMask.offsetMax = a;
  }
  if (params.bias_percent !== undefined) {
    if (typeof params.bias_percent !== 'number')
      return {
        reason: 'config-invalid',
        path: ['datasets', 'safe_mask', 'parameters', 'bias_percent'],
        message: 'bias_percent must be a number',
      };
    safeMask.biasPercent = params.bias_percent;
  }
  const bg = ds.background;
  if (bg.method === null) return { maps, safeMask, background: { method: 'none' } };
  const bgPath = ['datasets', 'background', 'parameters'];
  if (bg.method === 'ring') {
    const ring = ringParameters(bg.parameters, bgPath);
    if ('reason' in ring) return ring;
    // Unstacked, gammapy keeps the run's MapDatasetOnOff (its excess map uses WStat): the run keeps its OFF maps.
    const onOff = ds.stack === false ? { onOff: true } : {};
    return {
      maps,
      safeMask,
      background: { method: 'ring', ...ring, ...(exclusion ? { exclusion } : {}), ...onOff },
    };
  }
  if (bg.method !== 'fov_background')
    return {
      reason: 'config-unsupported',
      path: ['datasets', 'background', 'method'],
      message: `background method '${bg.method}' is not supported (fov_background, ring)`,
    };
  const unknownBg = unknownParameter(bg.parameters, 'FoVBackgroundMaker', bgPath);
  if (unknownBg) return { reason: 'config-invalid', ...unknownBg };
  // gammapy's FoVBackgroundMaker takes 'scale' or 'fit'. With the pl-norm model (its tilt frozen) 'fit' is a Cash fit
  // of the norm alone, whose maximum is the scale method's N / B exactly: pipe computes that for both (gammapy's
  // Minuit stops within ~1e-4 of it: ≤ 9e-5 on the Crab runs), so the two give the same products and task key.
  // lp-norm and ecpl-norm have a shape too, fitted by 'fit' and left at gammapy's defaults by 'scale' (fov-spectrum.ts).
  const fovMethod = bg.parameters.method ?? 'scale';
  if (fovMethod !== 'scale' && fovMethod !== 'fit') {
    const close = typeof fovMethod === 'string' ? didYouMean(fovMethod, FOV_METHODS) : undefined;
    return {
      reason: 'config-invalid',
      path: [...bgPath, 'method'],
      message: `FoVBackgroundMaker method '${String(fovMethod)}' is not one of ${FOV_METHODS.join(', ')}`,
      ...(close ? { hint: `did you mean '${close}'?` } : {}),
    };
  }
  if (bg.parameters.fit !== undefined && bg.parameters.fit !== null)
    return {
      reason: 'config-unsupported',
      path: [...bgPath, 'fit'],
      message:
        "FoVBackgroundMaker's 'fit' takes a gammapy Fit object, which a config cannot give (gammapy fails on it)",
    };
  const modelName = bg.parameters.spectral_model ?? 'pl-norm';
  // Own keys only: 'toString' and the like are the object's, not models.
  const model =
    typeof modelName === 'string' && Object.hasOwn(FOV_SPECTRAL_MODELS, modelName)
      ? FOV_SPECTRAL_MODELS[modelName]
      : undefined;
  if (!model) {
    const close =
      typeof modelName === 'string' ? didYouMean(modelName, Object.keys(FOV_SPECTRAL_MODELS)) : undefined;
    return {
      reason: 'config-unsupported',
      path: [...bgPath, 'spectral_model'],
      message: `FoVBackgroundMaker spectral_model ${JSON.stringify(modelName)} is not supported: it takes a norm spectral model's tag (${Object.keys(FOV_SPECTRAL_MODELS).join(', ')}; gammapy fails on other models and on a model written out in the config)`,
      ...(close ? { hint: `did you mean '${close}'?` } : {}),
    };
  }
  const requirements: FovNormRequirements = {};
  for (const [key, field] of [
    ['min_counts', 'minCounts'],
    ['min_npred_background', 'minNpredBackground'],
  ] as const) {
    const v = bg.parameters[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v))
      return { reason: 'config-invalid', path: [...bgPath, key], message: `${key} must be a number` };
    requirements[field] = v;
  }
  return {
    maps,
    safeMask,
    background: {
      method: 'fov_background',
      ...(exclusion ? { exclusion } : {}),
      ...(Object.keys(requirements).length > 0 ? { requirements } : {}),
      // pl-norm (the default) keeps the key it always had: its fit and its scale give the same norm.
      ...(model !== 'pl-norm' ? { spectrum: { model, method: fovMethod } } : {}),
    },
  };
}

/** RingBackgroundMaker(r_in, width): both angles, required (gammapy: a TypeError without them). */
function ringParameters(
  params: Record<string, unknown>,
  path: string[],
): { rIn: number; width: number } | ReductionConfigIssue {
  if (params['exclusion_mask'] !== undefined)
    return {
      reason: 'config-invalid',
      path: [...path, 'exclusion_mask'],
      message:
        "the exclusion mask is a file: give it as datasets.background.exclusion (gammapy would pass this text to RingBackgroundMaker's exclusion_mask, and fail on it)",
      hint: 'exclusion: path/to/mask.fits',
    };
  const unknown = unknownParameter(params, 'RingBackgroundMaker', path);
  if (unknown) return { reason: 'config-invalid', ...unknown };
  const angles: number[] = [];
  for (const key of ['r_in', 'width'] as const) {
    if (params[key] === undefined || params[key] === null)
      return {
        reason: 'config-invalid',
        path,
        message: `the ring background needs parameters r_in and width (RingBackgroundMaker's arguments); ${key} is missing`,
        hint: 'e.g. parameters: {r_in: 0.5 deg, width: 0.3 deg}',
      };
    const a = angleParameter(params[key], [...path, key]);
    if (typeof a !== 'number') return a;
    if (!(a >= 0 && Number.isFinite(a)))
      return {
        reason: 'config-invalid',
        path: [...path, key],
        message: `${key} must be a finite angle >= 0`,
      };
    angles.push(a);
  }
  const [rIn, width] = angles as [number, number];
  if (!(width > 0))
    return { reason: 'config-invalid', path: [...path, 'width'], message: 'the ring width must be > 0' };
  return { rIn, width };
}

/** A maker's angle parameter in degrees, or the issue at its path (parseAngle's message and hint). */
function angleParameter(raw: unknown, path: string[]): number | ReductionConfigIssue {
  const a = parseAngle(raw);
  return a.ok
    ? a.value
    : { reason: 'config-invalid', path, message: a.message, ...(a.hint ? { hint: a.hint } : {}) };
}

export function isReductionConfigIssue(v: object): v is ReductionConfigIssue {
  return 'reason' in v && 'path' in v;
}

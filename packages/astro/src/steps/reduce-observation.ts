/**
 * Step `astro.reduce_observation`: one run → its map dataset (counts, exposure, background, PSF and EDISP maps,
 * safe mask, FoV background norm), per the `datasets` section of a gammapy config. One task per run.
 */

import type { StepDefinition } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import { type AnalysisConfig, parseAngle } from '../config/index.js';
import {
  type IrfType,
  isReductionFailure,
  loadObservationData,
  type MapName,
  readSkyMask,
  reduceObservation,
  SAFE_MASK_METHODS,
  type SafeMaskMethod,
  writeDataset,
} from '../makers/index.js';
import { convertFrame } from '../wcs/index.js';
import { sectionParams } from './analysis-params.js';
import { dropDatasetPaths, reductionGeometry } from './geometry.js';
import { observationOfItem } from './run-item.js';
import { STEP_OUTPUT } from './step-output.js';

/**
 * `datasets`: the gammapy config section. `center: pointing` (a pipe extension, for surveys and per-run
 * products) centres each run's map on its own pointing instead of `datasets.geom.wcs.skydir`.
 */
type Params = { datasets: AnalysisConfig['datasets']; center?: 'pointing' };

const step: StepDefinition<Params> = {
  name: 'astro.reduce_observation',
  version: '1',
  kernels: [
    'binEvents',
    'evalAeffMap',
    'evalBkgMap',
    'evalPsfMap',
    'evalEdispKernelMap',
    'pixelFovCoords',
    'sampleNearest',
  ],
  validateParams(p) {
    const { center, ...section } = (p ?? {}) as Record<string, unknown>;
    if (center !== undefined && center !== 'pointing') {
      return {
        ok: false,
        issues: [
          {
            path: ['center'],
            message: `center must be 'pointing' (or left out to use datasets.geom.wcs.skydir), got ${JSON.stringify(center)}`,
          },
        ],
      };
    }
    if (center === 'pointing') {
      // The map centre comes from each run; give the config reader one so its 3D checks pass.
      type Loose = {
        geom?: { wcs?: { skydir?: unknown } & Record<string, unknown> } & Record<string, unknown>;
      };
      const ds = (section['datasets'] ?? {}) as Loose & Record<string, unknown>;
      section['datasets'] = {
        ...ds,
        geom: {
          ...ds.geom,
          wcs: {
            ...ds.geom?.wcs,
            skydir: ds.geom?.wcs?.skydir ?? { frame: 'icrs', lon: '0 deg', lat: '0 deg' },
          },
        },
      };
    }
    const checked = sectionParams(section, 'datasets', dropDatasetPaths);
    if (!checked.ok) return checked;
    if (center === 'pointing') (checked.value as Params).center = 'pointing';
    const methods = checked.value.datasets.safe_mask.methods;
    const unsupported = methods.findIndex((m) => !(SAFE_MASK_METHODS as readonly string[]).includes(m));
    if (unsupported >= 0) {
      return {
        ok: false,
        issues: [
          {
            path: ['datasets', 'safe_mask', 'methods', unsupported],
            message: `safe mask method '${methods[unsupported]}' is not implemented by pipe`,
            hint: `use ${SAFE_MASK_METHODS.join(', ')}`,
          },
        ],
      };
    }
    // SafeMaskMaker parameters are free-form in gammapy's config; read the ones pipe's methods use, with units.
    const params = checked.value.datasets.safe_mask.parameters;
    if (params['offset_max'] !== undefined) {
      const angle = parseAngle(params['offset_max']);
      if (!angle.ok)
        return {
          ok: false,
          issues: [
            {
              path: ['datasets', 'safe_mask', 'parameters', 'offset_max'],
              message: angle.message,
              ...(angle.hint ? { hint: angle.hint } : {}),
            },
          ],
        };
      params['offset_max'] = angle.value;
    }
    if (params['bias_percent'] !== undefined && typeof params['bias_percent'] !== 'number') {
      return {
        ok: false,
        issues: [
          {
            path: ['datasets', 'safe_mask', 'parameters', 'bias_percent'],
            message: 'bias_percent must be a number',
          },
        ],
      };
    }
    return checked;
  },
  async run(ctx) {
    if (!ctx.item)
      throw new Error(
        'astro.reduce_observation fans out over runs: use foreach: {items: <selection target>}',
      );
    const ds = ctx.params.datasets;
    const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
    const irfs = ['aeff', 'edisp', 'psf', 'bkg'].filter(
      (t) => (ctx.item!.data as { hdus: Record<string, unknown> }).hdus[t],
    ) as IrfType[];
    const obs = await loadObservationData(observationOfItem(ctx.item), irfs);
    if ('reason' in obs) throw new Error(obs.message);
    const rg = reductionGeometry(ctx.params.center === 'pointing' ? centredOn(ds, obs.pointing) : ds);
    const exclusionFile = ctx.inputs['exclusion']?.[0];
    let background: Parameters<typeof reduceObservation>[2]['background'] = { method: 'none' };
    if (ds.background.method === 'fov_background') {
      const exclusion = exclusionFile === undefined ? undefined : readSkyMask(exclusionFile);
      if (exclusion && 'reason' in exclusion) throw new Error(exclusion.message);
      background = { method: 'fov_background', ...(exclusion ? { exclusion } : {}) };
    }
    const params = ds.safe_mask.parameters as { offset_max?: unknown; bias_percent?: unknown };
    const result = reduceObservation(
      obs,
      rg,
      {
        maps: ds.map_selection as MapName[],
        safeMask: {
          methods: ds.safe_mask.methods as SafeMaskMethod[],
          ...(typeof params.offset_max === 'number' ? { offsetMax: params.offset_max } : {}),
          ...(typeof params.bias_percent === 'number' ? { biasPercent: params.bias_percent } : {}),
        },
        background,
      },
      kernels,
    );
    if (isReductionFailure(result)) throw new Error(result.message);
    for (const w of result.warnings) ctx.log.warn(w.message);
    writeDataset(ctx.outputs['dataset']!, result.dataset, STEP_OUTPUT);
    const run = result.dataset.runs[0]!;
    ctx.log.info(
      `OBS_ID ${run.obsId}: ${run.countsInMap} counts, livetime ${run.livetime.toFixed(1)} s, FoV norm ${run.fovNorm.toFixed(4)}`,
    );
    return {
      metadata: { obsId: run.obsId, counts: run.countsInMap, livetime: run.livetime, fovNorm: run.fovNorm },
    };
  },
};

/** The datasets section with the map centred on a run's pointing, in the frame the config asks for. */
function centredOn(
  ds: AnalysisConfig['datasets'],
  pointing: { ra: number; dec: number },
): AnalysisConfig['datasets'] {
  const frame = ds.geom.wcs.skydir.frame ?? 'icrs';
  const [lon, lat] = convertFrame('icrs', frame, pointing.ra, pointing.dec);
  return { ...ds, geom: { ...ds.geom, wcs: { ...ds.geom.wcs, skydir: { frame, lon, lat } } } };
}

export default step;

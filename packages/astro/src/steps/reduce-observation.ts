/**
 * Step `astro.reduce_observation`: one run → its map dataset (counts, exposure, background, PSF and EDISP maps,
 * safe mask, FoV background norm), per the `datasets` section of a gammapy config. One task per run.
 */
import { loadKernels } from '@pipe/kernels';
import type { StepDefinition } from '@pipe/core';
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
import { sectionParams } from './analysis-params.js';
import { STEP_OUTPUT } from './step-output.js';
import { dropDatasetPaths, reductionGeometry } from './geometry.js';
import { observationOfItem } from './run-item.js';

type Params = { datasets: AnalysisConfig['datasets'] };

const step: StepDefinition<Params> = {
  name: 'astro.reduce_observation',
  version: '1',
  kernels: ['binEvents', 'evalAeffMap', 'evalBkgMap', 'evalPsfMap', 'evalEdispKernelMap', 'pixelFovCoords', 'sampleNearest'],
  validateParams(p) {
    const checked = sectionParams(p, 'datasets', dropDatasetPaths);
    if (!checked.ok) return checked;
    const methods = checked.value.datasets.safe_mask.methods;
    const unsupported = methods.findIndex((m) => !(SAFE_MASK_METHODS as readonly string[]).includes(m));
    if (unsupported >= 0) {
      return {
        ok: false,
        issues: [{ path: ['datasets', 'safe_mask', 'methods', unsupported], message: `safe mask method '${methods[unsupported]}' is not implemented by pipe`, hint: `use ${SAFE_MASK_METHODS.join(', ')}` }],
      };
    }
    // SafeMaskMaker parameters are free-form in gammapy's config; read the ones pipe's methods use, with units.
    const params = checked.value.datasets.safe_mask.parameters;
    if (params['offset_max'] !== undefined) {
      const angle = parseAngle(params['offset_max']);
      if (!angle.ok) return { ok: false, issues: [{ path: ['datasets', 'safe_mask', 'parameters', 'offset_max'], message: angle.message, ...(angle.hint ? { hint: angle.hint } : {}) }] };
      params['offset_max'] = angle.value;
    }
    if (params['bias_percent'] !== undefined && typeof params['bias_percent'] !== 'number') {
      return { ok: false, issues: [{ path: ['datasets', 'safe_mask', 'parameters', 'bias_percent'], message: 'bias_percent must be a number' }] };
    }
    return checked;
  },
  async run(ctx) {
    if (!ctx.item) throw new Error('astro.reduce_observation fans out over runs: use foreach: {items: <selection target>}');
    const ds = ctx.params.datasets;
    const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
    const rg = reductionGeometry(ds);
    const irfs = ['aeff', 'edisp', 'psf', 'bkg'].filter((t) => (ctx.item!.data as { hdus: Record<string, unknown> }).hdus[t]) as IrfType[];
    const obs = await loadObservationData(observationOfItem(ctx.item), irfs);
    if ('reason' in obs) throw new Error(obs.message);
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
    ctx.log.info(`OBS_ID ${run.obsId}: ${run.countsInMap} counts, livetime ${run.livetime.toFixed(1)} s, FoV norm ${run.fovNorm.toFixed(4)}`);
    return { metadata: { obsId: run.obsId, counts: run.countsInMap, livetime: run.livetime, fovNorm: run.fovNorm } };
  },
};

export default step;

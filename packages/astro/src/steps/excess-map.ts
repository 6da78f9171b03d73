/**
 * Step `astro.excess_map`: the stacked dataset → gammapy's excess-map products (science spec §7, §11): the
 * stacked maps, the correlated counts and background, excess, TS, significance, norm and flux maps (and the
 * asymmetric errors and upper limits when `selection_optional` asks for them), quick-look PNGs and a summary.
 */
import type { StepDefinition } from '@pipe/core';
import type { AnalysisConfig } from '../config/index.js';
import { unknownParameter } from '../config/maker-parameters.js';
import type { OptionalQuantity } from '../estimators/index.js';
import { isEnergyAxisFailure, logEnergyAxis } from '../geom/energy-axis.js';
import { sectionParams } from './analysis-params.js';
import { EXCESS_MAP_OUTPUTS } from './product-names.js';
import { warmRunModule } from './warm.js';

export type Params = { excess_map: AnalysisConfig['excess_map'] };

/** ExcessMapEstimator's `_available_selection_optional` in gammapy 1.0. */
const AVAILABLE: readonly OptionalQuantity[] = ['errn-errp', 'ul'];

/**
 * gammapy 1.0's `Estimator.selection_optional` setter: None → nothing; `"all" in selection` → everything (for a
 * string, a substring test: 'all' itself); otherwise every element must be one of errn-errp, ul. A bare string
 * other than 'all' is iterated by its characters there ('ul' → {'u', 'l'}: "is not a valid method"), so it is
 * refused here too, with the list it should be.
 */
export function selectionOptional(raw: unknown): OptionalQuantity[] | { error: string } {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') {
    if (raw.includes('all')) return [...AVAILABLE];
    if (raw === '') return [];
    return {
      error:
        `selection_optional: gammapy reads the string ${JSON.stringify(raw)} as its characters and refuses it` +
        ` (use a list: [${raw}], or 'all')`,
    };
  }
  if (!Array.isArray(raw))
    return {
      error: `selection_optional: expected 'all' or a list of errn-errp, ul; got ${JSON.stringify(raw)}`,
    };
  if (raw.includes('all')) return [...AVAILABLE];
  const out = new Set<OptionalQuantity>();
  for (const v of raw) {
    const q = AVAILABLE.find((a) => a === v);
    if (!q)
      return {
        error: `selection_optional: unknown value ${JSON.stringify(v)} (gammapy's ExcessMapEstimator takes 'all', or a list of 'errn-errp' and 'ul')`,
      };
    out.add(q);
  }
  return [...out];
}

/**
 * gammapy's Analysis._make_energy_axis: the groups are an axis only with min, max and nbins ≥ 1; otherwise the
 * estimator gets energy_edges=None, one group over the dataset's whole energy axis (config/analysis-config.ts warns).
 */
export function energyEdgesSet(ee: Params['excess_map']['energy_edges']): ee is {
  min: number;
  max: number;
  nbins: number;
} {
  return ee.min !== null && ee.max !== null && ee.nbins !== null && ee.nbins >= 1;
}

/** PyYAML's YAML 1.1 booleans (resolver.py's bool regexp) that YAML 1.2 reads as text. */
const PYYAML_BOOLEANS: Readonly<Record<string, boolean>> = Object.fromEntries([
  ...['yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((w) => [w, true] as const),
  ...['no', 'No', 'NO', 'off', 'Off', 'OFF'].map((w) => [w, false] as const),
]);

const step: StepDefinition<Params> = {
  name: 'astro.excess_map',
  version: '1',
  outputs: { required: [], optional: EXCESS_MAP_OUTPUTS },
  kernels: ['correlateDisk', 'cashStatistics', 'sampleNearest'],
  validateParams(p) {
    const checked = sectionParams(p, 'excess_map');
    if (!checked.ok) return checked;
    const params = checked.value.excess_map.parameters;
    const path = ['excess_map', 'parameters'];
    // Every problem of the section at once (a user fixes them in one go), each at its key.
    const issues: Array<{ path: Array<string | number>; message: string }> = [];
    const unknown = unknownParameter(params, 'ExcessMapEstimator', path);
    if (unknown) issues.push(unknown);
    // correlate_off acts only on an on-off dataset (an unstacked run with a ring background: WStat); gammapy 1.0
    // ignores it for a MapDataset (convolved_map_dataset_counts_statistics). It is in the task's key all the same: this
    // step does not know which dataset it will read.
    // PyYAML (gammapy's reader) reads yes/no/on/off unquoted as booleans, which the YAML 1.2 parser here leaves as text.
    const yaml11 =
      typeof params['correlate_off'] === 'string' ? PYYAML_BOOLEANS[params['correlate_off']] : undefined;
    if (yaml11 !== undefined) checked.value.excess_map.parameters = { ...params, correlate_off: yaml11 };
    const correlateOff = yaml11 ?? params['correlate_off'];
    if (correlateOff !== undefined && correlateOff !== null && typeof correlateOff !== 'boolean')
      issues.push({
        path: [...path, 'correlate_off'],
        message: `correlate_off must be true or false, got ${JSON.stringify(correlateOff)}`,
      });
    // gammapy takes a spectral model; pipe computes with the default only, so another value is refused, not ignored.
    if (params['spectral_model'] !== undefined && params['spectral_model'] !== null)
      issues.push({
        path: [...path, 'spectral_model'],
        message:
          "a spectral_model is not supported: the flux maps assume gammapy's default, a power law of index 2",
      });
    const sel = selectionOptional(params['selection_optional']);
    if ('error' in sel) issues.push({ path: [...path, 'selection_optional'], message: sel.error });
    // The energy groups are an axis of their own: a reversed range is a config error here, not a failed task.
    const ee = checked.value.excess_map.energy_edges;
    if (energyEdgesSet(ee)) {
      const axis = logEnergyAxis('reco', ee.min, ee.max, ee.nbins);
      if (isEnergyAxisFailure(axis))
        issues.push({ path: ['excess_map', 'energy_edges'], message: axis.message });
    }
    for (const k of ['n_sigma', 'n_sigma_ul'] as const) {
      const v = params[k];
      if (v !== undefined && !(typeof v === 'number' && v > 0))
        issues.push({
          path: [...path, k],
          message:
            typeof v === 'number'
              ? `${k} must be a positive number of standard deviations: gammapy 1.0 takes ${v} and makes ${k === 'n_sigma' ? 'errors' : 'upper limits'} of ${v} σ, which mean nothing`
              : `${k} must be a positive number, got ${JSON.stringify(v)} (gammapy 1.0 fails on it when it computes the errors)`,
        });
    }
    if (issues.length > 0) return { ok: false, issues };
    return checked;
  },
  // The estimator and the product writers load in the worker (warm, or the first run), not where the step is
  // declared: the planner imports this module to validate params, and should not pay for them.
  warm: () => warmRunModule(import('./excess-map-run.js')),
  run: async (ctx) => (await import('./excess-map-run.js')).run(ctx),
};

export default step;

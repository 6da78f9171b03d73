/**
 * A workflow config's steps → the engine's targets (the config schema's `targets` hook, see @pipe/core
 * GeneratedTargets). Per step:
 *   data-selection S  →  `S.observations` (select runs of its data store)  and  `S` (one task per run)
 *   observations   S  →  `S` (select runs)
 *   datasets       S  →  `S` (one task per run of the observations step it requires)
 *   excess-map     E  →  `E.stacked` (the runs of the datasets steps it requires, stacked in the order it
 *                         lists them, each step's runs in selection order)  and  `E`
 * Each target's params are the sections it reads, the step's overrides merged over the shared ones, taken
 * from the config's own nodes (errors point there); data stores and exclusion masks are inputs, so their
 * contents enter the keys. Changing one step's override changes only the keys of that step's tasks (and of
 * what reads their outputs).
 */
import type { ConfigPath, GeneratedTarget, GeneratedTargets } from '@pipe/core';
import { hasPath, isWorkflowConfig, readWorkflowConfig, type WorkflowStep } from './workflow-config.js';

/** Names of the excess-map products (as in pipelines/excess_map/pipe.yaml and science.md §11). */
const EXCESS_MAP_FITS = [
  'counts',
  'background',
  'exposure',
  'mask_safe',
  'correlated_counts',
  'correlated_background',
  'excess',
  'ts',
  'sqrt_ts',
  'reco_exposure',
  'norm',
  'norm_err',
  'flux',
  'flux_err',
];
const EXCESS_MAP_PNG = ['sqrt_ts', 'excess', 'flux', 'counts'];
const DEFAULT_DATASTORE = '$GAMMAPY_DATA/hess-dl3-dr1';

/** The targets of a workflow config; undefined for gammapy's single analysis config (no `steps:`). */
export function workflowTargets(raw: unknown): GeneratedTargets | undefined {
  if (!isWorkflowConfig(raw)) return undefined;
  const { steps, issues } = readWorkflowConfig(raw);
  if (issues.length > 0) return { targets: [] };
  const config = raw as Record<string, unknown>;
  const byName = new Map(steps.map((s) => [s.name, s]));
  return { targets: steps.flatMap((s) => stepTargets(s, config, byName)) };
}

function stepTargets(
  s: WorkflowStep,
  config: Record<string, unknown>,
  byName: Map<string, WorkflowStep>,
): GeneratedTarget[] {
  const at: ConfigPath = s.path;
  const section = (name: string) => ({ $config: [[name], [...at, name]] });
  const dir = `build/workflow/${s.name}`;
  const select = (name: string): GeneratedTarget => ({
    name,
    at,
    target: {
      description: `Step '${s.name}' (${s.type}): runs of its data store selected by its observations section.`,
      step: 'astro.select_observations',
      inputs: { index: ['hdu-index.fits*', 'obs-index.fits*'].map((f) => `${datastore(config, s)}/${f}`) },
      params: { observations: section('observations') },
      outputs: { observations: `${dir}/observations.json` },
    },
  });
  const reduce = (name: string, runsFrom: string): GeneratedTarget => ({
    name,
    at,
    target: {
      description: `Step '${s.name}' (${s.type}): one map dataset per run, by its datasets section.`,
      step: 'astro.reduce_observation',
      foreach: { items: runsFrom },
      inputs: { exclusion: exclusion(config, s) },
      params: { datasets: section('datasets') },
      outputs: { dataset: `${dir}/datasets/{item}.fits` },
      resources: { mem: '2G', time: '00:30:00', retries: 1 },
    },
  });
  switch (s.type) {
    case 'data-selection':
      return [select(`${s.name}.observations`), reduce(s.name, `${s.name}.observations`)];
    case 'observations':
      return [select(s.name)];
    case 'datasets':
      return [reduce(s.name, s.inputs['observations']![0]!)];
    case 'excess-map': {
      const feeding = s.inputs['datasets']!;
      const first = byName.get(feeding[0]!)!;
      return [
        {
          name: `${s.name}.stacked`,
          at,
          target: {
            description: `Step '${s.name}' (excess-map): the runs of ${feeding.map((f) => `'${f}'`).join(', ')} stacked into one dataset.`,
            step: 'astro.stack_datasets',
            inputs: { datasets: feeding.map((f) => ({ target: f, output: 'dataset' })) },
            // The stack needs the map geometry, which every feeding step shares (checked by readWorkflowConfig).
            params: { datasets: { $config: [['datasets'], [...first.path, 'datasets']] } },
            outputs: { stacked: `${dir}/stacked.fits` },
          },
        },
        {
          name: s.name,
          at,
          target: {
            description: `Step '${s.name}' (excess-map): gammapy's ExcessMapEstimator on the stacked dataset.`,
            step: 'astro.excess_map',
            inputs: { stacked: { target: `${s.name}.stacked` } },
            params: { excess_map: section('excess_map') },
            outputs: excessMapOutputs(`products/${s.name}`),
          },
        },
      ];
    }
    default:
      return [];
  }
}

/** Where the step's data store is: its own override, the shared section, or gammapy's default. */
function datastore(config: Record<string, unknown>, s: WorkflowStep): string {
  if (hasPath(config, [...s.path, 'observations', 'datastore']))
    return configRef([...s.path, 'observations', 'datastore'].join('.'));
  if (hasPath(config, ['observations', 'datastore'])) return configRef('observations.datastore');
  return DEFAULT_DATASTORE;
}

/** The exclusion mask as an optional input: from the step when it sets (or clears) it, else the shared one. */
function exclusion(config: Record<string, unknown>, s: WorkflowStep): string {
  const own = [...s.path, 'datasets', 'background', 'exclusion'];
  return configRef(hasPath(config, own) ? own.join('.') : 'datasets.background.exclusion', true);
}

/** `${config.PATH}` (or `${config.PATH?}`, optional) in an input path: a value of the config file. */
function configRef(dotted: string, optional = false): string {
  return `\${config.${dotted}${optional ? '?' : ''}}`;
}

function excessMapOutputs(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of EXCESS_MAP_FITS) out[name] = `${dir}/${name}.fits.gz`;
  for (const name of EXCESS_MAP_PNG) out[`${name}_png`] = `${dir}/${name}.png`;
  out['summary'] = `${dir}/summary.json`;
  return out;
}

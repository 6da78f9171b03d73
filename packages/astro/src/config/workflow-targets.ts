/**
 * A workflow config's steps → the engine's targets (the config schema's `targets` hook, see @pipe/core
 * GeneratedTargets). Per step:
 *   data-selection S  →  `S.observations` (select runs of its data store)  and  `S` (one task per run)
 *   observations   S  →  `S` (select runs)
 *   datasets       S  →  `S` (one task per run of the observations step it requires)
 *   excess-map     E  →  `E.stacked` (the runs of the datasets steps it requires, stacked in the order it
 *                         lists them, each step's runs in selection order), `E.stacked_maps` (its maps as
 *                         products) and `E` (the estimator, built with `E.stacked_maps`)
 * Each target's params are the sections it reads, the step's overrides merged over the shared ones, taken
 * from the config's own nodes (errors point there); data stores and exclusion masks are inputs, so their
 * contents enter the keys. Changing one step's override changes only the keys of that step's tasks (and of
 * what reads their outputs).
 *
 * A plain analysis config (no `steps:`) is described by pipelines/excess_map/pipe.yaml, except when it leaves out
 * `observations.datastore` (gammapy then reads `$GAMMAPY_DATA/hess-dl3-dr1`, a default that pipe.yaml's
 * `${config...}` input paths cannot express) or names a single index file (gammapy's DataStore.from_file): the same
 * five targets (observations, datasets, stacked, stacked_maps, excess_map) are then generated here with that store. A config with
 * errors (either form) generates no targets: the schema's validate reports them, each once.
 */
import type { ConfigPath, GeneratedTarget, GeneratedTargets } from '@pipe/core';
import { readAnalysisConfig } from './analysis-config.js';
import { hasPath, isWorkflowConfig, readWorkflowConfig, type WorkflowStep } from './workflow-config.js';

/** Names of the excess-map products (as in pipelines/excess_map/pipe.yaml and science.md §11). */
const STACKED_MAP_FITS = ['counts', 'background', 'exposure', 'mask_safe'];
const STACKED_MAP_PNG = ['counts'];
const EXCESS_MAP_FITS = [
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
const EXCESS_MAP_PNG = ['sqrt_ts', 'excess', 'flux'];
const DEFAULT_DATASTORE = '$GAMMAPY_DATA/hess-dl3-dr1';
/**
 * pipelines/excess_map/pipe.yaml's templates: a config this module expands makes its own targets in their place (a
 * plain config on gammapy's default store the same five; a workflow config one set per step, `E.stacked_maps` …).
 * Named, not found by their reading the config: a user's own target that reads it (the source position) is kept.
 */
const REPLACES = ['observations', 'datasets', 'stacked', 'stacked_maps', 'excess_map'];

/**
 * The targets of a workflow config; for gammapy's single analysis config, undefined (the pipeline's targets describe
 * it) unless its store is gammapy's default or a single index file (then the pipeline's five targets on it).
 */
export function workflowTargets(raw: unknown): GeneratedTargets | undefined {
  if (!isWorkflowConfig(raw)) {
    // A plain config with errors is claimed too, with no targets (as a workflow config with errors below): the
    // engine then drops pipe.yaml's templates rather than build them against it, so each problem is reported once,
    // by the schema's validate, instead of again by every step that reads the section (datasets and stacked both
    // read `datasets`).
    if (readAnalysisConfig(raw).issues.length > 0) return { targets: [], replaces: REPLACES };
    return plainTargets(raw);
  }
  const { steps, issues } = readWorkflowConfig(raw);
  if (issues.length > 0) return { targets: [], replaces: REPLACES };
  const config = raw as Record<string, unknown>;
  const byName = new Map(steps.map((s) => [s.name, s]));
  return { targets: steps.flatMap((s) => stepTargets(s, config, byName)), replaces: REPLACES };
}

/** pipelines/excess_map/pipe.yaml's targets for a plain config that leaves the data store to gammapy's default. */
function plainTargets(raw: unknown): GeneratedTargets | undefined {
  const config = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const store = storeAt(config, ['observations', 'datastore']) ?? { ref: DEFAULT_DATASTORE, file: false };
  // A store directory named in the config is what pipe.yaml's templates read.
  if (hasPath(config, ['observations', 'datastore']) && !store.file) return undefined;
  const section = (name: string) => ({ $config: [[name]] });
  const at: ConfigPath = hasPath(config, ['observations']) ? ['observations'] : [];
  const t = (name: string, target: Record<string, unknown>): GeneratedTarget => ({ name, at, target });
  const dir = 'build/excess_map';
  return {
    targets: [
      t('observations', {
        description: "Runs of the data store selected by the config's `observations` section.",
        ...selectTarget(store, configRef('observations.obs_file', true), section, dir),
      }),
      t('datasets', {
        description:
          'One map dataset per run (counts, exposure, background, PSF/EDISP maps, safe mask, FoV norm).',
        ...reduceTarget('observations', configRef('datasets.background.exclusion', true), section, dir),
      }),
      t('stacked', {
        description: 'The runs stacked into one dataset.',
        ...stackTarget('datasets', section('datasets'), dir),
      }),
      t('stacked_maps', {
        description:
          'The stacked counts, background, exposure and safe mask as products, with a counts quick-look.',
        ...stackedMapsTarget('stacked', 'products/excess_map'),
      }),
      t('excess_map', {
        description:
          "Correlated counts and background, excess, significance and flux maps (gammapy's ExcessMapEstimator).",
        ...excessMapTarget('stacked', 'stacked_maps', section, 'products/excess_map'),
      }),
    ],
    replaces: REPLACES,
  };
}

type SectionRef = (name: string) => { $config: ConfigPath[] };

/** A data store as an input: its directory (`ref` names it), or one FITS file holding both index tables. */
interface StoreRef {
  ref: string;
  file: boolean;
}

function selectTarget(store: StoreRef, obsFile: string, section: SectionRef, dir: string) {
  return {
    step: 'astro.select_observations',
    env: ['CALDB', 'GAMMAPY_DATA'],
    inputs: {
      index: store.file
        ? [store.ref]
        : ['hdu-index.fits*', 'obs-index.fits*'].map((f) => `${store.ref}/${f}`),
      obs_file: obsFile,
    },
    params: { observations: section('observations') },
    outputs: { observations: `${dir}/observations.json` },
  };
}

function reduceTarget(runsFrom: string, exclusionMask: string, section: SectionRef, dir: string) {
  return {
    step: 'astro.reduce_observation',
    foreach: { items: runsFrom },
    inputs: { exclusion: exclusionMask },
    params: { datasets: section('datasets') },
    outputs: { dataset: `${dir}/datasets/{item}.fits` },
    resources: { mem: '2G', time: '00:30:00' },
  };
}

/** `feeding`: one target (as pipe.yaml writes it) or the list of the steps whose runs are stacked, in order. */
function stackTarget(feeding: string | string[], datasets: { $config: ConfigPath[] }, dir: string) {
  const ref = (f: string) => ({ target: f, output: 'dataset' });
  return {
    step: 'astro.stack_datasets',
    inputs: { datasets: typeof feeding === 'string' ? ref(feeding) : feeding.map(ref) },
    params: { datasets },
    outputs: { stacked: `${dir}/stacked.fits` },
  };
}

/** The stacked dataset's maps as products: a target of their own, which an estimator setting does not rerun. */
function stackedMapsTarget(stacked: string, products: string) {
  return {
    step: 'astro.stacked_maps',
    inputs: { stacked: { target: stacked } },
    outputs: productOutputs(products, STACKED_MAP_FITS, STACKED_MAP_PNG),
  };
}

function excessMapTarget(stacked: string, stackedMaps: string, section: SectionRef, products: string) {
  return {
    step: 'astro.excess_map',
    inputs: { stacked: { target: stacked } },
    with: [stackedMaps],
    params: { excess_map: section('excess_map') },
    outputs: {
      ...productOutputs(products, EXCESS_MAP_FITS, EXCESS_MAP_PNG),
      summary: `${products}/summary.json`,
    },
  };
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
      ...selectTarget(datastore(config, s), obsFile(config, s), section, dir),
    },
  });
  const reduce = (name: string, runsFrom: string): GeneratedTarget => ({
    name,
    at,
    target: {
      description: `Step '${s.name}' (${s.type}): one map dataset per run, by its datasets section.`,
      ...reduceTarget(runsFrom, exclusion(config, s), section, dir),
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
            // The stack needs the map geometry, which every feeding step shares (checked by readWorkflowConfig).
            ...stackTarget(feeding, { $config: [['datasets'], [...first.path, 'datasets']] }, dir),
          },
        },
        {
          name: `${s.name}.stacked_maps`,
          at,
          target: {
            description: `Step '${s.name}' (excess-map): the stacked counts, background, exposure and safe mask as products.`,
            ...stackedMapsTarget(`${s.name}.stacked`, `products/${s.name}`),
          },
        },
        {
          name: s.name,
          at,
          target: {
            description: `Step '${s.name}' (excess-map): gammapy's ExcessMapEstimator on the stacked dataset.`,
            ...excessMapTarget(`${s.name}.stacked`, `${s.name}.stacked_maps`, section, `products/${s.name}`),
          },
        },
      ];
    }
    default:
      return [];
  }
}

/** Where the step's data store is: its own override, the shared section, or gammapy's default. */
function datastore(config: Record<string, unknown>, s: WorkflowStep): StoreRef {
  return (
    storeAt(config, [...s.path, 'observations', 'datastore']) ??
    storeAt(config, ['observations', 'datastore']) ?? { ref: DEFAULT_DATASTORE, file: false }
  );
}

/**
 * The data store written at `path` of the config, if any. gammapy's Analysis opens a directory with
 * DataStore.from_dir, and a file with DataStore.from_file (both index tables in one FITS file); a path ending in
 * .fits or .fits.gz is taken for a file.
 */
function storeAt(config: Record<string, unknown>, path: (string | number)[]): StoreRef | undefined {
  if (!hasPath(config, path)) return undefined;
  let node: unknown = config;
  for (const key of path) node = (node as Record<string, unknown>)[String(key)];
  return {
    ref: configRef(path.join('.')),
    file: typeof node === 'string' && /\.fits(\.gz)?$/i.test(node.trim()),
  };
}

/** The obs_file (gammapy's list of runs) as an optional input: the step's own when it sets (or clears) it, else the shared one. */
function obsFile(config: Record<string, unknown>, s: WorkflowStep): string {
  const own = [...s.path, 'observations', 'obs_file'];
  return configRef(hasPath(config, own) ? own.join('.') : 'observations.obs_file', true);
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

function productOutputs(dir: string, fits: string[], png: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fits) out[name] = `${dir}/${name}.fits.gz`;
  for (const name of png) out[`${name}_png`] = `${dir}/${name}.png`;
  return out;
}

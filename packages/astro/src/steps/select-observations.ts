/**
 * Step `astro.select_observations`: the `observations` section of a gammapy config applied to a DL3 data store
 * (ids or an obs_file, cone, time range, required IRFs). Writes the selection as JSON and emits one item per run,
 * whose files are the run's FITS files, so the per-run reduction fans out over them and reruns only for runs that
 * change. Inputs: `index` (the store's hdu-index and obs-index files) and, when the config names one, `obs_file`
 * (its content, not its path, enters the key).
 */
import type { StepDefinition } from '@pipe/core';
import type { AnalysisConfig } from '../config/index.js';
import { sectionParams } from './analysis-params.js';

/** The observations section; `obs_file` is reduced to whether the config names one (its content is an input). */
export type Params = {
  observations: Omit<AnalysisConfig['observations'], 'obs_file'> & { obs_file: boolean };
};

const step: StepDefinition<Params> = {
  name: 'astro.select_observations',
  version: '1',
  outputs: { required: ['observations'] },
  validateParams(p) {
    const checked = sectionParams(p, 'observations', (o) => {
      // The store is an input (its index files); its path must not enter the key.
      (o as { datastore?: string }).datastore = undefined;
      delete (o as { datastore?: string }).datastore;
      // Likewise the obs_file: its content is the `obs_file` input; only whether there is one is a param.
      (o as unknown as { obs_file: boolean }).obs_file = o.obs_file !== null;
    });
    return checked as unknown as ReturnType<NonNullable<StepDefinition<Params>['validateParams']>>;
  },
  warm: () => import('./select-observations-run.js'),
  run: async (ctx) => (await import('./select-observations-run.js')).run(ctx),
};

export default step;

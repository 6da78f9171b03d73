/**
 * Step `astro.stack_datasets`: the per-run datasets → one stacked dataset (science spec §5), in the order the
 * engine gathers them, which is the selection order (gammapy stacks in obs-index order).
 */

import type { StepDefinition } from '@pipe/core';
import type { AnalysisConfig } from '../config/index.js';
import { sectionParams } from './analysis-params.js';
import { canonicalDatasets } from './geometry.js';
import { warmRunModule } from './warm.js';

export type Params = { datasets: AnalysisConfig['datasets'] };

const step: StepDefinition<Params> = {
  name: 'astro.stack_datasets',
  version: '1',
  outputs: { required: ['stacked'] },
  kernels: ['stackAdd', 'stackMaskOr', 'stackIrfWeighted', 'sampleNearest'],
  validateParams: (p) => sectionParams(p, 'datasets', canonicalDatasets),
  warm: () => warmRunModule(import('./stack-datasets-run.js')),
  run: async (ctx) => (await import('./stack-datasets-run.js')).run(ctx),
};

export default step;

/**
 * Step `astro.stack_datasets`: the per-run datasets → one stacked dataset (science spec §5), in the order the
 * engine gathers them, which is the selection order (gammapy stacks in obs-index order).
 */

import type { StepDefinition } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import type { AnalysisConfig } from '../config/index.js';
import {
  isDatasetReadFailure,
  isReductionConfigIssue,
  type MapDataset,
  readDataset,
  reductionGeometryFromConfig,
  stackDatasets,
  writeDataset,
} from '../makers/index.js';
import { sectionParams } from './analysis-params.js';
import { dropDatasetPaths } from './geometry.js';
import { STEP_OUTPUT } from './step-output.js';

type Params = { datasets: AnalysisConfig['datasets'] };

const step: StepDefinition<Params> = {
  name: 'astro.stack_datasets',
  version: '1',
  kernels: ['stackAdd', 'stackMaskOr', 'sampleNearest'],
  validateParams: (p) => sectionParams(p, 'datasets', dropDatasetPaths),
  async run(ctx) {
    const files = ctx.inputs['datasets'] ?? [];
    if (files.length === 0) throw new Error('no per-run dataset to stack');
    if (!ctx.params.datasets.stack && files.length > 1) {
      // gammapy's Analysis refuses the same: an excess map needs one dataset.
      throw new Error(
        `datasets.stack is false but ${files.length} runs were reduced: the excess map needs them stacked (set stack: true)`,
      );
    }
    const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
    const runs: MapDataset[] = [];
    for (const file of files) {
      const ds = readDataset(file);
      if (isDatasetReadFailure(ds)) throw new Error(ds.message);
      runs.push(ds);
    }
    const rg = reductionGeometryFromConfig(ctx.params.datasets);
    if (isReductionConfigIssue(rg)) throw new Error(`${rg.path.join('.')}: ${rg.message}`);
    const stacked = stackDatasets(runs, rg, kernels);
    writeDataset(ctx.outputs['stacked']!, stacked, STEP_OUTPUT);
    ctx.log.info(`stacked ${runs.length} runs, livetime ${stacked.livetime.toFixed(1)} s`);
    return { metadata: { runs: runs.length, livetime: stacked.livetime } };
  },
};

export default step;

/** What step `astro.stack_datasets` (stack-datasets.ts) runs. */
import { copyFileSync } from 'node:fs';
import type { StepContext, StepResult } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import {
  DatasetStacker,
  isDatasetReadFailure,
  isReductionConfigIssue,
  readDataset,
  readDatasetsInOrder,
  reductionGeometryFromConfig,
  writeDataset,
} from '../makers/index.js';
import type { Params } from './stack-datasets.js';
import { STEP_OUTPUT } from './step-output.js';

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  const files = ctx.inputs['datasets'] ?? [];
  if (files.length === 0) throw new Error('no per-run dataset to stack');
  if (!ctx.params.datasets.stack && files.length > 1) {
    // gammapy's Analysis refuses the same: an excess map needs one dataset.
    throw new Error(
      `datasets.stack is false but ${files.length} runs were reduced: the excess map needs them stacked (set stack: true)`,
    );
  }
  if (!ctx.params.datasets.stack) {
    // gammapy's unstacked dataset is the run's own: its cutout of the map, counts and background before the safe
    // mask (kept beside them). The estimator then reads it as gammapy's does, which differs from a stack of one.
    const ds = readDataset(files[0]!);
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    // Its bytes as they are: read only to check them and to report the livetime.
    copyFileSync(files[0]!, ctx.outputs['stacked']!);
    ctx.log.info(
      `datasets.stack is false: the run's dataset is used as it is (its cutout, before the safe mask)`,
    );
    return { metadata: { runs: 1, livetime: ds.livetime } };
  }
  const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
  const rg = reductionGeometryFromConfig(ctx.params.datasets);
  if (isReductionConfigIssue(rg)) throw new Error(`${rg.path.join('.')}: ${rg.message}`);
  const stacker = new DatasetStacker(rg, kernels);
  // The next run's file is read (one read call, on the thread pool) while this one is decoded and added: the
  // stack runs after every reduction, when the other cores are idle.
  for await (const ds of readDatasetsInOrder(files)) {
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    stacker.add(ds);
  }
  const ties = stacker.irfTieWarning();
  if (ties) ctx.log.warn(ties);
  const stacked = stacker.result();
  writeDataset(ctx.outputs['stacked']!, stacked, STEP_OUTPUT);
  ctx.log.info(`stacked ${files.length} runs, livetime ${stacked.livetime.toFixed(1)} s`);
  return { metadata: { runs: files.length, livetime: stacked.livetime } };
}

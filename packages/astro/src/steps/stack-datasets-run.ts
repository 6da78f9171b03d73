/** What step `astro.stack_datasets` (stack-datasets.ts) runs. */
import type { StepContext, StepResult } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import {
  DatasetStacker,
  isDatasetReadFailure,
  isReductionConfigIssue,
  readDatasetAsync,
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
  const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
  const rg = reductionGeometryFromConfig(ctx.params.datasets);
  if (isReductionConfigIssue(rg)) throw new Error(`${rg.path.join('.')}: ${rg.message}`);
  const stacker = new DatasetStacker(rg, kernels);
  // One run in memory at a time, the next one read (by the thread pool) while this one is added. A read that
  // is abandoned (an earlier run failed) must not surface as an unhandled rejection.
  const read = (file: string) => {
    const reading = readDatasetAsync(file);
    reading.catch(() => undefined);
    return reading;
  };
  let next = read(files[0]!);
  for (let i = 0; i < files.length; i++) {
    const ds = await next;
    if (i + 1 < files.length) next = read(files[i + 1]!);
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    stacker.add(ds);
  }
  const stacked = stacker.result();
  writeDataset(ctx.outputs['stacked']!, stacked, STEP_OUTPUT);
  ctx.log.info(`stacked ${files.length} runs, livetime ${stacked.livetime.toFixed(1)} s`);
  return { metadata: { runs: files.length, livetime: stacked.livetime } };
}

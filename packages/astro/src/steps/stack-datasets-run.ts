/** What step `astro.stack_datasets` (stack-datasets.ts) runs. */
import { copyFileSync } from 'node:fs';
import type { StepContext, StepResult } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import {
  DatasetStacker,
  isDatasetReadFailure,
  isReductionConfigIssue,
  type MapDataset,
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
    // gammapy's Analysis refuses the same: an excess map needs one dataset. The runs' datasets stay (gammapy's
    // get_datasets makes them too); the error names where stack is set (`param`: the engine adds file:line:col).
    throw Object.assign(
      new Error(
        `datasets.stack is false but ${files.length} runs were reduced: the excess map needs them stacked (set stack: true, or select one run)`,
      ),
      { param: ['datasets', 'stack'] },
    );
  }
  if (!ctx.params.datasets.stack) {
    // gammapy's unstacked dataset is the run's own: its cutout of the map, counts and background before the safe
    // mask (kept beside them). The estimator then reads it as gammapy's does, which differs from a stack of one.
    const ds = readDataset(files[0]!);
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    if (ds.ontime === 0) throw new Error(NO_TIME);
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
  const seen = new Map<string, string>();
  let i = 0;
  // The next run's file is read (one read call, on the thread pool) while this one is decoded and added: the
  // stack runs after every reduction, when the other cores are idle.
  for await (const ds of readDatasetsInOrder(files)) {
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    const file = files[i++]!;
    // The same observation twice (a run two reduction steps of a workflow both select, from one store or from two
    // indexes of the same files): its counts and livetime would count twice. Told by its id and its time intervals,
    // which a run of another instrument with the same id, or another piece of the run (obs_time), does not share.
    const id = observationIdentity(ds);
    const before = seen.get(id);
    if (before !== undefined)
      throw new Error(
        `run ${ds.runs[0]?.obsId} is in two of the datasets to stack (${before} and ${file}), with the same time intervals: the same observation, selected twice (by two reduction steps of the config?), would be stacked twice; select it once`,
      );
    seen.set(id, file);
    stacker.add(ds);
  }
  const ties = stacker.irfTieWarning();
  if (ties) ctx.log.warn(ties);
  const stacked = stacker.result();
  if (stacked.ontime === 0) throw new Error(NO_TIME);
  writeDataset(ctx.outputs['stacked']!, stacked, STEP_OUTPUT);
  ctx.log.info(`stacked ${files.length} runs, livetime ${stacked.livetime.toFixed(1)} s`);
  return { metadata: { runs: files.length, livetime: stacked.livetime } };
}

// Every run cut to nothing: gammapy 1.0 selects runs by their GTI and fails there, rather than make empty maps.
const NO_TIME =
  'no run has any good time left: observations.obs_time holds none of the selected runs\' GTI rows (each run\'s warning names its times); gammapy 1.0, which selects runs by their GTI, selects none ("No observations have been selected")';

/** What tells one observation (or piece of one) from another: its runs' ids and its good time intervals. */
function observationIdentity(ds: MapDataset): string {
  const runs = ds.runs.map((r) => r.obsId).join(',');
  if (!ds.gti) return `${runs}|${ds.runs.map((r) => `${r.ontime}/${r.livetime}`).join(',')}`;
  const at = (t: number) => ds.gti!.ref.mjd * 86400 + t;
  return `${runs}|${Array.from(ds.gti.start, (t, k) => `${at(t)}-${at(ds.gti!.stop[k]!)}`).join(',')}`;
}

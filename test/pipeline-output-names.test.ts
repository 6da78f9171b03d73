// An output name of an astro step misspelt in pipe.yaml, as the fuzzing campaign met it: a fixed-name output
// renamed (`dataset_x`, `stackd`) failed the task that wrote it with "Cannot read properties of undefined (reading
// 'endsWith')", and a product renamed (`RECO_EXPOSURE`) failed the estimator's task with "map 'RECO_EXPOSURE' was
// not computed", after the runs were reduced. The steps declare the names they write (StepDefinition.outputs):
// a name outside them is refused when the pipeline loads, at its place in pipe.yaml, and nothing runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

describe('pipe build with an output name its step does not write', () => {
  let ws: Workspace;
  let pipeline: string;
  beforeAll(() => {
    ws = crabWorkspace();
    pipeline = ws.read('pipelines/excess_map/pipe.yaml');
  });
  afterAll(() => ws?.remove('.'));

  /** pipe.yaml with `from` (once in it) replaced by `to`: the build's output and the 1-based line of `to`. */
  async function buildWith(from: string, to: string) {
    expect(pipeline.split(from)).toHaveLength(2);
    const text = pipeline.replace(from, to);
    ws.write('pipelines/excess_map/pipe.yaml', text);
    const r = await ws.run(['build', 'excess_map']);
    const line = text.slice(0, text.indexOf(to)).split('\n').length;
    return { out: r.stdout + r.stderr, code: r.code, line };
  }

  it('a required output renamed: one error at it, suggesting the name', async () => {
    const { out, code, line } = await buildWith('outputs: {stacked: build', 'outputs: {stackd: build');
    expect(code, out).toBe(2);
    expect(out).toContain(
      `pipelines/excess_map/pipe.yaml:${line}:23: error: output 'stackd' of target 'stacked': step 'astro.stack_datasets' writes no output of that name: it writes 'stacked'`,
    );
    expect(out).toContain("hint: did you mean 'stacked'?");
    expect(out).toMatch(/\b1 error\b/);
    expect(ws.exists('build/excess_map/observations.json')).toBe(false);
  });

  it('a product name in other letters, and a required output left out', async () => {
    const upper = await buildWith('      reco_exposure: products', '      RECO_EXPOSURE: products');
    expect(upper.code, upper.out).toBe(2);
    expect(upper.out).toContain(
      `pipelines/excess_map/pipe.yaml:${upper.line}:22: error: output 'RECO_EXPOSURE' of target 'excess_map': step 'astro.excess_map' writes no output of that name`,
    );
    expect(upper.out).toContain("hint: did you mean 'reco_exposure'?");
    const missing = await buildWith(
      "outputs: {dataset: 'build/excess_map/datasets/{item}.fits'}",
      "outputs: {log: 'build/excess_map/datasets/{item}.log'}",
    );
    expect(missing.code, missing.out).toBe(2);
    expect(missing.out).toContain(
      `error: output 'log' of target 'datasets': step 'astro.reduce_observation' writes no output of that name: it writes 'dataset'`,
    );
    expect(missing.out).toContain(
      `error: target 'datasets' does not declare the output 'dataset' that step 'astro.reduce_observation' writes`,
    );
    expect(ws.exists('build/excess_map/observations.json')).toBe(false);
  });
});

// `datasets.stack: false` with a selection (here an obs_cone) that keeps several runs: gammapy 1.0's Analysis makes
// one dataset per run (get_datasets), and its excess map refuses them ("Datasets must be stacked to compute the
// excess map"). pipe reduces each run (a build of `datasets` succeeds), and the excess map's build fails at the stack,
// saying where `stack` is written in the config (it said no place).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, parseEvents, type Workspace } from './rig.js';

describe('datasets.stack: false with an obs_cone keeping several runs', () => {
  let ws: Workspace;

  beforeAll(() => {
    ws = crabWorkspace();
  });
  afterAll(() => ws?.remove('.'));

  it('reduces every run, and the excess map fails at the stack, at the config line of `stack`', async () => {
    // The shipped Crab config selects its 4 runs with a 5° cone around the Crab.
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    expect(crab).toContain('obs_cone: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg, radius: 5.0 deg}');
    ws.write('unstacked.yaml', crab.replace('  stack: true', '  stack: false'));
    const line = ws.read('unstacked.yaml').split('\n').indexOf('  stack: false') + 1;
    expect(line).toBeGreaterThan(0);

    const datasets = await ws.build(['datasets'], ['--config', 'unstacked.yaml']);
    expect(datasets.run.code, datasets.run.stderr).toBe(0);
    expect(datasets.ended['ran']).toEqual([
      'datasets[23523]',
      'datasets[23526]',
      'datasets[23559]',
      'datasets[23592]',
      'observations',
    ]);

    const r = await ws.build(['excess_map'], ['--config', 'unstacked.yaml']);
    expect(r.run.code).toBe(1);
    expect(r.ended['failed']).toEqual(['stacked']);
    const failed = parseEvents(r.run.stdout).find((e) => e.event === 'task-end' && e.id === 'stacked');
    expect(String(failed?.['error'])).toContain(
      `datasets.stack is false but 4 runs were reduced: the excess map needs them stacked (set stack: true, or select one run); set at unstacked.yaml:${line}:10`,
    );
  }, 120_000);
});

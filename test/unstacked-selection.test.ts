// `datasets.stack: false` with a selection (here an obs_cone) that keeps several runs: gammapy 1.0's Analysis keeps
// one dataset per run and its excess map refuses them ("Datasets must be stacked to compute the excess map"). pipe
// refuses it in the selection, before any run is reduced, and says where `stack` is written; it used to reduce
// every run and fail in `stacked`, with no place in the config.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, parseEvents, type Workspace } from './rig.js';

describe('datasets.stack: false with an obs_cone keeping several runs', () => {
  let ws: Workspace;

  beforeAll(() => {
    ws = crabWorkspace();
  });
  afterAll(() => ws?.remove('.'));

  it('fails in `observations`, before any run is reduced, at the config line of `stack`', async () => {
    // The shipped Crab config selects its 4 runs with a 5° cone around the Crab.
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    expect(crab).toContain('obs_cone: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg, radius: 5.0 deg}');
    ws.write('unstacked.yaml', crab.replace('  stack: true', '  stack: false'));
    const line = ws.read('unstacked.yaml').split('\n').indexOf('  stack: false') + 1;
    expect(line).toBeGreaterThan(0);

    const r = await ws.run(['build', 'excess_map', '--json', '--config', 'unstacked.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).not.toBe(0);
    const events = parseEvents(r.stdout);
    const failed = events.filter((e) => e.event === 'task-end' && e.state === 'failed').map((e) => e.id);
    expect(failed, output).toEqual(['observations']);
    // No run was reduced: no event names a `datasets[...]` task.
    expect(
      events.filter((e) => e.id?.startsWith('datasets')),
      output,
    ).toEqual([]);
    expect(output).toContain(
      'datasets.stack is false but observations.obs_cone (icrs 83.633, 22.014, radius 5 deg) selects 4 runs',
    );
    expect(output).toContain(`set at unstacked.yaml:${line}:10`);
  }, 120_000);
});

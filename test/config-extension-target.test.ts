// A target of the user's beside the shipped analysis that reads the config (the source position) and the stacked
// dataset. Found by helper-130: when the config generates the analysis's targets (a plain config on gammapy's default
// data store, or the multi-step workflow form), every written target that read the config was dropped with the
// templates, silently: `pipe build excess_map` then failed on the user's gather ("reads from unknown target").
// Now the generator names the templates it replaces; a target reading values the config has is kept, and one that
// reads values it lacks is dropped with the reason said where it is asked for.
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

// The source position from the config, and the stacked dataset's size, as JSON.
const SCRIPT =
  "const fs=require('fs');fs.writeFileSync(process.argv[3],JSON.stringify({source:JSON.parse(process.argv[1]),bytes:fs.statSync(process.argv[2]).size}))";
const MINE = `targets:
  source_info:
    command: [node, -e, ${JSON.stringify(SCRIPT)}, "{params.source}", "{inputs.stacked}", "{outputs.out}"]
    params: {source: '\${config.datasets.geom.wcs.skydir}'}
    inputs: {stacked: {target: stacked}}
    outputs: {out: build/mine/source.json}
  report:
    command: [cp, "{inputs.info}", "{outputs.out}"]
    inputs: {info: {target: source_info}}
    outputs: {out: products/mine/report.json}
`;

describe('a target of the user’s that reads the config, beside generated targets', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    ws.write('pipelines/mine/pipe.yaml', MINE);
    // The shipped Crab config without its data store: gammapy's default ($GAMMAPY_DATA/hess-dl3-dr1), for which the
    // astro config schema generates the analysis's five targets.
    const crab = readFileSync(ws.path('pipelines/excess_map/crab.yaml'), 'utf8');
    const plain = crab.replace(/datastore: \$GAMMAPY_DATA\/hess-dl3-dr1,\s*/, '');
    expect(plain).not.toContain('datastore');
    writeFileSync(ws.path('default-store.yaml'), plain);
  });

  it('is kept when the config has the values it reads, and builds over the generated ones', async () => {
    const run = await ws.run(['build', 'report', 'excess_map', '--config', 'default-store.yaml']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(ws.read('products/mine/report.json'));
    expect(report.source).toMatchObject({ frame: 'icrs' });
    expect(report.bytes).toBeGreaterThan(1_000_000);
    expect(ws.read('products/excess_map/summary.json')).toContain('"total_counts": 2485');
  }, 300_000);

  it('under a config that generates other targets (the workflow form), an input from a replaced one says why', async () => {
    const plan = await ws.run(['plan', 'report', '--config', 'pipelines/excess_map/configs/two-stores.yaml']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("input 'stacked' reads from unknown target 'stacked'");
    expect(plan.stderr).toMatch(
      /hint: 'stacked' is written in the pipeline, but this config replaces it: the config generates the targets of its analysis itself \(.*excess_map.*\)/,
    );
  }, 120_000);

  // helper-131: a broken config generates nothing, and the user's target reading `stacked` is no news then.
  it('under a config with errors, only its errors are said', async () => {
    const broken = ws.read('default-store.yaml').replace('binsize: 0.02 deg', 'binsize: banana');
    expect(broken).toContain('banana');
    writeFileSync(ws.path('broken.yaml'), broken);
    const plan = await ws.run(['plan', 'excess_map', '--config', 'broken.yaml']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('banana');
    expect(plan.stderr).not.toContain('unknown target');
  }, 120_000);

  it('is dropped when it reads a config value the generating config lacks, and says why when asked for', async () => {
    ws.write('pipelines/mine/pipe.yaml', MINE.replace('datasets.geom.wcs.skydir', 'flux_points.source'));
    const plan = await ws.run(['plan', 'source_info', '--config', 'default-store.yaml']);
    expect(plan.code).toBe(2);
    // Its gather reads it: the pipeline does not load with this config, and says why.
    expect(plan.stderr).toContain("input 'info' reads from unknown target 'source_info'");
    expect(plan.stderr).toContain(
      "hint: 'source_info' is written in the pipeline, but this config replaces it: it reads ${config.flux_points.source}, which this config, whose targets are generated from it, does not have",
    );
  }, 120_000);
});

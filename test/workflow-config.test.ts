// `pipe build excess_map --config two-stores.yaml` end to end, through the real binary: gammapy's multi-step form
// with two data-reduction steps on two data stores (the shipped Crab store and a second store with its own index
// over two of its runs) feeding one excess map. Its products must equal those of the single-store config over the
// same four runs, bit for bit; changing one step's override must rerun only that step's tasks and what follows.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = 'pipelines/excess_map/configs/two-stores.yaml';
const PRODUCTS = 'products/excess_map';

/** A FITS product's bytes, decompressed (gzip headers carry no time here, but compare the content anyway). */
function fitsBytes(ws: Workspace, file: string): Buffer {
  return gunzipSync(readFileSync(ws.path(path.join(PRODUCTS, file))));
}

describe('pipe build excess_map --config (multi-step workflow, two data stores)', () => {
  let single: Workspace;
  let multi: Workspace;
  let first: Awaited<ReturnType<Workspace['build']>>;

  beforeAll(async () => {
    single = crabWorkspace();
    multi = crabWorkspace();
    // The second store is rebuilt from the first one's files, as a user would (the shipped one is the same).
    multi.remove('pipelines/excess_map/data/second-store');
    const store = spawnSync(
      process.execPath,
      [
        path.join(repo, 'pipelines/excess_map/data/make_store.mjs'),
        'pipelines/excess_map/data/hess-dl3-dr1',
        'pipelines/excess_map/data/second-store',
        '23559',
        '23592',
      ],
      { cwd: multi.root, encoding: 'utf8' },
    );
    expect(store.status, store.stderr).toBe(0);
    const singleBuild = await single.build(['excess_map']);
    expect(singleBuild.run.code, singleBuild.run.stderr).toBe(0);
    first = await multi.build(['excess_map'], ['--config', CONFIG]);
  }, 240_000);
  afterAll(() => {
    single?.remove('.');
    multi?.remove('.');
  });

  it('runs one task per (step, run), one stack and one excess map', () => {
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(first.ended['ran']).toEqual([
      'excess_map',
      'excess_map.stacked',
      'excess_map.stacked_maps',
      'store_a.observations',
      'store_a[23523]',
      'store_a[23526]',
      'store_b.observations',
      'store_b[23559]',
      'store_b[23592]',
    ]);
  });

  it('gives the products of the single-store config over the same runs, bit for bit', () => {
    const fits = readdirSync(single.path(PRODUCTS)).filter((f) => f.endsWith('.fits.gz'));
    expect(fits.length).toBeGreaterThanOrEqual(14);
    for (const f of fits) expect(fitsBytes(multi, f).equals(fitsBytes(single, f)), f).toBe(true);
    const summary = (ws: Workspace) => JSON.parse(ws.read(path.join(PRODUCTS, 'summary.json')));
    expect(summary(multi).observations).toEqual([23523, 23526, 23559, 23592]);
    expect(summary(multi).total_counts).toBe(summary(single).total_counts);
  });

  it("reruns only the changed step's tasks and what depends on them", async () => {
    const text = multi.read(CONFIG);
    const changed = text.replace(
      'observations: {datastore: ../data/second-store}',
      'observations: {datastore: ../data/second-store}\n    datasets: {safe_mask: {methods: [aeff-default, offset-max], parameters: {offset_max: 2.0 deg}}}',
    );
    expect(changed).not.toBe(text);
    writeFileSync(multi.path(CONFIG), changed);
    const second = await multi.build(['excess_map'], ['--config', CONFIG]);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.ended['ran']).toEqual([
      'excess_map',
      'excess_map.stacked',
      'excess_map.stacked_maps',
      'store_b[23559]',
      'store_b[23592]',
    ]);
    expect(second.ended['up-to-date']).toEqual([
      'store_a.observations',
      'store_a[23523]',
      'store_a[23526]',
      'store_b.observations',
    ]);
  });

  it('fails a broken config before running anything, naming file:line:col', async () => {
    const broken = multi.read(CONFIG).replace('type: excess-map', 'type: excess-mapp');
    writeFileSync(multi.path('pipelines/excess_map/configs/broken.yaml'), broken);
    const line = broken.split('\n').findIndex((l) => l.includes('excess-mapp')) + 1;
    const run = await multi.run([
      'build',
      'excess_map',
      '--config',
      'pipelines/excess_map/configs/broken.yaml',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `pipelines/excess_map/configs/broken.yaml:${line}:11: error: 'steps.2.type': unknown step type 'excess-mapp'`,
    );
  });

  it('refuses to stack a run that two steps select (the second store indexes the same files), naming both datasets', async () => {
    // store_a takes 23559 too, which store_b's index also holds: its counts and livetime would count twice.
    const dup = multi.read(CONFIG).replace('obs_ids: [23523, 23526]', 'obs_ids: [23523, 23526, 23559]');
    writeFileSync(multi.path('pipelines/excess_map/configs/dup.yaml'), dup);
    const run = await multi.run(['build', 'excess_map', '--config', 'pipelines/excess_map/configs/dup.yaml']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /FAILED\s+excess_map\.stacked: step failed: run 23559 is in two of the datasets to stack \(\S+store_a\/datasets\/23559\.fits and \S+store_b\/datasets\/23559\.fits\), with the same time intervals/,
    );
  }, 120_000);
});

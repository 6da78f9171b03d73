// gammapy's multi-step workflow config: validation (issues at the key paths of the values to fix), the pipeline
// loaded from it with errors at file:line:col of the config, and the task graph it expands to.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerSteps } from '@pipe/astro';
import { createStepRegistry, expandGraph, loadPipeline, type Pipeline, type TaskItem } from '@pipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readWorkflowConfig, workflowTargets } from '../src/config/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const twoStores = path.join(repo, 'pipelines/excess_map/configs/two-stores.yaml');

const base = {
  observations: { datastore: '$GAMMAPY_DATA/hess-dl3-dr1' },
  datasets: { type: '3d', geom: { wcs: { skydir: { frame: 'icrs', lon: '83.6 deg', lat: '22 deg' } } } },
};

describe('workflow config (steps with products and required_products)', () => {
  it('reads the shipped two-stores example: two reductions feeding one excess map', () => {
    const { steps, issues } = readWorkflowConfig(parse(readFileSync(twoStores, 'utf8')));
    expect(issues).toEqual([]);
    expect(steps.map((s) => [s.name, s.type, s.products])).toEqual([
      ['store_a', 'data-selection', ['datasets']],
      ['store_b', 'data-selection', ['datasets']],
      ['excess_map', 'excess-map', ['excess_map']],
    ]);
    expect(steps[2]!.inputs).toEqual({ datasets: ['store_a', 'store_b'] });
  });

  it('defaults: names from types, and a step takes every earlier product it consumes', () => {
    const { steps, issues } = readWorkflowConfig({
      ...base,
      steps: [{ type: 'observations' }, { type: 'datasets' }, { type: 'excess-map' }],
    });
    expect(issues).toEqual([]);
    expect(steps.map((s) => s.name)).toEqual(['observations', 'datasets', 'excess_map']);
    expect(steps[1]!.inputs).toEqual({ observations: ['observations'] });
    expect(steps[2]!.inputs).toEqual({ datasets: ['datasets'] });
  });

  it('reports each problem at the path of the value to fix (the step override, else the shared section)', () => {
    const { issues } = readWorkflowConfig({
      ...base,
      excess_map: { correlation_radius: '0.1 TeV' },
      steps: [
        { name: 'a', type: 'data-selection', datasets: { geom: { wcs: { binsize: '0.02 dg' } } } },
        { name: 'a', type: 'data-selection' },
        { name: 'b', type: 'data-selection', excess_map: {} },
        { name: 'map', type: 'excess-map', required_products: [{ name: 'datasets', step_name: 'later' }] },
        { name: 'later', type: 'fitt' },
      ],
    });
    const at = (p: (string | number)[]) => issues.find((i) => JSON.stringify(i.path) === JSON.stringify(p));
    expect(at(['steps', 0, 'datasets', 'geom', 'wcs', 'binsize'])?.message).toBe(
      "invalid unit for angle: 'dg'",
    );
    expect(at(['steps', 1, 'name'])?.message).toBe("two steps are named 'a' (steps 0 and 1)");
    expect(at(['steps', 2, 'excess_map'])?.message).toBe(
      "a 'data-selection' step does not read the 'excess_map' section",
    );
    expect(at(['steps', 3, 'required_products', 0, 'step_name'])?.message).toBe(
      "step 'map' requires products of 'later', which is not an earlier step",
    );
    expect(at(['steps', 4, 'type'])).toMatchObject({
      message: "unknown step type 'fitt'",
      hint: "did you mean 'fit'?",
    });
    // The shared section's bad unit is reported once, at the shared value, not once per step that reads it.
    expect(issues.filter((i) => i.message === "invalid unit for angle: 'TeV'").map((i) => i.path)).toEqual([
      ['excess_map', 'correlation_radius'],
    ]);
  });

  // Found by misspelling a step's type in configs/two-stores.yaml: the excess-map step's required_products naming it was
  // reported too, as "'store_a', which is not an earlier step" — it is one, written above with its own error.
  it('a step refused for its type is reported once, not again by a later step that requires its products', () => {
    const { issues } = readWorkflowConfig({
      ...base,
      steps: [
        { name: 'store_a', type: 'data-selectoin' },
        { name: 'store_b', type: 'data-selection' },
        {
          name: 'map',
          type: 'excess-map',
          required_products: [
            { name: 'datasets', step_name: 'store_a' },
            { name: 'datasets', step_name: 'store_b' },
          ],
        },
      ],
    });
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['steps.0.type', "unknown step type 'data-selectoin'"],
    ]);
  });

  it('stacked datasets need one geometry; a datasets step reads one observations step', () => {
    const { issues } = readWorkflowConfig({
      ...base,
      steps: [
        { name: 'o1', type: 'observations' },
        { name: 'o2', type: 'observations' },
        { name: 'd', type: 'datasets' },
      ],
    });
    expect(issues).toContainEqual(
      expect.objectContaining({
        path: ['steps', 2, 'required_products'],
        message: "a 'datasets' step reads observations of one step, got o1, o2",
      }),
    );
    const geometry = readWorkflowConfig({
      ...base,
      steps: [
        { name: 'a', type: 'data-selection' },
        { name: 'b', type: 'data-selection', datasets: { geom: { wcs: { binsize: '0.04 deg' } } } },
        { type: 'excess-map' },
      ],
    });
    expect(geometry.issues.map((i) => i.path)).toEqual([['steps', 1, 'datasets', 'geom']]);
  });

  it('the single analysis config is not expanded (the pipeline targets describe it)', () => {
    expect(workflowTargets({ ...base })).toBeUndefined();
    expect(workflowTargets({ ...base, steps: [{ type: 'nope' }] })).toEqual({
      targets: [],
      replaces: ['observations', 'datasets', 'stacked', 'stacked_maps', 'excess_map'],
    });
  });
});

describe('a pipeline loaded from a workflow config', () => {
  let ws: string;
  const registry = createStepRegistry();
  registerSteps(registry);
  const load = (config: string) =>
    loadPipeline(path.join(ws, 'pipe.yaml'), { registry, configFile: config, cwd: ws, env: {} });

  beforeAll(() => {
    ws = mkdtempSync(path.join(tmpdir(), 'pipe-workflow-'));
    cpSync(path.join(repo, 'pipe.yaml'), path.join(ws, 'pipe.yaml'));
    cpSync(path.join(repo, 'pipelines'), path.join(ws, 'pipelines'), { recursive: true });
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('reports config errors at file:line:col of the config', async () => {
    const text = readFileSync(twoStores, 'utf8')
      .replace(
        'datastore: ../data/second-store}',
        'datastore: ../data/second-store, obs_cone: {radius: 2 TeV}}',
      )
      .replace('type: excess-map', 'type: excess-mop');
    writeFileSync(path.join(ws, 'bad.yaml'), text);
    const result = await load('bad.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = text.split('\n');
    const where = (needle: string) => {
      const line = lines.findIndex((l) => l.includes(needle));
      return { line: line + 1, col: lines[line]!.indexOf(needle) + 1 };
    };
    expect(result.diagnostics.map((d) => [d.span?.file, d.span?.line, d.span?.col, d.message])).toEqual([
      [
        path.join(ws, 'bad.yaml'),
        where('2 TeV').line,
        where('2 TeV').col,
        "'steps.1.observations.obs_cone.radius': invalid unit for angle: 'TeV'",
      ],
      [
        path.join(ws, 'bad.yaml'),
        where('excess-mop').line,
        where('excess-mop').col,
        "'steps.2.type': unknown step type 'excess-mop'",
      ],
    ]);
  });

  it('warns at general.outdir, general.n_jobs and general.log.filename, which pipe does not use, and still loads', async () => {
    const crab = readFileSync(path.join(repo, 'pipelines/excess_map/crab.yaml'), 'utf8');
    expect(crab).toContain('general: {log: {level: info}, outdir: ., n_jobs: 1}');
    // gammapy's defaults written out (the shipped config) are not worth a warning.
    const quiet = await load(path.join(repo, 'pipelines/excess_map/crab.yaml'));
    expect(quiet.ok && quiet.warnings.filter((w) => w.code === 'config-setting-unused')).toEqual([]);
    for (const [name, text] of [
      ['plain', crab],
      ['workflow', readFileSync(twoStores, 'utf8')],
    ] as const) {
      const general = 'general: {log: {level: info, filename: gp.log}, outdir: results, n_jobs: 4}';
      const edited = text.includes('general:')
        ? text.replace(/^general:.*$/m, general)
        : `${general}\n${text}`;
      const file = path.join(ws, 'pipelines/excess_map/configs', `general-${name}.yaml`);
      writeFileSync(file, edited);
      const result = await load(file);
      expect(result.ok, name).toBe(true);
      if (!result.ok) continue;
      const line = edited.split('\n').findIndex((l) => l.startsWith('general:')) + 1;
      const unused = result.warnings.filter((w) => w.code === 'config-setting-unused');
      expect(
        unused.map((w) => [w.severity, w.span?.line, w.span?.col, w.message.split(':')[0]]),
        name,
      ).toEqual([
        ['warning', line, general.indexOf('gp.log') + 1, "'general.log.filename'"],
        ['warning', line, general.indexOf('results') + 1, "'general.outdir'"],
        ['warning', line, general.indexOf('4}') + 1, "'general.n_jobs'"],
      ]);
    }
  });

  it('warns that pipe makes the exposure when map_selection leaves it out (gammapy leaves it empty)', async () => {
    const crab = readFileSync(path.join(repo, 'pipelines/excess_map/crab.yaml'), 'utf8');
    const list = 'map_selection: [counts, exposure, background, psf, edisp]';
    expect(crab).toContain(list);
    const file = path.join(ws, 'pipelines/excess_map/configs/no-exposure.yaml');
    writeFileSync(file, crab.replace(list, 'map_selection: [counts, background]'));
    const result = await load(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const unused = result.warnings.filter((w) => w.code === 'config-setting-unused');
    expect(unused.map((w) => w.message.split(':')[0])).toEqual(["'datasets.map_selection'"]);
    expect(unused[0]!.message).toContain('gammapy leaves it empty');
  });

  it("maps a step's own param check to the value in the config", async () => {
    const text = readFileSync(twoStores, 'utf8').replace(
      'excess_map: {correlation_radius: 0.1 deg}',
      'excess_map: {correlation_radius: 0.1 deg, parameters: {n_sigma: -1}}',
    );
    writeFileSync(path.join(ws, 'pipelines/excess_map/configs/param.yaml'), text);
    const result = await load('pipelines/excess_map/configs/param.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split('\n').findIndex((l) => l.includes('n_sigma: -1')) + 1;
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ code: 'invalid-param', span: { line } });
    expect(result.diagnostics[0]!.message).toContain("target 'excess_map'");
  });

  describe('the task graph', () => {
    let pipeline: Pipeline;
    const run = (id: number): TaskItem => ({ id: String(id), files: [], data: { obsId: id } });
    const items = new Map([
      ['store_a.observations', [run(23523), run(23526)]],
      ['store_b.observations', [run(23559), run(23592)]],
    ]);

    beforeAll(async () => {
      const result = await load('pipelines/excess_map/configs/two-stores.yaml');
      if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
      pipeline = result.pipeline;
    });

    it('replaces the targets written over the single config, keeps the others', () => {
      const names = [...pipeline.targets.keys()].sort();
      expect(names).toEqual(
        [
          'dr1_datasets',
          'dr1_observations',
          'excess_map',
          'excess_map.stacked',
          'excess_map.stacked_maps',
          'store_a',
          'store_a.observations',
          'store_b',
          'store_b.observations',
        ].sort(),
      );
      // Each selection reads its own data store's index.
      const index = (t: string) =>
        pipeline.targets.get(t)!.inputs['index']!.map((s) => s.kind === 'file' && s.pattern);
      expect(index('store_a.observations')).toEqual([
        'pipelines/excess_map/data/hess-dl3-dr1/hdu-index.fits*',
        'pipelines/excess_map/data/hess-dl3-dr1/obs-index.fits*',
      ]);
      expect(index('store_b.observations')).toEqual([
        'pipelines/excess_map/data/second-store/hdu-index.fits*',
        'pipelines/excess_map/data/second-store/obs-index.fits*',
      ]);
    });

    it('fans out per (step, run), stacks the runs of both steps in step order, then the excess map', () => {
      const graph = expandGraph(pipeline, { targets: ['excess_map'], items });
      expect(graph.pending).toEqual([]);
      expect([...graph.tasks.keys()].sort()).toEqual(
        [
          'excess_map',
          'excess_map.stacked',
          'excess_map.stacked_maps',
          'store_a.observations',
          'store_a[23523]',
          'store_a[23526]',
          'store_b.observations',
          'store_b[23559]',
          'store_b[23592]',
        ].sort(),
      );
      const stacked = graph.tasks.get('excess_map.stacked')!;
      expect(stacked.deps).toEqual(['store_a[23523]', 'store_a[23526]', 'store_b[23559]', 'store_b[23592]']);
      expect(
        stacked.inputs['datasets']!.map(
          (f) => path.basename(path.dirname(path.dirname(f.path))) + '/' + path.basename(f.path),
        ),
      ).toEqual(['store_a/23523.fits', 'store_a/23526.fits', 'store_b/23559.fits', 'store_b/23592.fits']);
      // The stacked maps are built with the estimator, not before it: both read the stack only.
      expect(graph.tasks.get('excess_map')!.deps).toEqual(['excess_map.stacked']);
      expect(graph.tasks.get('excess_map.stacked_maps')!.deps).toEqual(['excess_map.stacked']);
      // The step's override merged over the shared section: store_a selects its runs, store_b all of its store.
      const obs = (t: string) =>
        (graph.tasks.get(t)!.params['observations'] as { obs_ids: number[] }).obs_ids;
      expect(obs('store_a.observations')).toEqual([23523, 23526]);
      expect(obs('store_b.observations')).toEqual([]);
    });

    it("changing one step's override changes only that step's params", async () => {
      const text = readFileSync(twoStores, 'utf8').replace(
        'datastore: ../data/second-store}',
        'datastore: ../data/second-store}\n    datasets: {safe_mask: {methods: [aeff-default, offset-max], parameters: {offset_max: 2.0 deg}}}',
      );
      writeFileSync(path.join(ws, 'pipelines/excess_map/configs/changed.yaml'), text);
      const result = await load('pipelines/excess_map/configs/changed.yaml');
      if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
      const before = expandGraph(pipeline, { targets: ['excess_map'], items });
      const after = expandGraph(result.pipeline, { targets: ['excess_map'], items });
      const changed = [...before.tasks.keys()].filter(
        (id) => JSON.stringify(before.tasks.get(id)!.params) !== JSON.stringify(after.tasks.get(id)!.params),
      );
      expect(changed.sort()).toEqual(['store_b[23559]', 'store_b[23592]']);
    });
  });
});

describe("gammapy's general.steps (a list of step types) and the targets of each step type", () => {
  it('general.steps runs its types in order, with default names', () => {
    const { steps, issues } = readWorkflowConfig({
      ...base,
      general: { steps: ['data-selection', 'excess-map'], overwrite: [true, false] },
    });
    expect(issues).toEqual([]);
    expect(steps.map((s) => [s.name, s.path])).toEqual([
      ['data_selection', ['general', 'steps', 0]],
      ['excess_map', ['general', 'steps', 1]],
    ]);
    const bad = readWorkflowConfig({ ...base, general: { steps: ['data-selection', 'fit'] } });
    expect(bad.issues).toEqual([
      expect.objectContaining({
        path: ['general', 'steps', 1],
        message: "pipe's excess-map pipeline does not run 'fit' steps",
      }),
    ]);
  });

  it('observations → datasets → excess-map: selection, per-run reduction over its items, stack, map', () => {
    const generated = workflowTargets({
      ...base,
      steps: [
        { name: 'runs', type: 'observations', observations: { datastore: 'elsewhere' } },
        { name: 'maps', type: 'datasets' },
        { name: 'sky', type: 'excess-map', excess_map: { correlation_radius: '0.2 deg' } },
      ],
    })!;
    const byName = Object.fromEntries(generated.targets.map((t) => [t.name, t]));
    expect(Object.keys(byName)).toEqual(['runs', 'maps', 'sky.stacked', 'sky.stacked_maps', 'sky']);
    expect(byName['runs']!.target).toMatchObject({
      step: 'astro.select_observations',
      inputs: {
        index: [
          '${config.steps.0.observations.datastore}/hdu-index.fits*',
          '${config.steps.0.observations.datastore}/obs-index.fits*',
        ],
      },
      params: { observations: { $config: [['observations'], ['steps', 0, 'observations']] } },
    });
    expect(byName['maps']!.target).toMatchObject({
      step: 'astro.reduce_observation',
      foreach: { items: 'runs' },
      inputs: { exclusion: '${config.datasets.background.exclusion?}' },
      params: { datasets: { $config: [['datasets'], ['steps', 1, 'datasets']] } },
      outputs: { dataset: 'build/workflow/maps/datasets/{item}.fits' },
    });
    expect(byName['sky.stacked']!.target).toMatchObject({
      inputs: { datasets: [{ target: 'maps', output: 'dataset' }] },
    });
    expect(byName['sky']!.target).toMatchObject({
      step: 'astro.excess_map',
      inputs: { stacked: { target: 'sky.stacked' } },
      params: { excess_map: { $config: [['excess_map'], ['steps', 2, 'excess_map']] } },
    });
    expect((byName['sky']!.target['outputs'] as Record<string, string>)['sqrt_ts']).toBe(
      'products/sky/sqrt_ts.fits.gz',
    );
    expect(byName['sky']!.target).toMatchObject({ with: ['sky.stacked_maps'] });
    expect(generated.replaces).toEqual(['observations', 'datasets', 'stacked', 'stacked_maps', 'excess_map']);
    expect(byName['sky.stacked_maps']!.target).toMatchObject({
      step: 'astro.stacked_maps',
      inputs: { stacked: { target: 'sky.stacked' } },
      outputs: { counts: 'products/sky/counts.fits.gz', counts_png: 'products/sky/counts.png' },
    });
  });
});

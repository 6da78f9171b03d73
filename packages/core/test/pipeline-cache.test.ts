import { mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CachedTask,
  cachedGraph,
  pipelineBaseInputsDigest,
  pipelineCacheFile,
  pipelineDeps,
  pipelineInputsDigest,
  plainTask,
  readPipelineCache,
  recordingEnv,
  writePipelineCache,
} from '../src/builds/pipeline-cache.js';
import { loadPipeline } from '../src/config/index.js';
import { expandGraph } from '../src/graph/index.js';
import type { Pipeline } from '../src/model/types.js';
import { valueDigest } from '../src/workspace/value-digest.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const PIPE = `
  version: 1
  vars: {DATA: data}
  targets:
    each:
      foreach: {glob: "in/*.txt"}
      command: [cp, "in/{item}.txt", "{outputs.out}"]
      outputs: {out: "out/{item}.txt"}
    all:
      inputs: {parts: {target: each}, deep: "deep/**/*.txt", ref: $DATA/ref.txt}
      command: [cat, "{inputs.parts}"]
      outputs: {out: out/all.txt}
`;

/** Set every file and directory below `dir` (and itself) to an mtime well outside the racy window. */
function age(dir: string, secondsAgo = 60): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    utimesSync(path.join(e.parentPath, e.name), t, t);
  utimesSync(dir, t, t);
}

function workspace(): string {
  const dir = makeWorkspace({
    'pipe.yaml': PIPE,
    'in/a.txt': 'a',
    'in/b.txt': 'b',
    'deep/x/1.txt': '1',
    'data/ref.txt': 'r',
  });
  dirs.push(dir);
  age(dir);
  return dir;
}

const inputs = (dir: string, params: Record<string, string> = {}) =>
  pipelineInputsDigest({ file: path.join(dir, 'pipe.yaml'), cwd: dir, params });

/** Load the pipeline the way the CLI does on a miss, and write the cache entry. */
async function loadAndCache(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Pipeline> {
  const started = Date.now();
  const recording = recordingEnv(env);
  const file = path.join(dir, 'pipe.yaml');
  const loaded = await loadPipeline(file, { registry: fixtureRegistry(), cwd: dir, env: recording.env });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const deps = pipelineDeps(loaded.pipeline, started);
  if (!deps) throw new Error('deps unexpectedly racy');
  const graph = expandGraph(loaded.pipeline, { targets: ['all'] });
  await writePipelineCache({
    file: pipelineCacheFile(file),
    inputs: inputs(dir),
    env: [...recording.read].sort().map((n) => [n, valueDigest(env[n])]),
    deps,
    pipeline: loaded.pipeline,
    warnings: '',
    graph: { targets: ['all'], graph },
  });
  return loaded.pipeline;
}

const lookup = (dir: string, env: NodeJS.ProcessEnv = {}, params: Record<string, string> = {}) =>
  readPipelineCache(pipelineCacheFile(path.join(dir, 'pipe.yaml')), inputs(dir, params), env);

describe('pipeline cache', () => {
  it('returns the validated pipeline and its graph while nothing changed', async () => {
    const dir = workspace();
    const pipeline = await loadAndCache(dir);
    const got = lookup(dir);
    if (!('hit' in got)) throw new Error(`expected a hit, got ${JSON.stringify(got)}`);
    expect([...got.hit.pipeline.targets.keys()].sort()).toEqual([...pipeline.targets.keys()].sort());
    const graph = cachedGraph(got.hit, ['all'])!.graph;
    expect([...graph.tasks.keys()].sort()).toEqual(['all', 'each[a]', 'each[b]']);
    expect(cachedGraph(got.hit, ['each'])).toBeUndefined();
  });

  it("gives the graph back exactly: a task's rest parsed when first read, a task never read written back as read", async () => {
    const dir = workspace();
    const pipeline = await loadAndCache(dir);
    const expanded = expandGraph(pipeline, { targets: ['all'] });
    const file = pipelineCacheFile(path.join(dir, 'pipe.yaml'));
    const text = readFileSync(file, 'utf8');
    const got = lookup(dir);
    if (!('hit' in got)) throw new Error('expected a hit');
    const cached = cachedGraph(got.hit, ['all'])!;
    const each = cached.graph.tasks.get('each[a]')!;
    expect(each).toBeInstanceOf(CachedTask);
    // Id, target and deps are read without the rest.
    expect([each.id, each.target, each.deps]).toEqual(['each[a]', 'each', []]);
    expect(cached.graph.tasks.get('all')!.deps).toEqual(expanded.tasks.get('all')!.deps);
    expect((each as CachedTask).unparsedRest()).toBeDefined();
    expect(each.outputs).toEqual(expanded.tasks.get('each[a]')!.outputs);
    expect((each as CachedTask).unparsedRest()).toBeUndefined();
    // Saved again (one task parsed, the others not): the same file.
    await writePipelineCache({ ...got.hit, file, previous: got.hit, graph: cached });
    expect(readFileSync(file, 'utf8')).toBe(text);
    for (const [id, task] of cached.graph.tasks) expect(plainTask(task)).toEqual(expanded.tasks.get(id));
    expect(JSON.parse(JSON.stringify(each))).toEqual(expanded.tasks.get('each[a]'));
  });

  it('is invalidated by an edit of the pipeline file', async () => {
    const dir = workspace();
    await loadAndCache(dir);
    writeFileSync(path.join(dir, 'pipe.yaml'), `${PIPE.replace('out/all.txt', 'out/all2.txt')}\n`);
    const stale = lookup(dir);
    expect(stale).toMatchObject({ miss: 'stale' });
    // The stale entry comes along, for speculation only (the build warms the step modules it names).
    expect('previous' in stale && stale.previous?.pipeline.targets.has('all')).toBe(true);
  });

  it('is invalidated by a file added to a glob directory, and by one added deep below a recursive glob', async () => {
    const dir = workspace();
    await loadAndCache(dir);
    writeFileSync(path.join(dir, 'in', 'c.txt'), 'c');
    expect(lookup(dir)).toMatchObject({ miss: 'stale' });

    const dir2 = workspace();
    await loadAndCache(dir2);
    // deep/x is below the glob's base (deep/): only its own stamp, recorded for `**`, can tell.
    writeFileSync(path.join(dir2, 'deep', 'x', '2.txt'), '2');
    expect(lookup(dir2)).toMatchObject({ miss: 'stale' });
  });

  it('is invalidated by a file added that an include glob matches (it may add or redeclare targets)', async () => {
    const dir = makeWorkspace({
      'pipe.yaml':
        'version: 1\ninclude: ["inc/*.yaml"]\ntargets:\n  all: {command: [echo], outputs: [all.txt]}\n',
      'inc/a.yaml': 'targets:\n  a: {command: [echo], outputs: [a.txt]}\n',
    });
    dirs.push(dir);
    age(dir);
    await loadAndCache(dir);
    expect(lookup(dir)).toHaveProperty('hit');
    writeFileSync(path.join(dir, 'inc', 'b.yaml'), 'targets:\n  b: {command: [echo], outputs: [b.txt]}\n');
    expect(lookup(dir)).toMatchObject({ miss: 'stale' });
  });

  it('is invalidated when a broken link a glob leaves out comes to lead to a file (a disk mounted)', async () => {
    const dir = workspace();
    const target = path.join(dir, 'elsewhere', 'c.txt');
    symlinkSync(target, path.join(dir, 'in', 'c.txt'));
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(dir, 'in'), old, old); // age() would follow the link
    await loadAndCache(dir);
    expect(lookup(dir)).toHaveProperty('hit');
    mkdirSync(path.dirname(target));
    writeFileSync(target, 'c');
    expect(lookup(dir)).toMatchObject({ miss: 'stale' });
  });

  it('is invalidated by a removed input of a plain path (its directory changes)', async () => {
    const dir = workspace();
    await loadAndCache(dir);
    writeFileSync(path.join(dir, 'data', 'other.txt'), 'o');
    expect(lookup(dir)).toMatchObject({ miss: 'stale' });
  });

  it('is keyed by the values of the environment variables the loader read', async () => {
    const dir = workspace();
    mkdirSync(path.join(dir, 'alt'));
    writeFileSync(path.join(dir, 'alt', 'ref.txt'), 'r2');
    age(dir);
    await loadAndCache(dir, { DATA: 'alt' });
    expect('hit' in lookup(dir, { DATA: 'alt', UNRELATED: 'x' })).toBe(true);
    expect(lookup(dir, { DATA: 'data' })).toMatchObject({ miss: 'stale' });
    expect(lookup(dir, {})).toMatchObject({ miss: 'stale' });
  });

  it('is keyed by the command-line inputs', async () => {
    const dir = workspace();
    await loadAndCache(dir);
    expect(lookup(dir, {}, { 'all.x': '1' })).toMatchObject({ miss: 'stale' });
    expect(
      readPipelineCache(
        pipelineCacheFile(path.join(dir, 'pipe.yaml')),
        pipelineInputsDigest({
          file: path.join(dir, 'pipe.yaml'),
          cwd: dir,
          params: {},
          configFile: path.join(dir, 'other.yaml'),
        }),
        {},
      ),
    ).toMatchObject({ miss: 'stale' });
  });

  it('offers an entry that differs only in --param and keeps an override base, while its files are unchanged', async () => {
    const dir = workspace();
    const pipeline = await loadAndCache(dir);
    const file = path.join(dir, 'pipe.yaml');
    const cacheFile = pipelineCacheFile(file);
    const base = { config: {}, schemaIssues: [], references: [], otherReads: [], rawParams: {}, applied: {} };
    const save = async (withBase: boolean) => {
      const deps = pipelineDeps(pipeline, Date.now());
      if (!deps) throw new Error('deps unexpectedly racy');
      await writePipelineCache({
        file: cacheFile,
        inputs: inputs(dir),
        baseInputs: pipelineBaseInputsDigest({ file, cwd: dir, params: {} }),
        env: [],
        deps,
        pipeline,
        ...(withBase ? { base } : {}),
        warnings: '',
      });
    };
    const other = (params: Record<string, string>, configFile?: string) =>
      readPipelineCache(
        cacheFile,
        inputs(dir, params),
        {},
        pipelineBaseInputsDigest({ file, cwd: dir, params, ...(configFile ? { configFile } : {}) }),
      );
    await save(true);
    expect(other({ 'config.a': '1' })).toMatchObject({ miss: 'params', previous: { base } });
    expect(other({})).toHaveProperty('hit');
    // Another --config is another load.
    expect(other({ 'config.a': '1' }, path.join(dir, 'other.yaml'))).toMatchObject({ miss: 'stale' });
    // Without a base, other params miss as before.
    await save(false);
    expect(other({ 'config.a': '1' })).toMatchObject({ miss: 'stale' });
    // A changed pipeline file invalidates it for every --param.
    await save(true);
    writeFileSync(file, `${PIPE}\n`);
    expect(other({ 'config.a': '1' })).toMatchObject({ miss: 'stale' });
  });

  it("is invalidated by an edit anywhere in a step module's source closure", () => {
    const dir = makeWorkspace({
      'steps/step.mjs': "import './helper.mjs';\nexport default {};\n",
      'steps/helper.mjs': 'export const x = 1;\n',
    });
    dirs.push(dir);
    age(dir);
    const pipeline: Pipeline = {
      file: path.join(dir, 'pipe.yaml'),
      root: dir,
      sourceFiles: [],
      defaults: { resources: {} },
      targets: new Map([
        [
          't',
          {
            name: 't',
            step: './steps/step.mjs',
            stepModule: path.join(dir, 'steps/step.mjs'),
            inputs: {},
            params: {},
            outputs: {},
            needs: [],
            with: [],
            env: [],
            resources: {},
          },
        ],
      ]),
    };
    const before = pipelineDeps(pipeline, Date.now())!;
    expect(before.map((d) => d[0])).toContain(path.join(dir, 'steps/helper.mjs'));
    const editedAt = Date.now();
    writeFileSync(path.join(dir, 'steps/helper.mjs'), 'export const x = 2;\n');
    // Just written: racily clean, so not cacheable now…
    expect(pipelineDeps(pipeline, editedAt)).toBeUndefined();
    // …and its stamp no longer matches the one recorded.
    const t = new Date(Date.now() - 30_000);
    utimesSync(path.join(dir, 'steps/helper.mjs'), t, t);
    const after = pipelineDeps(pipeline, Date.now())!;
    const stampOf = (deps: typeof before) => deps.find((d) => d[0] === path.join(dir, 'steps/helper.mjs'));
    expect(stampOf(after)).not.toEqual(stampOf(before));
  });

  it('does not cache a pipeline whose files were modified within the racy window', async () => {
    const dir = workspace();
    writeFileSync(path.join(dir, 'pipe.yaml'), `${PIPE}\n`);
    // The moment loading began, as the engine passes it (after a load slowed past the window by a busy machine,
    // Date.now() would make the file look old enough).
    const loadStarted = Date.now();
    const loaded = await loadPipeline(path.join(dir, 'pipe.yaml'), {
      registry: fixtureRegistry(),
      cwd: dir,
      env: {},
    });
    expect(loaded.ok && pipelineDeps(loaded.pipeline, loadStarted)).toBeUndefined();
  });

  it('discards a corrupt or foreign file with a note', async () => {
    const dir = workspace();
    await loadAndCache(dir);
    const file = pipelineCacheFile(path.join(dir, 'pipe.yaml'));
    writeFileSync(file, 'garbage that v8 cannot deserialize');
    const got = lookup(dir);
    expect('miss' in got && got.miss).toBe('corrupt');
    expect('note' in got && got.note).toMatch(/discarded and rebuilt/);
    const { serialize } = await import('node:v8');
    writeFileSync(file, serialize({ format: 'something-else', version: 1 }));
    expect(lookup(dir)).toMatchObject({ miss: 'corrupt' });
    expect(lookup(path.join(dir, 'nowhere'))).toEqual({ miss: 'absent' });
  });
});

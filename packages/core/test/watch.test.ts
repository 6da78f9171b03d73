/**
 * Watch mode's parts without a file watcher: what is watched for a graph (inputs, step closure,
 * kernel sources; outputs as products only; never .pipe/ or swap files), the debounce queue on a hand-driven clock,
 * telling a content change from a touch, and what an edit makes stale.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStepRegistry, expandGraph, loadPipeline, loadXxhash } from '../src/index.js';
import { ChangeQueue, type QueueTimers } from '../src/watch/change-queue.js';
import { ContentTracker } from '../src/watch/content-tracker.js';
import { compileUnit, unitsFor } from '../src/watch/recompile.js';
import { computeWatchSet, isWatchedPath, kindOf, reanchor } from '../src/watch/watch-set.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'pipe-watch-'));
}

function write(root: string, rel: string, content: string): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** The watch set of `targets` of the pipeline in `root` (no kernels, nothing excluded). */
async function watchSetOf(root: string, targets: string[]) {
  const loaded = await loadPipeline(path.join(root, 'pipe.yaml'), {
    registry: createStepRegistry(),
    cwd: root,
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return computeWatchSet({
    pipeline: loaded.pipeline,
    tasks: expandGraph(loaded.pipeline, { targets }).tasks.values(),
    targets,
    kernels: [],
    excluded: [],
  });
}

/** A clock the test advances by hand. */
class ManualTimers implements QueueTimers {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private id = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { at: this.now + ms, fn });
    return this.id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= this.now) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

describe('ChangeQueue', () => {
  it('hands over a burst once it is quiet, coalesced and sorted', async () => {
    const clock = new ManualTimers();
    const queue = new ChangeQueue(50, clock);
    const batches: string[][] = [];
    void queue.next().then((b) => batches.push(b!));
    queue.push('/w/b');
    clock.advance(30);
    queue.push('/w/a');
    queue.push('/w/b');
    clock.advance(30); // 30 ms after the last push: not quiet yet
    await Promise.resolve();
    expect(batches).toEqual([]);
    clock.advance(20);
    await Promise.resolve();
    expect(batches).toEqual([['/w/a', '/w/b']]);
  });

  it('keeps changes made while the consumer is busy and returns them on the next call', async () => {
    const clock = new ManualTimers();
    const queue = new ChangeQueue(50, clock);
    // Nobody waits (a build is running): changes collect.
    queue.push('/w/x');
    clock.advance(100);
    queue.push('/w/y');
    clock.advance(60);
    expect(queue.size).toBe(2);
    expect(await queue.next()).toEqual(['/w/x', '/w/y']);
    expect(queue.size).toBe(0);
  });

  it('resolves a waiting call with undefined when closed', async () => {
    const queue = new ChangeQueue(50, new ManualTimers());
    const next = queue.next();
    queue.close();
    expect(await next).toBeUndefined();
  });
});

describe('ContentTracker', () => {
  beforeAll(async () => {
    await loadXxhash();
  });

  it('tells a content change from a touch, and sees deletion and re-creation', () => {
    const dir = tempDir();
    const file = write(dir, 'params.yaml', 'a: 1\n');
    const tracker = new ContentTracker();
    tracker.baseline([file]);
    const later = new Date(Date.now() + 10_000);
    utimesSync(file, later, later);
    expect(tracker.check(file)).toBe('unchanged');
    writeFileSync(file, 'a: 2\n');
    expect(tracker.peek(file)).toBe('changed');
    expect(tracker.check(file)).toBe('changed');
    expect(tracker.check(file)).toBe('unchanged');
    // An atomic save with the same bytes (new inode) is no change.
    writeFileSync(`${file}.tmp`, 'a: 2\n');
    renameSync(`${file}.tmp`, file);
    expect(tracker.check(file)).toBe('unchanged');
    rmSync(file);
    expect(tracker.check(file)).toBe('removed');
    expect(tracker.check(file)).toBe('unchanged');
    writeFileSync(file, 'a: 2\n');
    expect(tracker.check(file)).toBe('created');
  });

  it('sees a same-size rewrite within the same mtime (racily clean)', () => {
    const dir = tempDir();
    const file = write(dir, 'k.ts', 'x = 1');
    const tracker = new ContentTracker();
    tracker.baseline([file]);
    const t = new Date(1_700_000_000_000);
    utimesSync(file, t, t);
    tracker.baseline([file], true);
    writeFileSync(file, 'x = 2');
    utimesSync(file, t, t);
    expect(tracker.check(file)).toBe('changed');
  });
});

describe('computeWatchSet', () => {
  it('watches inputs, the pipeline, the config, step closures and kernel sources; outputs only as products; never .pipe/', async () => {
    const root = tempDir();
    write(
      root,
      'pipe.yaml',
      `version: 1
config: params.yaml
targets:
  upper:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    command: [cp, "{inputs.src}", "{outputs.out}"]
    outputs: { out: "data/{item}.up" }
  count:
    step: ./steps/count.mjs
    inputs: { parts: { target: upper }, extra: "more/*.csv" }
    params: { n: "\${config.n}" }
    outputs: { out: out/count.txt }
`,
    );
    write(root, 'params.yaml', 'n: 1\n');
    write(root, 'data/a.txt', 'a');
    write(root, 'data/a.up', 'A'); // an output beside the inputs
    write(root, 'more/x.csv', '1');
    write(
      root,
      'steps/count.mjs',
      "import { f } from './lib/helper.mjs';\nexport default { name: 't.count', version: '1', run() { f(); } };\n",
    );
    write(root, 'steps/lib/helper.mjs', 'export const f = () => 1;\n');
    const kernelsRoot = tempDir();
    const kernelFile = write(kernelsRoot, 'assembly/k.ts', '// k');
    const shared = write(kernelsRoot, 'assembly/common.ts', '// shared');
    const rust = write(kernelsRoot, 'native/src/k.rs', '// k');

    const loaded = await loadPipeline(path.join(root, 'pipe.yaml'), {
      registry: createStepRegistry(),
      cwd: root,
    });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const graph = expandGraph(loaded.pipeline, { targets: ['count'] });
    const set = computeWatchSet({
      pipeline: loaded.pipeline,
      tasks: graph.tasks.values(),
      targets: ['upper', 'count'],
      kernels: [
        { name: 'k', reference: [], assembly: [kernelFile, shared], native: [rust] },
        { name: 'other', reference: [], assembly: [shared], native: [] },
      ],
      excluded: [path.join(root, '.pipe')],
    });
    const rel = (f: string) =>
      f.startsWith(root) ? path.relative(root, f) : `kernels/${path.relative(kernelsRoot, f)}`;
    expect(Object.fromEntries([...set.files].map(([f, k]) => [rel(f), k]))).toEqual({
      'pipe.yaml': 'pipeline',
      'params.yaml': 'config',
      'data/a.txt': 'data',
      'more/x.csv': 'data',
      'steps/count.mjs': 'step',
      'steps/lib/helper.mjs': 'step',
      'kernels/assembly/k.ts': 'kernel',
      'kernels/assembly/common.ts': 'kernel',
      'kernels/native/src/k.rs': 'kernel',
    });
    expect([...set.dirs].map(rel).sort()).toEqual([
      '',
      'data',
      'kernels/assembly',
      'kernels/native/src',
      'more',
      'steps',
      'steps/lib',
    ]);
    // A product's folder not made yet: its creation is watched from the nearest folder there is.
    expect([...set.missingDirs].map(rel)).toEqual(['out']);
    expect(set.kernelFiles.get(shared)).toEqual([
      { kernel: 'k', part: 'assembly' },
      { kernel: 'other', part: 'assembly' },
    ]);
    // New glob matches are inputs; outputs are products (only their deletion counts: watch-loop), never inputs,
    // not even matching an input glob; swap files and pipe's own state are not watched.
    expect(isWatchedPath(set, path.join(root, 'data/new.txt'))).toBe(true);
    expect(isWatchedPath(set, path.join(root, 'more/y.csv'))).toBe(true);
    expect(set.files.has(path.join(root, 'data/a.up'))).toBe(false);
    expect(kindOf(set, path.join(root, 'data/a.up'))).toBe('product');
    expect(kindOf(set, path.join(root, 'out/count.txt'))).toBe('product');
    expect(isWatchedPath(set, path.join(root, 'data/.a.txt.swp'))).toBe(false);
    expect(isWatchedPath(set, path.join(root, 'data/a.txt~'))).toBe(false);
    expect(isWatchedPath(set, path.join(root, '.pipe/state.json'))).toBe(false);
    expect(isWatchedPath(set, path.join(root, 'out/other.txt'))).toBe(false);
    expect(kindOf(set, path.join(root, 'data/new.txt'))).toBe('data');

    // What an edit makes stale: an AssemblyScript edit recompiles its kernels' WASM; a shared helper all of them.
    expect(unitsFor([kernelFile], set, kernelsRoot)).toEqual([{ kind: 'wasm', kernel: 'k' }]);
    expect(unitsFor([shared], set, kernelsRoot)).toEqual([
      { kind: 'wasm', kernel: 'k' },
      { kind: 'wasm', kernel: 'other' },
    ]);
    // No addon built in this package copy: a Rust edit changes the key but there is nothing to rebuild.
    expect(unitsFor([rust], set, kernelsRoot)).toEqual([]);
    // A plain .mjs step runs as is: nothing to compile.
    expect(unitsFor([path.join(root, 'steps/count.mjs')], set, kernelsRoot)).toEqual([]);
  });

  it('watches the folder of an include glob: a new pipeline file there is a change', async () => {
    const root = tempDir();
    write(
      root,
      'pipe.yaml',
      'version: 1\ninclude: ["inc/*.yaml"]\ntargets:\n  t: {command: [echo], outputs: [t.txt]}\n',
    );
    write(root, 'inc/a.yaml', 'targets:\n  a: {command: [echo], outputs: [a.txt]}\n');
    const set = await watchSetOf(root, ['t']);
    expect(set.dirs.has(path.join(root, 'inc'))).toBe(true);
    expect(isWatchedPath(set, path.join(root, 'inc/b.yaml'))).toBe(true);
    expect(isWatchedPath(set, path.join(root, 'inc/b.txt'))).toBe(false);
  });

  it('watches every folder under a ** glob, and a new folder there is a change (a flat glob: only its base)', async () => {
    const root = tempDir();
    write(
      root,
      'pipe.yaml',
      `version: 1
targets:
  deep:
    inputs: { fs: "d/**/*.txt" }
    command: [cat, "{inputs.fs}"]
    outputs: { out: deep.txt }
  flat:
    inputs: { fs: "f/*.txt" }
    command: [cat, "{inputs.fs}"]
    outputs: { out: flat.txt }
`,
    );
    write(root, 'd/a/x.txt', 'x');
    mkdirSync(path.join(root, 'd/empty/deeper'), { recursive: true });
    mkdirSync(path.join(root, 'd/.hidden'), { recursive: true });
    write(root, 'f/y.txt', 'y');
    mkdirSync(path.join(root, 'f/sub'), { recursive: true });
    const set = await watchSetOf(root, ['deep', 'flat']);
    expect([...set.dirs].map((d) => path.relative(root, d)).sort()).toEqual([
      '',
      'd',
      'd/a',
      'd/empty',
      'd/empty/deeper',
      'f',
    ]);
    mkdirSync(path.join(root, 'd/new'));
    expect(isWatchedPath(set, path.join(root, 'd/new'))).toBe(true);
    expect(isWatchedPath(set, path.join(root, 'd/new/q.txt'))).toBe(true);
    expect(isWatchedPath(set, path.join(root, 'd/new/q.png'))).toBe(false);
    mkdirSync(path.join(root, 'f/new'));
    expect(isWatchedPath(set, path.join(root, 'f/new'))).toBe(false);
    expect(reanchor(set).dirs.has(path.join(root, 'd/new'))).toBe(true);
  });

  it('watches the nearest existing folder of a deleted input folder, and its creation', async () => {
    const root = tempDir();
    write(
      root,
      'pipe.yaml',
      `version: 1
targets:
  t:
    inputs: { src: "later/deep/in.txt" }
    command: [cp, "{inputs.src}", "{outputs.out}"]
    outputs: { out: out.txt }
`,
    );
    write(root, 'later/deep/in.txt', 'x');
    const set = await watchSetOf(root, ['t']);
    expect(set.dirs).toEqual(new Set([root, path.join(root, 'later/deep')]));
    rmSync(path.join(root, 'later'), { recursive: true });
    const after = reanchor(set);
    expect(after.dirs).toEqual(new Set([root]));
    expect(after.missingDirs).toEqual(new Set([path.join(root, 'later'), path.join(root, 'later/deep')]));
    expect(isWatchedPath(after, path.join(root, 'later'))).toBe(true);
    expect(isWatchedPath(after, path.join(root, 'later/deep/in.txt'))).toBe(true);
  });
});

describe('compileUnit', () => {
  it('skips, with why, a TypeScript project no compiler resolves from (the build refuses stale code): not a failure to retry', async () => {
    const root = tempDir();
    write(root, 'tsconfig.json', '{"compilerOptions": {"outDir": "dist"}}');
    const result = await compileUnit({ kind: 'tsc', project: root }, undefined);
    expect(result.ok).toBe(true);
    expect(result.ok && result.skipped).toMatch(/no TypeScript compiler found .*tsc -w/);
    rmSync(root, { recursive: true, force: true });
  });
});

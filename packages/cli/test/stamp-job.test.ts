/**
 * A declined no-op check leaves the stamps after the first changed task file to its hint: checked when the hint is
 * settled, by the main thread and meanwhile by a lent thread (fast-path/stamp-job.ts: core's early step thread runs
 * it as a job). Whoever checks which stamp, the hint must be the one a check of every stamp gives. The job module
 * runs in a thread as compiled JS, so this test uses the built packages (dist/).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { POOL_WORKER_ENTRY } from '../../core/dist/execute/early-thread.js';
import {
  checkSnapshot,
  listJson,
  type PendingHint,
  pipeEnvOf,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotHeader,
  type SnapshotStamp,
  snapshotFile,
  stampPath,
} from '../dist/fast-path/snapshot.js';
import { STAMP_CHUNK, stampJobViews } from '../dist/fast-path/stamp-job.js';
import { age, PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const temp = tempWorkspaces('pipe-stamp-job-');
const KEY = 'stamp-job-test';
/** Task files: more than a few chunks of stamps. */
const FILES = 5 * STAMP_CHUNK + 77;
const env = {};

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** A workspace with FILES files, one task each, and a snapshot that vouches for all of them (files aged). */
function workspace(): string {
  const root = temp.dir();
  mkdirSync(path.join(root, '.pipe', 'noop'), { recursive: true });
  mkdirSync(path.join(root, 'f'));
  writeFileSync(path.join(root, '.pipe', 'state.json'), '{}\n');
  const old = Date.now() / 1000 - 60;
  for (let i = 0; i < FILES; i++) {
    const file = path.join(root, 'f', `${i}.txt`);
    writeFileSync(file, `file ${i}\n`);
    utimesSync(file, old, old);
  }
  const stamps: SnapshotStamp[] = [
    stampPath(path.join(root, '.pipe', 'state.json'), 'f', '.pipe/state.json'),
    stampPath(path.join(root, '.pipe', 'state.journal'), 'f', '.pipe/state.journal'),
  ];
  const rows: Array<[string, 0 | 1, ...number[]]> = [];
  for (let i = 0; i < FILES; i++) {
    rows.push([`t${i}`, 1, stamps.length]);
    stamps.push(stampPath(path.join(root, 'f', `${i}.txt`), 'f', `f/${i}.txt`));
  }
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    key: KEY,
    checkedAt: Date.now() - 10_000,
    stateFile: '.pipe/state.json',
    journalFile: '.pipe/state.journal',
    pipeEnv: pipeEnvOf(env),
    env: [],
    warnings: '',
    tasks: FILES,
    summaries: [],
    buildable: true,
    noop: true,
    globals: 2,
  };
  writeFileSync(snapshotFile(root, KEY), `${JSON.stringify(header)}\n${listJson(stamps)}\n${listJson(rows)}`);
  return root;
}

/** Change task files (new content: another size). */
function change(root: string, files: number[]): void {
  for (const i of files) writeFileSync(path.join(root, 'f', `${i}.txt`), `changed ${i}, longer\n`);
}

/** The hint of a check of every stamp at once (as before any was left to the hint). */
function wholeCheck(root: string) {
  const check = checkSnapshot(root, KEY, env, { wantHint: true, deferFrom: Number.POSITIVE_INFINITY });
  expect(check).toMatchObject({ ok: false, why: 'changed' });
  const hint = (check as { hint?: PendingHint }).hint?.settle();
  expect(hint).toBeDefined();
  return hint!;
}

/** A declined check whose stamps from the first changed one on are left to the hint. */
function deferredCheck(root: string): PendingHint {
  const check = checkSnapshot(root, KEY, env, { wantHint: true, deferFrom: 100 });
  expect(check).toMatchObject({ ok: false, why: 'changed', path: path.join(root, 'f', '3.txt') });
  const pending = (check as { hint?: PendingHint }).hint;
  expect(pending).toBeDefined();
  return pending!;
}

const CHANGED = [3, 10, 700, 701, 2 * STAMP_CHUNK + 5, FILES - 1];
const expectedClean = () =>
  Array.from({ length: FILES }, (_, i) => `t${i}`).filter((id) => !CHANGED.includes(Number(id.slice(1))));

describe('the stamps a declined no-op check leaves to its hint', () => {
  it('are checked by a lent step thread while the main thread works, and the hint is the whole check’s', async () => {
    const root = workspace();
    change(root, CHANGED);
    const whole = wholeCheck(root);
    expect([...whole.clean].sort()).toEqual(expectedClean().sort());

    const pending = deferredCheck(root);
    expect(pending.stateStamp).toBe(whole.stateStamp);
    // A real pool thread (core's pool-worker.js) runs the job; wait until it has checked every chunk.
    const worker = new Worker(POOL_WORKER_ENTRY);
    workers.push(worker);
    let shared: SharedArrayBuffer | undefined;
    let from = 0;
    pending.lend((message) => {
      shared = message.data.shared;
      from = message.data.from;
      worker.postMessage(message);
      return true;
    });
    expect(shared).toBeDefined();
    const views = stampJobViews(shared!, whole.stamps.length, from);
    const deadline = Date.now() + 20_000;
    while (![...views.states].every((s) => s === 2) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect([...views.states].every((s) => s === 2)).toBe(true);
    // Done by the thread: settling only reads its flags.
    const hint = pending.settle();
    expect(hint).toBeDefined();
    expect([...hint!.bad]).toEqual([...whole.bad]);
    expect([...hint!.clean].sort()).toEqual([...whole.clean].sort());
    expect(pending.settle()).toBe(hint); // settled once
  });

  it('are checked by the main thread when no thread is lent, or the thread never starts', () => {
    const root = workspace();
    change(root, CHANGED);
    const whole = wholeCheck(root);
    const alone = deferredCheck(root).settle();
    expect([...alone!.bad]).toEqual([...whole.bad]);
    expect([...alone!.clean].sort()).toEqual(expectedClean().sort());
    const neverStarted = deferredCheck(root);
    neverStarted.lend(() => true); // "sent", never run
    expect([...neverStarted.settle()!.clean].sort()).toEqual(expectedClean().sort());
  });

  it('are checked again by the main thread where the thread took a chunk and did not finish it, or failed', () => {
    const root = workspace();
    change(root, CHANGED);
    const pending = deferredCheck(root);
    let shared: SharedArrayBuffer | undefined;
    let from = 0;
    pending.lend((message) => {
      shared = message.data.shared;
      from = message.data.from;
      return true;
    });
    // As a thread would: chunk 0 taken and left unfinished (a thread waiting for a core), chunk 1 failed.
    const views = stampJobViews(shared!, FILES + 2, from);
    expect(Atomics.add(views.cursor, 0, 1)).toBe(0);
    Atomics.store(views.states, 0, 1);
    expect(Atomics.add(views.cursor, 0, 1)).toBe(1);
    Atomics.store(views.states, 1, 3);
    const hint = pending.settle();
    expect([...hint!.clean].sort()).toEqual(expectedClean().sort());
    expect([...views.states].every((s) => s === 2)).toBe(true);
  });

  it('give no hint when a stamp cannot be looked at, as the whole check gives none', () => {
    const root = workspace();
    change(root, [3]);
    // A path below a file: stat fails with ENOTDIR (not a missing file).
    writeFileSync(path.join(root, 'f', '900.txt'), 'x');
    const file = snapshotFile(root, KEY);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"f/901.txt"', '"f/900.txt/below"'));
    expect(() =>
      checkSnapshot(root, KEY, env, { wantHint: true, deferFrom: Number.POSITIVE_INFINITY }),
    ).toThrow();
    expect(deferredCheck(root).settle()).toBeUndefined();
  });

  it('after changes in a large workspace, `pipe build` (its first step thread lent) runs exactly what changed', () => {
    // 2,100 files: 4,200 task stamps, enough for the check to leave them to the hint (DEFERRED_MIN_STAMPS).
    const files: Record<string, string> = {
      'steps/copy.mjs': `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.copy',
  version: '1',
  run(ctx) {
    writeFileSync(ctx.outputs.out, Buffer.concat(ctx.inputs.src.map((f) => readFileSync(f))));
  },
};
`,
      'pipe.yaml': `version: 1
targets:
  each:
    foreach: { glob: "in/*.txt" }
    inputs: { src: "in/{item}.txt" }
    step: ./steps/copy.mjs
    outputs: { out: "out/{item}.txt" }
  all:
    inputs: { src: { target: each } }
    step: ./steps/copy.mjs
    outputs: { out: out/all.txt }
`,
    };
    for (let i = 0; i < 2100; i++) files[`in/f${i}.txt`] = `file ${i}\n`;
    const root = temp.workspace(files);
    const run = () => {
      const r = spawnSync(process.execPath, [PIPE_BIN, 'build', 'all'], {
        cwd: root,
        env: { ...process.env, CI: 'true' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return (r.stderr.match(/^ran +\S+/gm) ?? []).map((l) => l.replace(/^ran +/, '')).sort();
    };
    expect(run()).toHaveLength(2101);
    age(root);
    expect(run()).toEqual([]); // settled: the snapshot vouches for every task
    age(root);
    expect(run()).toEqual([]);
    writeFileSync(path.join(root, 'in/f0.txt'), 'changed first\n');
    writeFileSync(path.join(root, 'in/f2099.txt'), 'changed last\n');
    writeFileSync(path.join(root, 'out/f1234.txt'), 'an output edited by hand\n');
    // The edited output is put back from the cache (its task's key is unchanged).
    expect(run()).toEqual(['all', 'each[f0]', 'each[f2099]']);
    expect(readFileSync(path.join(root, 'out/f1234.txt'), 'utf8')).toBe('file 1234\n');
    const all = readFileSync(path.join(root, 'out/all.txt'), 'utf8').split('\n');
    expect(all).toHaveLength(2101);
    expect(all).toEqual(expect.arrayContaining(['changed first', 'changed last', 'file 1234']));
    expect(all).not.toContain('file 0');
    expect(run()).toEqual([]);
  }, 120_000);
});

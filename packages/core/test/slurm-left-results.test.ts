/** The results a dead build's Slurm jobs left (slurm/left-results.ts): which are kept, and when one is taken. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { slurmWorkDir } from '../src/slurm/build-jobs.js';
import { dropKeptResults, keepLeftResults, keptDir, LeftResults } from '../src/slurm/left-results.js';
import type { TaskResultFile } from '../src/slurm/task-files.js';

const DEAD = '20261206-010000-000-dead00';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A workspace's `.pipe` with a run folder, and a writer of the dead build's result files. */
function workspace() {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-left-'));
  dirs.push(root);
  const pipeDir = path.join(root, '.pipe');
  const runTmp = path.join(pipeDir, 'tmp', 'run');
  const results = path.join(slurmWorkDir(pipeDir, DEAD), 'results');
  mkdirSync(runTmp, { recursive: true });
  mkdirSync(results, { recursive: true });
  /** Write an output file and the result naming it; `over` replaces fields of the result. */
  const result = (taskId: string, file: string, bytes: string, over: Partial<TaskResultFile> = {}) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    const r: TaskResultFile = {
      version: 1,
      buildId: DEAD,
      taskId,
      key: `key-of-${taskId}`,
      attempt: 1,
      status: 'ok',
      exitCode: 0,
      signal: null,
      outputs: {
        out: {
          path: file,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          size: Buffer.byteLength(bytes),
          mode: 0o644,
        },
      },
      host: 'node1',
      slurm: { jobId: '42' },
      start: '2026-12-06T01:00:00.000Z',
      end: '2026-12-06T01:00:01.000Z',
      ...over,
    };
    writeFileSync(path.join(results, `${taskId}.a${r.attempt}.json`), JSON.stringify(r));
    return r;
  };
  return { root, pipeDir, runTmp, result };
}

describe('results a dead build’s Slurm jobs left', () => {
  it('keeps those that ended well with a key and all their outputs, out of the run folder the next build clears', () => {
    const { root, pipeDir, runTmp, result } = workspace();
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    result('b', path.join(root, 'out/b.txt'), 'published by b'); // read by a job after it: at its final path
    result('failed', path.join(runTmp, 'f~1~f.txt'), 'half', { status: 'failed', exitCode: 3 });
    result('keyless', path.join(runTmp, 'k~1~k.txt'), 'no key', { key: undefined });
    const gone = result('gone', path.join(runTmp, 'g~1~g.txt'), 'stored by its build');
    rmSync(gone.outputs.out!.path);
    result('other', path.join(runTmp, 'o~1~o.txt'), 'of another build', { buildId: 'another' });
    expect(keepLeftResults(pipeDir, DEAD, runTmp)).toBe(2);
    // a's output left the run folder; b's stays where its dependants read it.
    expect(existsSync(path.join(runTmp, 'a~1~a.txt'))).toBe(false);
    expect(existsSync(path.join(root, 'out/b.txt'))).toBe(true);
    const index = JSON.parse(readFileSync(path.join(keptDir(pipeDir, DEAD), 'index.json'), 'utf8'));
    expect(index.map((r: TaskResultFile) => r.taskId).sort()).toEqual(['a', 'b']);
    expect(readFileSync(index.find((r: TaskResultFile) => r.taskId === 'a').outputs.out.path, 'utf8')).toBe(
      'made by a',
    );
  });

  it('the last attempt that ended well is the one kept', () => {
    const { pipeDir, runTmp, result } = workspace();
    result('a', path.join(runTmp, 'a~1~first.txt'), 'attempt 1');
    result('a', path.join(runTmp, 'a~1~second.txt'), 'attempt 2', { attempt: 2 });
    expect(keepLeftResults(pipeDir, DEAD, runTmp)).toBe(1);
    const [kept] = JSON.parse(readFileSync(path.join(keptDir(pipeDir, DEAD), 'index.json'), 'utf8'));
    expect(kept.attempt).toBe(2);
  });

  it('is taken once, by the same task under the same key, while its outputs hold the bytes it names', async () => {
    const { root, pipeDir, runTmp, result } = workspace();
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    result('b', path.join(root, 'out/b.txt'), 'published by b');
    result('c', path.join(root, 'out/c.txt'), 'published by c');
    keepLeftResults(pipeDir, DEAD, runTmp);
    const left = new LeftResults(pipeDir);
    expect(await left.take('a', 'another key')).toBeUndefined();
    expect(await left.take('nobody', 'key-of-a')).toBeUndefined();
    const a = await left.take('a', 'key-of-a');
    expect(a?.slurm.jobId).toBe('42');
    expect(await left.take('a', 'key-of-a')).toBeUndefined(); // taken already
    // Edited since its job wrote it (same size): not taken, the task runs again.
    writeFileSync(path.join(root, 'out/b.txt'), 'PUBLISHED by b');
    expect(await left.take('b', 'key-of-b')).toBeUndefined();
    expect((await left.take('c', 'key-of-c'))?.outputs.out?.path).toBe(path.join(root, 'out/c.txt'));
  });

  it('nothing kept when no result is left, and what is kept goes with the build that kept it', () => {
    const { pipeDir, runTmp, result } = workspace();
    expect(keepLeftResults(pipeDir, 'no-such-build', runTmp)).toBe(0);
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    keepLeftResults(pipeDir, DEAD, runTmp);
    expect(new LeftResults(pipeDir).size).toBe(1);
    dropKeptResults(pipeDir, DEAD);
    expect(existsSync(keptDir(pipeDir, DEAD))).toBe(false);
    expect(new LeftResults(pipeDir).size).toBe(0);
  });
});

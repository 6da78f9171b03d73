/** The results a dead build's Slurm jobs left (slurm/left-results.ts): which are kept, and when one is taken. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { identityOf } from '@pipe/cache/types';
import { afterEach, describe, expect, it } from 'vitest';
import { markInterrupted, openTaskJournal, writeBuildRecord } from '../src/builds/records.js';
import { slurmWorkDir } from '../src/slurm/build-jobs.js';
import { jobTablePath } from '../src/slurm/job-table.js';
import {
  dropAllKeptResults,
  dropKeptResults,
  type JobsEnded,
  type KeptResult,
  keepLeftResults,
  keptDir,
  LeftResults,
} from '../src/slurm/left-results.js';
import { recordedTasks } from '../src/slurm/orphan-jobs.js';
import type { ReadStamp, TaskResultFile } from '../src/slurm/task-files.js';
import { buildRecord } from './fixtures/build-record.js';

const DEAD = '20261206-010000-000-dead00';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Slurm's verdict for every job: COMPLETED, unless named in `notOk` (or `unknown`: Slurm no longer says). */
const slurmSays =
  (notOk: string[] = [], unknown: string[] = []): JobsEnded =>
  async (jobs) =>
    new Map(jobs.map((j) => [j, notOk.includes(j) ? 'not-ok' : unknown.includes(j) ? 'unknown' : 'ok']));
const none = new Set<string>();

/** A workspace's `.pipe` with a run folder, and a writer of the dead build's result files and job table. */
function workspace() {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-left-'));
  dirs.push(root);
  const pipeDir = path.join(root, '.pipe');
  const runTmp = path.join(pipeDir, 'tmp', 'run');
  const workDir = slurmWorkDir(pipeDir, DEAD);
  const results = path.join(workDir, 'results');
  mkdirSync(runTmp, { recursive: true });
  mkdirSync(results, { recursive: true });
  const table: Record<string, { job: string; attempt: number; state: string }> = {};
  let nextJob = 1;
  /** Write an output file, the result naming it and the task's job-table line; `over` replaces result fields. */
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
      slurm: { jobId: String(nextJob) },
      // Its job started after its inputs were written (the tests write them first).
      start: new Date(Date.now() + 5000).toISOString(),
      end: new Date(Date.now() + 6000).toISOString(),
      ...over,
    };
    writeFileSync(path.join(results, `${taskId}.a${r.attempt}.json`), JSON.stringify(r));
    table[taskId] = { job: String(nextJob++), attempt: r.attempt, state: 'running' };
    writeFileSync(
      jobTablePath(workDir),
      JSON.stringify({ format: 'pipe-slurm-jobs', version: 1, buildId: DEAD, updatedAt: '', tasks: table }),
    );
    return r;
  };
  const index = (): KeptResult[] =>
    JSON.parse(readFileSync(path.join(keptDir(pipeDir, DEAD), 'index.json'), 'utf8'));
  return { root, pipeDir, runTmp, table, result, index };
}

describe('results a dead build’s Slurm jobs left', () => {
  it('keeps those that ended well with a key and all their outputs, out of the run folder the next build clears', async () => {
    const { root, pipeDir, runTmp, result, index } = workspace();
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    result('b', path.join(root, 'out/b.txt'), 'published by b'); // read by a job after it: at its final path
    result('failed', path.join(runTmp, 'f~1~f.txt'), 'half', { status: 'failed', exitCode: 3 });
    result('keyless', path.join(runTmp, 'k~1~k.txt'), 'no key', { key: undefined });
    const gone = result('gone', path.join(runTmp, 'g~1~g.txt'), 'stored by its build');
    rmSync(gone.outputs.out!.path);
    result('other', path.join(runTmp, 'o~1~o.txt'), 'of another build', { buildId: 'another' });
    expect(await keepLeftResults(pipeDir, DEAD, runTmp, none, slurmSays([]))).toEqual({
      kept: 2,
      unknown: 0,
    });
    // a's output left the run folder; b's stays where its dependants read it.
    expect(existsSync(path.join(runTmp, 'a~1~a.txt'))).toBe(false);
    expect(existsSync(path.join(root, 'out/b.txt'))).toBe(true);
    expect(
      index()
        .map((k) => k.result.taskId)
        .sort(),
    ).toEqual(['a', 'b']);
    const a = index().find((k) => k.result.taskId === 'a')!;
    expect(readFileSync(a.result.outputs.out!.path, 'utf8')).toBe('made by a');
    expect(a.job).toBe('1');
  });

  it("Slurm's verdict, the last attempt and the dead build's own record decide, as they would have for it", async () => {
    const { pipeDir, runTmp, table, result, index } = workspace();
    // Its job ran out of memory after the step wrote "ok" (a child killed, the shell exited 0): not kept.
    result('oom', path.join(runTmp, 'm~1~m.txt'), 'truncated');
    // Attempt 1 ended "ok" but its build judged it failed and started attempt 2, which was cancelled: not kept.
    result('retried', path.join(runTmp, 'r~1~r.txt'), 'attempt 1');
    table.retried = { job: '99', attempt: 2, state: 'running' };
    writeFileSync(
      jobTablePath(slurmWorkDir(pipeDir, DEAD)),
      JSON.stringify({ format: 'pipe-slurm-jobs', version: 1, buildId: DEAD, updatedAt: '', tasks: table }),
    );
    // Stored by its build before it died (its record has the task): nothing to keep.
    result('stored', path.join(runTmp, 's~1~s.txt'), 'stored');
    result('good', path.join(runTmp, 'g~1~g.txt'), 'good');
    // A job Slurm no longer knows (past MinJobAge, no jobcomp log, no accounting): not kept, and counted.
    result('forgotten', path.join(runTmp, 'f~1~f.txt'), 'forgotten');
    expect(
      await keepLeftResults(pipeDir, DEAD, runTmp, new Set(['stored']), slurmSays(['1'], ['5'])),
    ).toEqual({ kept: 1, unknown: 1 });
    expect(index().map((k) => k.result.taskId)).toEqual(['good']);
  });

  it("the dead build's record, marked interrupted, withholds only what it stored: not what it left running or queued", async () => {
    const { pipeDir, runTmp, result, index } = workspace();
    const buildsDir = path.join(pipeDir, 'builds');
    mkdirSync(buildsDir, { recursive: true });
    await writeBuildRecord(
      buildsDir,
      buildRecord(DEAD, {
        startedAt: new Date().toISOString(),
        planned: { tasks: ['t[stored]', 't[running]', 't[queued]'], fanouts: [] },
      }),
    );
    // Under Slurm every task of a batch starts at once; the driver saw one end and stored it, then was killed.
    const journal = openTaskJournal(buildsDir, DEAD);
    for (const id of ['t[stored]', 't[running]', 't[queued]']) journal.start(id, new Date().toISOString());
    journal.add({ id: 't[stored]', state: 'ran' });
    journal.close();
    expect(await markInterrupted(buildsDir, DEAD)).toBe(true);
    for (const id of ['t[stored]', 't[running]', 't[queued]'])
      result(id, path.join(runTmp, `${id}.txt`), `made by ${id}`);
    expect(await keepLeftResults(pipeDir, DEAD, runTmp, recordedTasks(pipeDir, DEAD), slurmSays())).toEqual({
      kept: 2,
      unknown: 0,
    });
    expect(
      index()
        .map((k) => k.result.taskId)
        .sort(),
    ).toEqual(['t[queued]', 't[running]']);
  });

  it("removes every other build's kept folder (a takeover build that died too), and keeps nothing half", async () => {
    const { pipeDir, runTmp, result } = workspace();
    const older = keptDir(pipeDir, '20261205-000000-000-older0');
    mkdirSync(older, { recursive: true });
    writeFileSync(path.join(older, 'index.json'), '[]');
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    // As a takeover does (orphan-jobs.ts settleLeftJobs): every kept folder goes, then the dead build's results are kept.
    dropAllKeptResults(pipeDir);
    await keepLeftResults(pipeDir, DEAD, runTmp, none, slurmSays([]));
    expect(existsSync(older)).toBe(false);
    expect(existsSync(keptDir(pipeDir, DEAD))).toBe(true);
    // Slurm cannot be asked: an error, and nothing kept.
    const failing: JobsEnded = async () => {
      throw new Error('slurm_load_jobs error: Unable to contact slurm controller');
    };
    result('b', path.join(runTmp, 'b~1~b.txt'), 'made by b');
    dropAllKeptResults(pipeDir);
    await expect(keepLeftResults(pipeDir, DEAD, runTmp, none, failing)).rejects.toThrow(/contact/);
    expect(new LeftResults(pipeDir).size).toBe(0);
  });

  it('is taken once, by the same task under the same key, while its outputs and what its key hashed are unchanged', async () => {
    const { root, pipeDir, runTmp, result } = workspace();
    const input = path.join(root, 'in/x.txt');
    mkdirSync(path.dirname(input), { recursive: true });
    writeFileSync(input, 'v1');
    const reads: ReadStamp[] = [[input, identityOf(statSync(input, { bigint: true }))]];
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a', { reads });
    result('b', path.join(root, 'out/b.txt'), 'published by b', { reads });
    result('c', path.join(root, 'out/c.txt'), 'published by c', { reads });
    result('norecord', path.join(runTmp, 'n~1~n.txt'), 'no reads');
    await keepLeftResults(pipeDir, DEAD, runTmp, none, slurmSays([]));
    const left = new LeftResults(pipeDir);
    expect(await left.take('a', 'another key')).toBeUndefined();
    expect(await left.take('nobody', 'key-of-a')).toBeUndefined();
    const a = await left.take('a', 'key-of-a');
    expect(a && 'job' in a ? a.job : a).toBe('1');
    expect(await left.take('a', 'key-of-a')).toBeUndefined(); // taken already
    expect(await left.take('norecord', 'key-of-norecord')).toEqual({
      refused: 'its job did not record what it read',
    });
    // Edited since its job wrote it (same size): not taken, the task runs again.
    writeFileSync(path.join(root, 'out/b.txt'), 'PUBLISHED by b');
    expect(await left.take('b', 'key-of-b')).toEqual({
      refused: `its output ${path.join(root, 'out/b.txt')} changed since its job wrote it`,
    });
    // The input edited while the job ran and put back (its bytes as before, as after a git checkout there and back):
    // the job may have read the other bytes.
    writeFileSync(input, 'v2');
    writeFileSync(input, 'v1');
    expect(await left.take('c', 'key-of-c')).toEqual({
      refused: `${input} changed since its job was submitted`,
    });
  });

  it('nothing kept when no result is left, and what is kept goes with the build that kept it', async () => {
    const { pipeDir, runTmp, result } = workspace();
    expect(await keepLeftResults(pipeDir, 'no-such-build', runTmp, none, slurmSays([]))).toEqual({
      kept: 0,
      unknown: 0,
    });
    result('a', path.join(runTmp, 'a~1~a.txt'), 'made by a');
    await keepLeftResults(pipeDir, DEAD, runTmp, none, slurmSays([]));
    expect(new LeftResults(pipeDir).size).toBe(1);
    dropKeptResults(pipeDir, DEAD);
    expect(existsSync(keptDir(pipeDir, DEAD))).toBe(false);
    expect(new LeftResults(pipeDir).size).toBe(0);
  });
});

/**
 * Results a dead build's Slurm jobs left: jobs that ended well after their driver was gone (kill -9, a lost login
 * node, a laptop closed over ssh). Each job wrote its outputs and then its result file, which names the outputs with
 * their SHA-256 and the task's key; nobody stored them. The build that takes the workspace over keeps them
 * (keepLeftResults, before the run folder those outputs sit in is cleared), and its Slurm executor takes a kept result
 * in place of a new job for a task of the same id and key (LeftResults.take) when
 * - Slurm ended the job COMPLETED, its result says ok, and it is the task's last attempt (the dead driver may have
 *   judged an earlier one failed: out of memory, say);
 * - every file its key hashed (inputs, an item's files, its step's sources) has the identity it had when the job was
 *   submitted (size, mtime, ctime, inode: an input edited while the job ran and put back has the key again, not the
 *   bytes the job read), and the build is not `--force`d;
 * - its outputs still hash as the result says.
 * Then hours of cluster time are not spent again; the engine stores and publishes the outputs as for any job that
 * just ended. A task whose key was not known at submission (a member of a batch waiting on another) has no key in its
 * result and runs again. What is not taken goes with the build that kept it, and any older kept folder with the next
 * takeover.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import { sameIdentity } from '@pipe/cache/types';
import { identityOnce } from '../fingerprint/code-hash.js';
import { slurmWorkDir } from './build-jobs.js';
import { readJobTable } from './job-table.js';
import { taskResultSchema } from './result-schema.js';
import { taskStem } from './submission.js';
import { hashFile, type TaskResultFile } from './task-files.js';

/** The folder of a dead build's Slurm files where its kept results and their outputs go. */
export function keptDir(pipeDir: string, buildId: string): string {
  return join(slurmWorkDir(pipeDir, buildId), 'kept');
}

const INDEX = 'index.json';

/**
 * One kept result: its outputs' paths are where they are now (moved out of the run folder, or in the workspace);
 * `job` as the job table names it.
 */
export interface KeptResult {
  result: TaskResultFile & { key: string };
  job: string;
}

/**
 * How the jobs of kept results ended, by the job table's job id: Slurm's verdict (the caller asks Slurm); 'unknown'
 * when Slurm no longer says (a job older than MinJobAge on a site with neither a jobcomp log nor accounting).
 */
export type JobsEnded = (jobs: string[]) => Promise<Map<string, 'ok' | 'not-ok' | 'unknown'>>;

/** What keepLeftResults kept, and how many results it could not, Slurm no longer knowing how their jobs ended. */
export interface Kept {
  kept: number;
  unknown: number;
}

/** Whether `file` lies below `dir`. */
export function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..';
}

/**
 * Keep what the dead build `buildId` left of its jobs that ended well (see the module comment), except for the tasks
 * in `stored` (its record shows it stored them before it died). Outputs in the run folder `runTmp` (cleared when a
 * build starts) are moved under keptDir; outputs a job published in the workspace (read by a job after it) stay.
 * The caller has removed every kept folder first (a takeover: settleLeftJobs). Returns how many results were kept,
 * and how many Slurm could not judge; on any failure nothing is kept.
 */
export async function keepLeftResults(
  pipeDir: string,
  buildId: string,
  runTmp: string,
  stored: ReadonlySet<string>,
  ended: JobsEnded,
): Promise<Kept> {
  const none: Kept = { kept: 0, unknown: 0 };
  const workDir = slurmWorkDir(pipeDir, buildId);
  const table = readJobTable(workDir);
  if (!table) return none;
  const resultsDir = join(workDir, 'results');
  // The result of each task's last attempt, if it says ok and carries a key.
  const candidates: KeptResult[] = [];
  for (const name of safeList(resultsDir)) {
    if (!name.endsWith('.json')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(resultsDir, name), 'utf8'));
    } catch {
      continue; // a job killed while writing it (written atomically, so unlikely): not a result
    }
    const r = taskResultSchema.safeParse(parsed);
    if (!r.success || r.data.status !== 'ok' || !r.data.key || r.data.buildId !== buildId) continue;
    const entry = table.tasks[r.data.taskId];
    if (!entry?.job || entry.attempt !== r.data.attempt || stored.has(r.data.taskId)) continue;
    if (Object.values(r.data.outputs).some((o) => !existsSync(o.path))) continue;
    candidates.push({ result: r.data as KeptResult['result'], job: entry.job });
  }
  if (candidates.length === 0) return none;
  // Slurm's verdict wins, as for a live build: a job killed for its memory may still have written "ok".
  const verdicts = await ended([...new Set(candidates.map((c) => c.job))]);
  const dir = keptDir(pipeDir, buildId);
  const kept: KeptResult[] = [];
  let unknown = 0;
  try {
    for (const c of candidates) {
      const verdict = verdicts.get(c.job) ?? 'unknown';
      if (verdict === 'unknown') unknown++;
      if (verdict !== 'ok') continue;
      const outputs: KeptResult['result']['outputs'] = {};
      for (const [i, [name, o]] of Object.entries(c.result.outputs).entries()) {
        if (!isInside(runTmp, o.path)) {
          outputs[name] = o;
          continue;
        }
        const to = join(dir, taskStem(c.result.taskId), String(i));
        makeDirsSync(join(dir, taskStem(c.result.taskId)));
        renameSync(o.path, to);
        outputs[name] = { ...o, path: to };
      }
      kept.push({ ...c, result: { ...c.result, outputs } });
    }
    if (kept.length === 0) return { kept: 0, unknown };
    makeDirsSync(dir);
    writeFileSync(join(dir, INDEX), `${JSON.stringify(kept)}\n`);
    return { kept: kept.length, unknown };
  } catch (error) {
    // Half kept: nothing is (what was moved goes; those tasks run again).
    dropKeptResults(pipeDir, buildId);
    throw error;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The results kept in a workspace (by the takeover build: see keepLeftResults), taken at most once each. */
export class LeftResults {
  readonly #byTask = new Map<string, KeptResult>();

  constructor(pipeDir: string) {
    for (const build of safeList(join(pipeDir, 'slurm'))) {
      let list: unknown;
      try {
        list = JSON.parse(readFileSync(join(keptDir(pipeDir, build), INDEX), 'utf8'));
      } catch {
        continue;
      }
      if (!Array.isArray(list)) continue;
      for (const entry of list as Array<Partial<KeptResult>>) {
        const r = taskResultSchema.safeParse(entry?.result);
        if (!r.success || !r.data.key || typeof entry.job !== 'string') continue;
        this.#byTask.set(r.data.taskId, {
          result: r.data as KeptResult['result'],
          job: entry.job,
        });
      }
    }
  }

  get size(): number {
    return this.#byTask.size;
  }

  /**
   * The kept result of task `taskId` under `key` (undefined: none), taken once, or why it is refused: a file its key
   * hashed (an input, an item's file, a source of its step) no longer has the identity it had when the job was
   * submitted (edited, even if put back: its ctime moved), or an output no longer has the bytes the result names.
   */
  async take(taskId: string, key: string): Promise<KeptResult | { refused: string } | undefined> {
    const kept = this.#byTask.get(taskId);
    if (kept?.result.key !== key) return undefined;
    this.#byTask.delete(taskId);
    const reads = kept.result.reads;
    if (!reads) return { refused: 'its job did not record what it read' };
    for (const [file, then] of reads) {
      const now = identityOnce(file);
      if (!now || !sameIdentity(then, now)) return { refused: `${file} changed since its job was submitted` };
    }
    for (const o of Object.values(kept.result.outputs)) {
      const now = await hashFile(o.path).catch(() => undefined);
      if (now?.sha256 !== o.sha256 || now.size !== o.size)
        return { refused: `its output ${o.path} changed since its job wrote it` };
    }
    return kept;
  }
}

/** Remove every build's kept results: a takeover's first step (what a dead takeover build kept is not for later builds). */
export function dropAllKeptResults(pipeDir: string): void {
  for (const build of safeList(join(pipeDir, 'slurm'))) dropKeptResults(pipeDir, build);
}

/** Remove a build's kept results (what no task took): called when the build that kept them ends. */
export function dropKeptResults(pipeDir: string, buildId: string): void {
  rmSync(keptDir(pipeDir, buildId), { recursive: true, force: true });
}

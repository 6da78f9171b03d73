/**
 * Results a dead build's Slurm jobs left: jobs that ended well after their driver was gone (kill -9, a lost login
 * node, a laptop closed over ssh). Each job wrote its outputs and then its result file, which names the outputs with
 * their SHA-256 and the task's key; nobody stored them. The build that takes the workspace over keeps them
 * (keepLeftResults, before the run folder those outputs sit in is cleared), and its Slurm executor takes a kept result
 * in place of a new job for a task of the same id and key whose outputs still hash as the result says
 * (LeftResults.take): hours of cluster time are not spent again. The engine then stores and publishes the outputs
 * as for any job that just ended. A task whose key was not known at submission (a member of a batch waiting on
 * another) has no key in its result and runs again. What is not taken goes with that build's end.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { slurmWorkDir } from './build-jobs.js';
import { taskResultSchema } from './result-schema.js';
import { taskStem } from './submission.js';
import { hashFile, type TaskResultFile } from './task-files.js';

/** The folder of a dead build's Slurm files where its kept results and their outputs go. */
export function keptDir(pipeDir: string, buildId: string): string {
  return join(slurmWorkDir(pipeDir, buildId), 'kept');
}

const INDEX = 'index.json';

/** One kept result: its outputs' paths are where they are now (moved out of the run folder, or in the workspace). */
export type KeptResult = TaskResultFile & { key: string };

/**
 * Keep what the dead build `buildId` left of its jobs that ended well: results with a key whose outputs are all
 * there. Outputs in the run folder `runTmp` (cleared when a build starts) are moved under keptDir; outputs a job
 * published in the workspace (read by a job after it) stay. Returns how many results were kept.
 */
export function keepLeftResults(pipeDir: string, buildId: string, runTmp: string): number {
  const resultsDir = join(slurmWorkDir(pipeDir, buildId), 'results');
  let names: string[];
  try {
    names = readdirSync(resultsDir).filter((n) => n.endsWith('.json'));
  } catch {
    return 0;
  }
  // The last attempt that ended well, per task (a retried task has one result file per attempt).
  const best = new Map<string, KeptResult>();
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(resultsDir, name), 'utf8'));
    } catch {
      continue; // a job killed while writing it (written atomically, so unlikely): not a result
    }
    const r = taskResultSchema.safeParse(parsed);
    if (!r.success || r.data.status !== 'ok' || !r.data.key || r.data.buildId !== buildId) continue;
    const result = r.data as KeptResult;
    const known = best.get(result.taskId);
    if (!known || known.attempt < result.attempt) best.set(result.taskId, result);
  }
  const dir = keptDir(pipeDir, buildId);
  const kept: KeptResult[] = [];
  for (const result of best.values()) {
    const outputs = Object.entries(result.outputs);
    if (outputs.some(([, o]) => !existsSync(o.path))) continue; // its build stored it after all, or it is gone
    const moved: KeptResult['outputs'] = {};
    try {
      for (const [name, o] of outputs) {
        if (!isInside(runTmp, o.path)) {
          moved[name] = o;
          continue;
        }
        const to = join(dir, taskStem(result.taskId), String(Object.keys(moved).length));
        mkdirSync(join(dir, taskStem(result.taskId)), { recursive: true });
        renameSync(o.path, to);
        moved[name] = { ...o, path: to };
      }
    } catch {
      continue; // could not be moved: it goes with the run folder, and the task runs again
    }
    kept.push({ ...result, outputs: moved });
  }
  if (kept.length === 0) return 0;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, INDEX), `${JSON.stringify(kept)}\n`);
  return kept.length;
}

/** Whether `file` lies below `dir`. */
export function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..';
}

/** The results kept in a workspace (every dead build's kept folder), taken at most once each. */
export class LeftResults {
  readonly #byTask = new Map<string, KeptResult[]>();

  constructor(pipeDir: string) {
    let builds: string[];
    try {
      builds = readdirSync(join(pipeDir, 'slurm'));
    } catch {
      return;
    }
    for (const build of builds) {
      let list: unknown;
      try {
        list = JSON.parse(readFileSync(join(keptDir(pipeDir, build), INDEX), 'utf8'));
      } catch {
        continue;
      }
      if (!Array.isArray(list)) continue;
      for (const entry of list) {
        const r = taskResultSchema.safeParse(entry);
        if (!r.success || !r.data.key) continue;
        const all = this.#byTask.get(r.data.taskId) ?? [];
        all.push(r.data as KeptResult);
        this.#byTask.set(r.data.taskId, all);
      }
    }
  }

  get size(): number {
    return this.#byTask.size;
  }

  /**
   * The kept result of task `taskId` under `key` whose outputs still have the bytes it names (each hashed again: a
   * file edited since, or half-overwritten, is not taken); undefined when there is none. Taken once.
   */
  async take(taskId: string, key: string): Promise<KeptResult | undefined> {
    const all = this.#byTask.get(taskId);
    const i = all?.findIndex((r) => r.key === key) ?? -1;
    if (!all || i < 0) return undefined;
    const [result] = all.splice(i, 1);
    for (const o of Object.values(result!.outputs)) {
      const now = await hashFile(o.path).catch(() => undefined);
      if (now?.sha256 !== o.sha256 || now.size !== o.size) return undefined;
    }
    return result;
  }
}

/** Remove a dead build's kept results (what no task took): called when the build that kept them ends. */
export function dropKeptResults(pipeDir: string, buildId: string): void {
  rmSync(keptDir(pipeDir, buildId), { recursive: true, force: true });
}

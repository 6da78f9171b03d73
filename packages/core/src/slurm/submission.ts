/**
 * Turning tasks into Slurm submissions: group tasks that can share one array job, write the job script
 * and one spec file per array element, and name everything (job names, log, result and temp files).
 * Tasks are grouped by (dependency level, target, attempt, resources), so that the jobs of one build
 * form a DAG (an array only waits for lower levels) and a fan-out of N tasks is one sbatch call.
 */
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeDirs } from '@pipe/cache/make-dirs';
import type { Resources } from '../model/types.js';
import { type JobSpec, SPEC_VERSION, type TaskSpec, writeFileAtomic } from './task-files.js';
import type { ExecTask } from './types.js';

/** A name safe for file names and Slurm job names. */
export function safeName(s: string, max = 60): string {
  const clean = s.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, max);
  return clean || '_';
}

/** What every job name of a build ends with (cancelling a build finds its jobs by it). */
function jobNameSuffix(buildId: string): string {
  return `.pipe-${safeName(buildId, 40)}`;
}

/**
 * `<target>.pipe-<build>`: the job name of every job of a target in a build. The target comes first: squeue's NAME
 * column shows 8 characters, where `pipe-2026…` said nothing of what runs.
 */
export function jobName(buildId: string, target: string): string {
  return `${safeName(target, 80)}${jobNameSuffix(buildId)}`;
}

/** Whether `name` is a job name of build `buildId`: as jobName makes it, or `pipe-<build>-<target>` as pipe named them before. */
export function isJobOfBuild(name: string, buildId: string): boolean {
  return name.endsWith(jobNameSuffix(buildId)) || name.startsWith(`pipe-${safeName(buildId, 40)}-`);
}

/** File-name stem of a task id: readable prefix plus a hash, since ids like `t[a/b]` and `t[a_b]` differ. */
export function taskStem(taskId: string): string {
  const h = createHash('sha256').update(taskId).digest('hex').slice(0, 10);
  return `${safeName(taskId, 50)}-${h}`;
}

/**
 * The temporary name an output is written to: a hidden directory next to the final name (same file system,
 * so the rename is atomic), keeping the file name itself, since writers choose the format by it (`.fits.gz`).
 */
export function tempOutputPath(finalPath: string, buildId: string, attempt: number, taskId: string): string {
  // One directory per task and attempt: tasks running at once in one output directory never share it.
  return join(
    dirname(finalPath),
    `.pipe-tmp-${safeName(buildId, 40)}-${taskStem(taskId)}-a${attempt}`,
    basename(finalPath),
  );
}

/** Longest-path level of each task within the batch (deps outside the batch count as done). Throws on a cycle. */
export function taskLevels(tasks: readonly ExecTask[]): Map<string, number> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`dependency cycle through task ${id}`);
    visiting.add(id);
    let l = 0;
    for (const dep of byId.get(id)?.deps ?? []) if (byId.has(dep)) l = Math.max(l, visit(dep) + 1);
    visiting.delete(id);
    level.set(id, l);
    return l;
  };
  for (const t of tasks) visit(t.id);
  return level;
}

export interface PendingTask {
  task: ExecTask;
  attempt: number;
  level: number;
  /** Resources of this attempt (normalised). */
  resources: Resources;
}

/** Groups tasks into submissions, in level order; each group is cut into arrays of at most maxArray elements. */
export function groupForSubmission(
  pending: readonly PendingTask[],
  tasksPerJob: number,
  maxArray: number,
): PendingTask[][][] {
  const groups = new Map<string, PendingTask[]>();
  const sorted = [...pending].sort((a, b) => a.level - b.level || a.task.id.localeCompare(b.task.id));
  for (const p of sorted) {
    const key = JSON.stringify([p.level, p.task.target, p.attempt, p.resources]);
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  // Each submission is a list of elements; each element a list of tasks.
  const submissions: PendingTask[][][] = [];
  for (const g of groups.values()) {
    const elements: PendingTask[][] = [];
    for (let i = 0; i < g.length; i += tasksPerJob) elements.push(g.slice(i, i + tasksPerJob));
    for (let i = 0; i < elements.length; i += maxArray) submissions.push(elements.slice(i, i + maxArray));
  }
  return submissions.sort((a, b) => (a[0]?.[0]?.level ?? 0) - (b[0]?.[0]?.level ?? 0));
}

/** Quotes a string for bash (single quotes). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface JobFiles {
  dir: string;
  script: string;
  /** --output pattern. */
  output: string;
  /** Log file of each element. */
  logs: string[];
  /** Result file per task id. */
  resultFiles: Map<string, string>;
}

export interface WriteJobFilesOptions {
  workDir: string;
  buildId: string;
  seq: number;
  nodePath: string;
  workerEntry: string;
  cwd: string;
  elements: PendingTask[][];
}

/**
 * Writes a submission's files: `job.sh` (which only execs node on the element's spec file), one
 * `spec-<i>.json` per element, and clears stale result files. Task data lives in the JSON files only.
 */
export async function writeJobFiles(o: WriteJobFilesOptions): Promise<JobFiles> {
  const first = o.elements[0]?.[0];
  if (!first) throw new Error('empty submission');
  const dir = join(
    o.workDir,
    'jobs',
    `${String(o.seq).padStart(4, '0')}-${safeName(first.task.target, 40)}-a${first.attempt}`,
  );
  const resultsDir = join(o.workDir, 'results');
  await makeDirs(dir);
  await makeDirs(resultsDir);
  const isArray = o.elements.length > 1;
  const resultFiles = new Map<string, string>();
  const logs: string[] = [];
  for (const [i, element] of o.elements.entries()) {
    const tasks: TaskSpec[] = [];
    for (const p of element) {
      const resultFile = join(resultsDir, `${taskStem(p.task.id)}.a${p.attempt}.json`);
      await rm(resultFile, { force: true });
      resultFiles.set(p.task.id, resultFile);
      const outputs: TaskSpec['outputs'] = {};
      for (const [name, final] of Object.entries(p.task.outputs)) {
        outputs[name] = { final, temp: tempOutputPath(final, o.buildId, p.attempt, p.task.id) };
      }
      const spec: TaskSpec = {
        taskId: p.task.id,
        ...(p.task.key ? { key: p.task.key } : {}),
        ...(p.task.reads ? { reads: p.task.reads } : {}),
        attempt: p.attempt,
        run: p.task.run,
        cwd: p.task.cwd ?? o.cwd,
        inputs: p.task.inputs,
        outputs,
        params: p.task.params,
        env: p.task.env,
        kernelBackend: p.task.kernelBackend ?? 'js',
        resultFile,
      };
      if (p.task.item) spec.item = p.task.item;
      tasks.push(spec);
    }
    const job: JobSpec = { version: SPEC_VERSION, buildId: o.buildId, tasks };
    await writeFileAtomic(join(dir, `spec-${i}.json`), `${JSON.stringify(job)}\n`);
    logs.push(join(dir, `log-${i}.txt`));
  }
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, written into the job script
  const index = isArray ? '"${SLURM_ARRAY_TASK_ID}"' : '0';
  const script = join(dir, 'job.sh');
  const body = [
    '#!/bin/bash',
    `# pipe build ${safeName(o.buildId)} target ${safeName(first.task.target)} attempt ${first.attempt}: runs spec-<index>.json`,
    `exec ${shellQuote(o.nodePath)} ${shellQuote(o.workerEntry)} ${shellQuote(`${dir}/spec-`)}${index}${shellQuote('.json')}`,
    '',
  ].join('\n');
  await writeFile(script, body, { mode: 0o755 });
  // --output is a pattern: a '%' of the workspace's path (a folder named '50%x') would be expanded by Slurm (%x: the
  // job name), the log opened at a path that does not exist, and the job fail to launch. '%%' is a literal '%'.
  const pattern = join(dir.replaceAll('%', '%%'), isArray ? 'log-%a.txt' : 'log-0.txt');
  return { dir, script, output: pattern, logs, resultFiles };
}

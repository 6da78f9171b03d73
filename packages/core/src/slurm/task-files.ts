/**
 * The two files that cross the boundary between the submitting process and a Slurm job: the task spec
 * (what to run; JSON in a file, never interpolated into a shell script) and the result file (what
 * happened). Both are versioned; the result is written atomically (temp + fsync + rename) by the job and
 * validated by the executor before a task counts as done.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileIdentity } from '@pipe/cache/types';
import type { OutputFailure } from '../execute/executor.js';
import type { ParamPath } from '../model/step.js';
import type { RunVersions } from '../provenance/record.js';
import { writeFileAtomic as writeFileAtomicInPlace } from '../workspace/atomic.js';

export const SPEC_VERSION = 1;
export const RESULT_VERSION = 1;

/** Exit status of a job-entry that ran several tasks and wrote every result, some of them failures. */
export const EXIT_SOME_TASKS_FAILED = 86;

/** What a task runs (see TaskRun in types.ts). */
export type SpecRun = { kind: 'command'; argv: string[] } | { kind: 'step'; module: string };

export interface SpecItem {
  id: string;
  files: string[];
  data?: unknown;
}

/** One task as the job runs it. */
/** A file a task reads, with its identity (size, mtime, ctime, inode, device) when the task was submitted. */
export type ReadStamp = [path: string, identity: FileIdentity];

export interface TaskSpec {
  taskId: string;
  /** The task's key, when the build knew it at submission: copied into the result (left-results.ts). */
  key?: string;
  /** With a key: every file the key hashed (inputs, item files, step sources), copied into the result. */
  reads?: ReadStamp[];
  attempt: number;
  run: SpecRun;
  cwd: string;
  inputs: Record<string, string[]>;
  /** Per output: the final path and the temporary name the task writes to. */
  outputs: Record<string, { final: string; temp: string }>;
  params: Record<string, unknown>;
  env: Record<string, string>;
  item?: SpecItem;
  kernelBackend: string;
  resultFile: string;
}

/** The spec of one array element (one job): one or more tasks, run in order. */
export interface JobSpec {
  version: typeof SPEC_VERSION;
  buildId: string;
  tasks: TaskSpec[];
}

export interface OutputRecord {
  /** Final path. */
  path: string;
  sha256: string;
  size: number;
  mode: number;
}

/** What a job writes for each task it ran (validated by result-schema.ts before it counts). */
export interface TaskResultFile {
  version: typeof RESULT_VERSION;
  buildId: string;
  taskId: string;
  /** The spec's key: what a later build matches before it takes this result as its own (left-results.ts). */
  key?: string;
  /** The spec's read stamps: a later build takes the result only while each file still has its identity. */
  reads?: ReadStamp[];
  /** The job's log (its output, as sbatch --output names it): the task's log when a later build takes the result. */
  log?: string;
  attempt: number;
  status: 'ok' | 'failed';
  exitCode: number;
  signal: string | null;
  error?: string;
  /** The param value a failed step's error blamed: its path in the task's params (StepDefinition.run). */
  param?: ParamPath;
  /**
   * The command or step ended well but an output was refused (not written, or a symbolic link): the failure
   * as the local executors report it, so a Slurm build says the same.
   */
  outputFailure?: OutputFailure;
  outputs: Record<string, OutputRecord>;
  items?: SpecItem[];
  metadata?: Record<string, unknown>;
  host: string;
  /** The job's pipe, Node and zlib (provenance records them; absent from a pipe that did not write them). */
  versions?: RunVersions;
  slurm: {
    jobId?: string;
    arrayJobId?: string;
    arrayTaskId?: string;
    node?: string;
    partition?: string;
    cpus?: string;
    memMb?: string;
  };
  start: string;
  end: string;
}

/**
 * A structural check of a job spec. Hand-written rather than a schema library: it runs at the start of
 * every job, where importing one would cost more than the check (~0.2 s per job).
 */
export function checkJobSpec(value: unknown): JobSpec | string {
  const v = value as Partial<JobSpec> | null;
  if (!v || typeof v !== 'object') return 'not an object';
  if (v.version !== SPEC_VERSION) return `unsupported spec version ${String(v.version)}`;
  if (typeof v.buildId !== 'string') return 'buildId missing';
  if (!Array.isArray(v.tasks) || v.tasks.length === 0) return 'no tasks';
  for (const [i, t] of v.tasks.entries()) {
    const bad = (what: string) => `tasks[${i}]: ${what}`;
    if (!t || typeof t !== 'object') return bad('not an object');
    if (typeof t.taskId !== 'string' || typeof t.resultFile !== 'string' || typeof t.cwd !== 'string') {
      return bad('taskId, resultFile and cwd must be strings');
    }
    if (!Number.isInteger(t.attempt) || t.attempt < 1) return bad('attempt must be a positive integer');
    if (t.key !== undefined && typeof t.key !== 'string') return bad('key must be a string');
    const run = t.run as SpecRun | undefined;
    if (run?.kind === 'command') {
      if (!Array.isArray(run.argv) || run.argv.length === 0 || run.argv.some((a) => typeof a !== 'string')) {
        return bad('command argv must be a non-empty array of strings');
      }
    } else if (run?.kind !== 'step' || typeof run.module !== 'string')
      return bad('run must be a command or a step');
    for (const o of Object.values(t.outputs ?? {})) {
      if (typeof o?.final !== 'string' || typeof o?.temp !== 'string')
        return bad('outputs need final and temp paths');
    }
    if (typeof t.inputs !== 'object' || typeof t.env !== 'object' || typeof t.params !== 'object') {
      return bad('inputs, env and params must be objects');
    }
  }
  return v as JobSpec;
}

/**
 * Writes bytes atomically (workspace/atomic.ts: temp name in the same directory, fsync, rename; the temp removed if
 * the write fails), then fsyncs the directory: a job's files are read on another host once it ends.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomicInPlace(path, data);
  await fsyncDir(dirname(path));
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EINVAL on some file systems: the rename is still atomic, only not yet durable.
  }
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number; mode: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const st = await stat(path);
  return { sha256: hash.digest('hex'), size, mode: st.mode & 0o777 };
}

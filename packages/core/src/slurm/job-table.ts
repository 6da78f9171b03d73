/**
 * The job table of a build: which Slurm job runs (ran) each task, kept in `<workDir>/jobs.json` while the
 * build is attached, so that `pipe status` and `pipe cancel` in another process can find the jobs of a
 * running build. Versioned; written atomically (temp + fsync + rename), coalesced so that a burst of
 * events costs one write.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import { writeFileAtomic } from './task-files.js';

export const JOB_TABLE_FORMAT = 'pipe-slurm-jobs';
export const JOB_TABLE_VERSION = 1;

/** `cancelled` and `skipped` as the build's record says them (a task stopped before it ran, or behind a failure). */
export type JobTableState =
  | 'submitted'
  | 'running'
  | 'retrying'
  | 'done'
  | 'failed'
  | 'cancelled'
  | 'skipped';

/** States a task does not leave: Slurm is not asked about them. */
export const SETTLED_STATES: ReadonlySet<JobTableState> = new Set(['done', 'failed', 'cancelled', 'skipped']);

export interface JobTableEntry {
  /** `<jobId>` or `<arrayJobId>_<index>` of the latest attempt. */
  job: string;
  attempt: number;
  state: JobTableState;
  /** Why the task failed or is being retried. */
  detail?: string;
}

export interface JobTable {
  format: typeof JOB_TABLE_FORMAT;
  version: typeof JOB_TABLE_VERSION;
  buildId: string;
  updatedAt: string;
  tasks: Record<string, JobTableEntry>;
}

export function jobTablePath(workDir: string): string {
  return join(workDir, 'jobs.json');
}

/** Reads a job table; undefined when it is missing or of another format (never throws). */
export function readJobTable(workDir: string): JobTable | undefined {
  try {
    const t = JSON.parse(readFileSync(jobTablePath(workDir), 'utf8')) as JobTable;
    return t.format === JOB_TABLE_FORMAT && t.version === JOB_TABLE_VERSION ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the table in memory and writes it after changes, one write at a time. */
export class JobTableWriter {
  readonly #table: JobTable;
  readonly #file: string;
  #writing: Promise<void> | undefined;
  #dirty = false;

  constructor(workDir: string, buildId: string) {
    this.#file = jobTablePath(workDir);
    this.#table = {
      format: JOB_TABLE_FORMAT,
      version: JOB_TABLE_VERSION,
      buildId,
      updatedAt: new Date().toISOString(),
      tasks: readJobTable(workDir)?.tasks ?? {},
    };
  }

  set(taskId: string, entry: Partial<JobTableEntry> & Pick<JobTableEntry, 'state'>): void {
    const old = this.#table.tasks[taskId];
    const next = { job: '', attempt: 1, ...old, ...entry };
    if (entry.detail === undefined) delete next.detail;
    this.#table.tasks[taskId] = next;
    this.#dirty = true;
    this.#writing ??= this.#drain();
  }

  /** Resolves when every change so far is on disk. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false;
        this.#table.updatedAt = new Date().toISOString();
        makeDirsSync(dirname(this.#file));
        await writeFileAtomic(this.#file, `${JSON.stringify(this.#table)}\n`).catch(() => undefined);
      }
    } finally {
      this.#writing = undefined;
    }
  }
}

/** What a build reports while it runs (the CLI renders these; `--json` prints them one per line). */
import type { Reason } from '../plan/reasons.js';
import type { MadeIn } from '../provenance/record.js';

/** How a task ended in a build. */
export type TaskState =
  | 'up-to-date'
  | 'restored'
  | 'ran'
  | 'failed'
  /** An upstream task failed (or an input is missing upstream). */
  | 'skipped'
  | 'cancelled'
  /** Not started: the build stopped after a failure (no --keep-going). */
  | 'not-started';

/**
 * Whether a report is of a task the build stopped before it started (the stop found it waiting for a slot, -j): a
 * cancelled one with no start, told apart from one cancelled while it ran (`pipe log` counts, last-failure reasons).
 */
export function cancelledBeforeStart(report: { state: string; startedAt?: string }): boolean {
  return report.state === 'cancelled' && report.startedAt === undefined;
}

export interface TaskReport {
  id: string;
  key?: string;
  state: TaskState;
  reasons?: Reason[];
  /** One line when failed/skipped. */
  error?: string;
  executor?: string;
  jobId?: string;
  startedAt?: string;
  endedAt?: string;
  ms?: number;
  log?: string;
  /** Attempts it took when more than one (`resources.retries`: a task that failed and ran again). */
  attempts?: number;
  /** Its work was done by a Slurm job of this build, which ended before it stored it (taken, not run again). */
  adoptedFrom?: string;
  /**
   * The SHA-256 of each output this build made or restored, by workspace-relative path: what the build's record
   * keeps of its products (pipe compare of two builds reads these, not whatever the cache holds for the key now).
   */
  outputs?: Record<string, string>;
  /**
   * Restored: where its products were made (its cache entry's provenance), kept with the build's record so that
   * `pipe why` can say it after the entry has left the cache.
   */
  madeIn?: MadeIn;
  /**
   * Ran or restored: what its step said of its work (StepResult.metadata, from the run or its cache entry's
   * provenance) when small and within the build's budget (provenance/record.ts keptMetadata), kept for `pipe why`
   * after the entry has left the cache.
   */
  metadata?: Record<string, unknown>;
  /** Failed because an input changed while it ran (its outputs were thrown away): another build makes it. */
  inputChanged?: true;
}

export type BuildEvent =
  | { type: 'task-start'; id: string; action: 'run' | 'restore'; executor?: string; reasons: Reason[] }
  | { type: 'task-end'; report: TaskReport }
  | { type: 'expanded'; target: string; tasks: number }
  /** A warning; `step` when a task's step gave it (in this build, or when it last ran: `replayed`). */
  | { type: 'warning'; message: string; step?: StepWarning };

/** A warning a task's step gave. */
export interface StepWarning {
  id: string;
  /** What the step said. */
  text: string;
  /**
   * Said again by a build that skips the run (the task's record keeps it): the task is up to date, or its products
   * were restored from the cache.
   */
  replayed?: 'up to date' | 'restored';
}

/** A warning of a task's last run, said again. */
export type ReplayedWarning = Required<StepWarning>;

export type BuildStatus = 'succeeded' | 'failed' | 'interrupted';

/**
 * The executor contract as the Slurm executor implements it: submit a batch of tasks with their
 * dependencies at once, learn about each task's end asynchronously, cancel. Written before the engine's
 * own execute/ module existed; kept small so that an adapter to that interface is a few lines.
 */
import type { OutputFailure } from '../execute/executor.js';
import type { ParamPath } from '../model/step.js';
import type { Resources, TaskItem } from '../model/types.js';
import type { ReadStamp, TaskResultFile } from './task-files.js';

/** What a task runs inside its job. */
export type TaskRun =
  /**
   * A program and its arguments (never a shell string), with the engine's placeholders (execute/executor.ts
   * expandArgv): `{inputs.NAME}` as a whole element expands to all files of that input, `{outputs.NAME}`
   * is the (temporary) path to write, `{params.NAME}` a parameter, `{item}` the fan-out item's id.
   */
  | { kind: 'command'; argv: string[] }
  /** An ES module whose export (default: `default`) is a StepDefinition; run in the job's node process. */
  | { kind: 'step'; module: string };

/** One task handed to an executor. */
export interface ExecTask {
  /** Unique within the build, e.g. `reduce[23523]`. */
  id: string;
  target: string;
  /** The task's key when known at submission: its job's result carries it (left-results.ts). */
  key?: string;
  /** With the key: the files it hashed and their identities at submission (left-results.ts). */
  reads?: ReadStamp[];
  /** Ids of tasks in the same batch that must succeed first; anything else is taken as already done. */
  deps: string[];
  run: TaskRun;
  /** Input files (absolute) by input name. */
  inputs: Record<string, string[]>;
  /** Final output paths (absolute) by output name. */
  outputs: Record<string, string>;
  params: Record<string, unknown>;
  /**
   * Values of the declared `env:` variables: the only environment a task sees besides PATH/HOME/TMPDIR and the locale
   * (LANG, LC_ALL, the LC_ categories: execute/step-env.ts).
   */
  env: Record<string, string>;
  item?: TaskItem;
  resources: Resources;
  /** Kernel backend the task was planned with (passed to steps as ctx.kernelBackend). */
  kernelBackend?: string;
  /** Working directory of the task (default: the executor's cwd). */
  cwd?: string;
}

/** Why a task did not produce a valid result. Expected failures are values; render them exhaustively. */
export type FailureReason =
  | { type: 'exit-non-zero'; exitCode: number }
  | { type: 'killed'; signal: number }
  | { type: 'step-error'; message: string; param?: ParamPath }
  /** The program or step ended well, but an output was not delivered as a file (as the local executors say). */
  | { type: 'output'; failure: OutputFailure }
  | { type: 'timeout' }
  | { type: 'out-of-memory' }
  | { type: 'node-fail' }
  | { type: 'preempted' }
  /** `started: false`: no attempt's job was seen running (cancelled while it waited in the queue). */
  | { type: 'cancelled'; detail?: string; started?: false }
  | { type: 'slurm-state'; state: string; detail?: string }
  /** The job ended COMPLETED but its result file is missing or does not validate (never a success). */
  | { type: 'missing-result' }
  | { type: 'invalid-result'; detail: string }
  /** The job disappeared from squeue, scontrol and the completion log. */
  | { type: 'lost' }
  | { type: 'upstream-failed'; upstream: string }
  | { type: 'submit-rejected'; message: string }
  | { type: 'invalid-resources'; message: string };

/** Which reasons a retry may fix. A rejected submission or a user's cancel will not change on retry. */
export function isRetryable(reason: FailureReason): boolean {
  switch (reason.type) {
    case 'upstream-failed':
    case 'submit-rejected':
    case 'invalid-resources':
    case 'cancelled':
      return false;
    default:
      return true;
  }
}

/** One Slurm submission of a task. */
export interface AttemptRecord {
  attempt: number;
  /** `<jobId>` or `<arrayJobId>_<index>`. */
  job: string;
  resources: Resources;
  logFile: string;
  /** Set when the attempt ended. */
  reason?: FailureReason;
}

export type TaskOutcome =
  | { status: 'done'; taskId: string; result: TaskResultFile; attempts: AttemptRecord[] }
  | { status: 'failed'; taskId: string; reason: FailureReason; attempts: AttemptRecord[]; logTail: string[] };

export type TaskEvent =
  | { type: 'submitted'; taskId: string; attempt: number; job: string }
  | { type: 'running'; taskId: string; job: string }
  /**
   * Attempt `attempt - 1` (Slurm job `job`, which asked for `asked`) failed for `reason`; attempt `attempt` of `of`
   * is submitted with `next` (resources grow with the attempts).
   */
  | {
      type: 'retrying';
      taskId: string;
      attempt: number;
      reason: FailureReason;
      of?: number;
      job?: string;
      asked?: Resources;
      next?: Resources;
    }
  | { type: 'finished'; outcome: TaskOutcome }
  /** Something the user should hear while the batch waits (the controller not answering), not about one task. */
  | { type: 'note'; message: string };

/** A batch in flight. */
export interface ExecutionHandle {
  /** Resolves when every task of the batch is done or failed; never rejects for task failures. */
  readonly done: Promise<Map<string, TaskOutcome>>;
  /** Cancels every job of the batch; unfinished tasks end as `cancelled`. */
  cancel(): Promise<void>;
  /**
   * Cancels the jobs of the batch that have not started (a build stopping after a failure, without -k); running
   * ones go on to their end. The cancelled tasks end as `cancelled`.
   */
  stopPending(): Promise<void>;
}

export interface RunOptions {
  onEvent?: (event: TaskEvent) => void;
  signal?: AbortSignal;
}

/** An executor that takes a whole batch with its dependency edges (the engine's view of Slurm). */
export interface BatchExecutor {
  readonly name: string;
  run(batch: ExecTask[], options?: RunOptions): ExecutionHandle;
}

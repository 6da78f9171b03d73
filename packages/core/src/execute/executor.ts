/**
 * The executor contract: where a task's work happens. Executors never decide what is stale; they
 * run what they are given and report how it ended.
 *
 * Batch-shaped so that a Slurm executor can submit many tasks with their dependency edges at once
 * (an array job with afterok dependencies) and report each completion asynchronously: `submit`
 * takes a batch whose `deps` name tasks of the same batch that must succeed first, and calls
 * `onEvent` as tasks start and end, in any order. The local executors are given batches of one
 * ready task (deps empty), so the scheduler can re-decide a task after its upstream finished
 * (an identical output stops the cascade); a batch executor trades that for fewer submissions.
 * Outputs are written to `outputs` (temporary paths); the engine hashes, caches and publishes them.
 */
import { canonicalJson } from '../fingerprint/canonical.js';
import type { ParamPath } from '../model/step.js';
import type { Resources, TaskItem } from '../model/types.js';
import type { RunVersions } from '../provenance/record.js';
import { parseTimeSeconds, type ResourceResult } from '../slurm/resources.js';

export type TaskWork =
  /** argv with `{inputs.NAME}` (a whole element: all files), `{outputs.NAME}`, `{params.NAME}`, `{item}` placeholders expanded. */
  | { kind: 'command'; argv: string[] }
  /** An ES module whose default export is a StepDefinition, run in a worker thread (or a job's node process). */
  | { kind: 'step'; module: string };

export interface ExecRequest {
  id: string;
  target: string;
  /**
   * The task's key, when known as it is handed over (a batch member waiting on others of its batch has none yet): a
   * Slurm job's result carries it, so that a result a dead build's job left can be taken for this key
   * (slurm/left-results.ts).
   */
  key?: string;
  /** The task must run anew (`--force`): no result an earlier build left may stand for it. */
  fresh?: true;
  /** Tasks of the same batch that must succeed first (batch executors only; empty for local ones). */
  deps: string[];
  work: TaskWork;
  inputs: Record<string, string[]>;
  /** Temporary paths to write each output to. */
  outputs: Record<string, string>;
  /**
   * Final (workspace) paths of the outputs, for batch executors: a task that others of the same batch
   * read must have its outputs there (atomically) before its dependants start.
   */
  finalOutputs?: Record<string, string>;
  params: Record<string, unknown>;
  /** Only the declared `env:` variables. */
  env: Record<string, string>;
  item?: TaskItem;
  resources: Resources;
  kernelBackend: string;
  cwd: string;
  logFile: string;
}

export type ExecFailure =
  | { type: 'exit-non-zero'; exitCode: number }
  | { type: 'killed'; signal: string }
  /** `param`: the value the step blamed (StepDefinition.run), which the engine locates. */
  | { type: 'step-error'; message: string; param?: ParamPath }
  | { type: 'spawn-error'; message: string }
  | { type: 'output-not-written'; output: string; path: string }
  /** Published, a link would make the product an alias of another file: changing with it, or a way to edit it. */
  | { type: 'output-is-symlink'; output: string; path: string; target: string }
  /** `started: false`: a batch job cancelled while it waited in the queue (its task never ran). */
  | { type: 'cancelled'; started?: false }
  /** Stopped by a local executor at `resources.time` (`limit` as written, `seconds` as read). */
  | { type: 'timed-out'; limit: string; seconds: number }
  /** A command exited while processes it started still ran `graceMs` later; pipe stopped them ("pid command"). */
  | { type: 'left-running'; processes: string[]; graceMs: number; unstopped?: string[] }
  /**
   * A batch system ended the job at a limit it asked for (Slurm: its --mem or --time): `message` says which, with
   * the value, and the setting that raises it. The job's own failure, not the executor's.
   */
  | { type: 'over-limit'; message: string }
  | { type: 'executor-error'; message: string };

/** An output a task that ended well did not deliver as a file (the engine refuses to store its result). */
export type OutputFailure = Extract<ExecFailure, { type: 'output-not-written' | 'output-is-symlink' }>;

export type ExecOutcome =
  | {
      ok: true;
      items?: TaskItem[];
      metadata?: Record<string, unknown>;
      jobId?: string;
      host?: string;
      /** pipe's, Node's and zlib's versions where the work ran, when not in this process (a batch job's). */
      versions?: RunVersions;
      /** Attempts it took when more than one (`resources.retries`). */
      attempts?: number;
      /**
       * When the work itself ran (ISO times), where that differs from when it was handed over: a batch job's time
       * in the queue is not its run time. Without it, the executor's hand-over and end are the task's times.
       */
      ran?: { start: string; end: string };
      /** The work was done by a job of this earlier build, which ended before it stored it (slurm/left-results.ts). */
      adoptedFrom?: string;
    }
  | { ok: false; failure: ExecFailure; jobId?: string; attempts?: number };

export type ExecEvent =
  | { type: 'started'; id: string; jobId?: string }
  | { type: 'ended'; id: string; outcome: ExecOutcome }
  /** A word for the user from the executor while tasks wait (a Slurm controller not answering): printed as a warning. */
  | { type: 'note'; message: string };

export interface Executor {
  readonly name: string;
  /**
   * A batch executor (Slurm): the scheduler hands it every ready task together with their waiting
   * dependants (deps inside the batch), instead of one ready task at a time.
   */
  readonly batches?: boolean;
  /** Start a batch; resolves once every task of it has ended (each reported through onEvent). */
  submit(batch: ExecRequest[], onEvent: (event: ExecEvent) => void, signal: AbortSignal): Promise<void>;
  /** Release resources (worker threads). */
  close(): Promise<void>;
  /**
   * The build stops after a failure (no --keep-going): a batch executor cancels what it submitted that has not
   * started (the local executors simply get no more work); running tasks go on to their end.
   */
  stopPending?(): Promise<void>;
  /**
   * A hint that `work` will be submitted soon (called while the rest of the build is still being planned):
   * an executor may start what it needs meanwhile (the local pool boots a worker and imports the step).
   * `fanOut`: many tasks of this work will come at once (a foreach), so more than one worker is worth booting.
   */
  warm?(work: TaskWork, fanOut?: boolean): void;
}

/** One line for a failure. */
export function renderFailure(f: ExecFailure): string {
  switch (f.type) {
    case 'exit-non-zero':
      return `exited with status ${f.exitCode}`;
    case 'killed':
      return `killed by ${f.signal}`;
    case 'step-error':
      return `step failed: ${f.message}`;
    case 'spawn-error':
      return `could not start: ${f.message}`;
    case 'output-not-written':
      return `output '${f.output}' was not written (${f.path})`;
    case 'output-is-symlink':
      return `output '${f.output}' (${f.path}) is a symbolic link to ${f.target}: write a file (e.g. cp instead of ln -s)`;
    case 'cancelled':
      return 'cancelled';
    case 'timed-out':
      return `exceeded its time limit resources.time = ${f.limit} (${f.seconds} s)`;
    case 'left-running': {
      const [first, ...more] = f.processes;
      const others = more.length > 0 ? ` and ${more.length} more` : '';
      const stopped = f.unstopped
        ? `pipe could not stop ${f.unstopped.length} of them (${f.unstopped[0]}: another user's, e.g. a setuid program)`
        : 'pipe stopped them';
      return `exited, but left processes running ${f.graceMs / 1000} s later (${first}${others}); ${stopped}, and keeps nothing: they could still have been writing its outputs. A command must wait for what it starts (e.g. \`wait\` in a shell script)`;
    }
    case 'over-limit':
      return f.message;
    case 'executor-error':
      return `executor error: ${f.message}`;
  }
}

/**
 * Why a program did not start, in the user's terms: node's `spawn X ENOENT` does not say that a bare name is looked
 * up on PATH (not in the workspace), nor that a script's missing `#!` interpreter gives the same error.
 */
export function spawnErrorMessage(
  program: string,
  error: NodeJS.ErrnoException,
  args: readonly string[] = [],
): string {
  const byPath = program.includes('/');
  if (error.code === 'E2BIG') {
    const bytes = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    return `the command line is too long for the system (${args.length} arguments, ${bytes} bytes; E2BIG): pass the files in a list file instead, e.g. a step that writes them one per line, or a directory the program reads`;
  }
  if (error.code === 'ENOENT')
    return byPath
      ? `'${program}' not found (or its #! interpreter is missing)`
      : `'${program}' not found on PATH (a program in the workspace is run by its path, e.g. ./${program})`;
  if (error.code === 'EACCES')
    return `'${program}' is not executable: chmod +x it, or run it through its interpreter (e.g. [sh, ${program}])`;
  return error.message;
}

/** One line for a failed outcome: its failure, and the attempts it took when more than one. */
export function renderFailedOutcome(o: Extract<ExecOutcome, { ok: false }>): string {
  return `${renderFailure(o.failure)}${o.attempts && o.attempts > 1 ? ` after ${o.attempts} attempts` : ''}`;
}

/** The end of a request an executor turns down before running anything (another kind of work, a bad resource). */
export function refused(id: string, message: string): ExecEvent {
  return { type: 'ended', id, outcome: { ok: false, failure: { type: 'executor-error', message } } };
}

/**
 * The time limit a local executor enforces: `resources.time`, read as Slurm reads it (minutes, MM:SS, HH:MM:SS,
 * D-HH:MM:SS); undefined when none is set.
 */
export function timeLimit(
  resources: Resources | undefined,
): ResourceResult<{ limit: string; seconds: number } | undefined> {
  if (resources?.time === undefined) return { ok: true, value: undefined };
  const seconds = parseTimeSeconds(resources.time);
  if (!seconds.ok) return seconds;
  // Beyond setTimeout's range (2³¹ − 1 ms, 24.8 days) a timer fires at once: a limit that long is no limit locally.
  if (seconds.value * 1000 > MAX_TIMER_MS) return { ok: true, value: undefined };
  return { ok: true, value: { limit: resources.time, seconds: seconds.value } };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** An argv placeholder that cannot be expanded as written (thrown by expandArgv; the task fails with it). */
export class ArgvError extends Error {}

/**
 * Expand a command's argv placeholders for one task. `{inputs.NAME}` inside a larger argument stands for one file:
 * with several, joining them would make one argument no program can split back into paths (a name may hold a
 * space), so that throws an ArgvError.
 */
export function expandArgv(
  argv: string[],
  req: Pick<ExecRequest, 'inputs' | 'outputs' | 'params' | 'item'>,
): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const whole = /^\{inputs\.([^}]+)\}$/.exec(arg);
    if (whole && req.inputs[whole[1]!]) {
      out.push(...req.inputs[whole[1]!]!);
      continue;
    }
    // The files an emitted item names (a run's DL3 files): an argument each.
    if (arg === '{item.files}' && req.item) {
      out.push(...req.item.files);
      continue;
    }
    out.push(
      arg.replace(
        /\{(inputs|outputs|params)\.([^}]+)\}|\{item(\.files)?\}/g,
        (m, kind?: string, name?: string, files?: string) => {
          if (files) {
            const list = req.item?.files ?? [];
            if (list.length > 1)
              throw new ArgvError(
                `argument '${arg}': the item names ${list.length} files, and a placeholder inside a larger argument stands for one; give it an argument of its own ("{item.files}", one argument per file)`,
              );
            return list[0] ?? m;
          }
          if (!kind) return req.item?.id ?? m;
          if (kind === 'outputs') return req.outputs[name!] ?? m;
          if (kind === 'inputs') {
            const files = req.inputs[name!];
            if (files && files.length > 1)
              throw new ArgvError(
                `argument '${arg}': input '${name}' has ${files.length} files, and a placeholder inside a larger argument stands for one; give it an argument of its own ("{inputs.${name}}", one argument per file)`,
              );
            return files?.[0] ?? m;
          }
          // A dotted name reaches into a structured param: {params.opt.level}.
          let v: unknown = req.params;
          for (const key of name!.split('.'))
            v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
          // Keys sorted, as the task key has them: reordering a param's keys in pipe.yaml changes no byte a command sees.
          return v === undefined ? m : typeof v === 'string' ? v : canonicalJson(v);
        },
      ),
    );
  }
  return out;
}

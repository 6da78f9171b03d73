/**
 * The Slurm executor behind the engine's Executor contract (execute/executor.ts): maps ExecRequests to
 * ExecTasks, the Slurm executor's events to ExecEvents, and its failure reasons to ExecFailures. It is a
 * batch executor: the scheduler hands it every ready task with the waiting tasks behind them, and it
 * submits them all at once (arrays per target, afterok between them).
 *
 * Outputs: a task is given the engine's temporary paths, except a task that others of the same batch
 * read — its job must publish the outputs under their final (workspace) names before the dependants'
 * jobs start, since those start on Slurm's afterok, before this process has seen the end. Such outputs
 * are then linked back to the temporary paths, so the engine hashes, caches and publishes as for any
 * executor. The job's log becomes the task's log; the job id, node and resources go into the outcome's
 * metadata (and so into the product's provenance).
 */
import { copyFile, link, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { makeDirs } from '@pipe/cache/make-dirs';
import type { ExecEvent, ExecFailure, ExecOutcome, ExecRequest, Executor } from '../execute/executor.js';
import { attemptMarker } from '../execute/retries.js';
import { codeHash, type IdentitiesSeen, identityOnce } from '../fingerprint/code-hash.js';
import type { Resources } from '../model/types.js';
import { SlurmExecutor, type SlurmExecutorOptions } from './executor.js';
import { JobTableWriter } from './job-table.js';
import { isInside, type KeptResult, keptDir, LeftResults } from './left-results.js';
import type { ReadStamp } from './task-files.js';
import type { ExecTask, ExecutionHandle, FailureReason, TaskEvent, TaskOutcome } from './types.js';
import { describeFailure } from './validate.js';

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]));

function toFailure(r: FailureReason): ExecFailure {
  switch (r.type) {
    case 'exit-non-zero':
      return { type: 'exit-non-zero', exitCode: r.exitCode };
    case 'killed':
      return { type: 'killed', signal: signalNames.get(r.signal) ?? `signal ${r.signal}` };
    case 'step-error':
      return { type: 'step-error', message: r.message, ...(r.param ? { param: r.param } : {}) };
    case 'output':
      return r.failure;
    case 'cancelled':
      return r.started === false ? { type: 'cancelled', started: false } : { type: 'cancelled' };
    default:
      // timeout, out-of-memory, node-fail, missing/invalid result, upstream-failed, submit-rejected, ...
      return { type: 'executor-error', message: `slurm: ${describeFailure(r)}` };
  }
}

const TASK_MARKER = '=== pipe task ';

/**
 * A task's own part of a job log: with --tasks-per-job several tasks share one array element and its log, each
 * after a `=== pipe task <id> (attempt n) ===` line; the task's part runs from its line to the next one (Slurm's own
 * last words, such as a time-limit kill, stay with the task that was running). A log without the line is all its.
 */
export function taskSection(log: string, taskId: string): string {
  const marker = `${TASK_MARKER}${taskId} (attempt `;
  let start = 0;
  if (!log.startsWith(marker)) {
    const at = log.indexOf(`\n${marker}`);
    if (at < 0) return log;
    start = at + 1;
  }
  const next = log.indexOf(`\n${TASK_MARKER}`, start);
  return log.slice(start, next < 0 ? undefined : next + 1);
}

/** Whether a job log is shared by several tasks: job-entry writes the first marker as the job starts. */
async function sharedLog(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('utf8');
    return text.startsWith(TASK_MARKER) || text.includes(`\n${TASK_MARKER}`);
  } finally {
    await fh.close();
  }
}

/** The task's log from its attempts' job logs (one attempt of a task alone in its job: a copy). */
async function taskLog(attempts: TaskOutcome['attempts'], logFile: string, taskId: string): Promise<void> {
  const last = attempts[attempts.length - 1];
  if (!last?.logFile) return;
  await makeDirs(dirname(logFile));
  const own = async (file: string) => taskSection(await readFile(file, 'utf8').catch(() => ''), taskId);
  // A task alone in its job owns the whole log, which may be large: copied, not read.
  if (attempts.length === 1 && !(await sharedLog(last.logFile))) return copyFile(last.logFile, logFile);
  if (attempts.length === 1) return writeFile(logFile, await own(last.logFile));
  const parts: string[] = [];
  for (const [i, a] of attempts.entries()) {
    parts.push(await own(a.logFile));
    if (i < attempts.length - 1)
      parts.push(
        attemptMarker(
          a.attempt,
          `${a.attempt} (Slurm job ${a.job})`,
          a.reason ? describeFailure(a.reason) : 'failed',
        ),
      );
  }
  await writeFile(logFile, parts.join(''));
}

/**
 * A retry in the local executors' words (`<id>: <why>; retrying (attempt n of m)`), with the job that failed, the
 * limit it hit, and the resources the next attempt asks for (they grow with the attempts): a task killed at its
 * --mem says so, and that the retry has more.
 */
export function retryText(e: Extract<TaskEvent, { type: 'retrying' }>): string {
  const asked = e.asked ?? {};
  const next = e.next ?? {};
  const hit = limitHit(e.reason, asked);
  const about = [...(e.job ? [`Slurm job ${e.job}`] : []), ...(hit ? [hit] : [])];
  const grown = (['mem', 'time'] as const)
    .filter((k) => next[k] !== undefined && next[k] !== asked[k])
    .map((k) => `--${k}=${next[k]}`);
  return (
    `${e.taskId}: ${describeFailure(e.reason)}${about.length > 0 ? ` (${about.join(', ')})` : ''}; ` +
    `retrying${grown.length > 0 ? ` with ${grown.join(' ')}` : ''} (attempt ${e.attempt}${e.of ? ` of ${e.of}` : ''})`
  );
}

/** The sbatch limit an attempt that asked for `asked` hit (`--mem=100M`, `--time=…`), when that is why it ended. */
function limitHit(reason: FailureReason, asked: Resources): string | undefined {
  if (reason.type === 'out-of-memory' && asked.mem) return `--mem=${asked.mem}`;
  if (reason.type === 'timeout' && asked.time) return `--time=${asked.time}`;
  return undefined;
}

/**
 * A retry that sbatch refused (its request grown past a partition's or node's limit: after k out-of-memory ends a retry
 * asks for (k + 1) × mem, after k timeouts (k + 1) × time): what ended the attempt before it is the task's failure,
 * and the refusal is why it was not retried.
 */
function refusedRetry(o: Extract<TaskOutcome, { status: 'failed' }>): ExecFailure | undefined {
  const before = o.attempts[o.attempts.length - 1];
  if (o.reason.type !== 'submit-rejected' || !before?.reason) return undefined;
  const hit = limitHit(before.reason, before.resources);
  const about = [`Slurm job ${before.job}`, ...(hit ? [hit] : [])];
  // Only a retry after running out of memory or time asked for more; any other asked for what the first attempt got.
  const why = hit
    ? '(a retry asks for (k + 1) × resources.mem after k out-of-memory ends, (k + 1) × resources.time after k ' +
      'timeouts: lower them or the retries, or take a partition or node that allows them)'
    : '(it asked for the resources the attempt before it got: the cluster no longer takes them, a partition down or its limits changed?)';
  const message =
    `${describeFailure(before.reason)} (${about.join(', ')}); its retry (attempt ${before.attempt + 1}) ` +
    `${describeFailure(o.reason)} ${why}`;
  return hit ? { type: 'over-limit', message } : { type: 'executor-error', message: `slurm: ${message}` };
}

/** A Slurm task outcome as the engine's (exported for tests). */
export function toOutcome(o: TaskOutcome): ExecOutcome {
  const jobId = o.attempts[o.attempts.length - 1]?.job;
  // The report says how many attempts it took, as for the local executors' retries.
  const attempts = o.attempts.length > 1 ? { attempts: o.attempts.length } : {};
  if (o.status === 'failed') {
    // A timeout or an out-of-memory kill says which limit the last attempt had (both grow with the attempts).
    const asked = o.attempts[o.attempts.length - 1]?.resources;
    const limit =
      o.reason.type === 'timeout' && asked?.time
        ? `hit its time limit (the job asked for --time=${asked.time}; raise resources.time)`
        : o.reason.type === 'out-of-memory' && asked?.mem
          ? `ran out of memory (the job asked for --mem=${asked.mem}; raise resources.mem)`
          : undefined;
    const failure: ExecFailure = limit
      ? { type: 'over-limit', message: limit }
      : (refusedRetry(o) ?? toFailure(o.reason));
    return { ok: false, failure, ...(jobId ? { jobId } : {}), ...attempts };
  }
  const r = o.result;
  const last = o.attempts[o.attempts.length - 1];
  const slurm = {
    jobId: jobId ?? r.slurm.jobId,
    ...r.slurm,
    requested: last?.resources ?? {},
    attempts: o.attempts.map((a) => ({
      attempt: a.attempt,
      job: a.job,
      ...(a.reason ? { failure: describeFailure(a.reason) } : {}),
    })),
  };
  return {
    ok: true,
    host: r.host,
    ...(r.versions ? { versions: r.versions } : {}),
    ...(jobId ? { jobId } : {}),
    ...attempts,
    ...(r.items ? { items: r.items } : {}),
    // The job's own clock on the node (its result file): the task's times, without its wait in the queue.
    ran: { start: r.start, end: r.end },
    metadata: { ...(r.metadata ?? {}), slurm },
  };
}

/** Makes `temp` name the same bytes as `final` (a hard link, or a copy across file systems). */
async function linkBack(final: string, temp: string): Promise<void> {
  await rm(temp, { force: true });
  try {
    await link(final, temp);
  } catch {
    await copyFile(final, temp);
  }
}

/** Moves a kept output to `dest` (a rename; a copy across file systems). */
async function moveTo(from: string, dest: string): Promise<void> {
  await makeDirs(dirname(dest));
  try {
    await rename(from, dest);
  } catch {
    await copyFile(from, dest);
    await rm(from, { force: true });
  }
}

/**
 * The outcome of a task taken from a dead build's kept result (left-results.ts): its job's host, times, items and
 * metadata, and in the Slurm metadata the build and job that made it.
 */
function adoptedOutcome(kept: KeptResult): ExecOutcome {
  const r = kept.result;
  return {
    ok: true,
    host: r.host,
    ...(r.versions ? { versions: r.versions } : {}),
    jobId: kept.job,
    ...(r.items ? { items: r.items } : {}),
    ran: { start: r.start, end: r.end },
    adoptedFrom: r.buildId,
    metadata: { ...(r.metadata ?? {}), slurm: { ...r.slurm, jobId: kept.job, adoptedFrom: r.buildId } },
  };
}

/**
 * The files a keyed task's key hashed — its inputs, its item's files, its step's sources — with their identities now,
 * at submission: its job's result carries them, and a later build takes that result only while they hold
 * (left-results.ts). `seen`: one stat per source file for the batch (its tasks share a step).
 */
function readStamps(req: ExecRequest, seen: IdentitiesSeen): ReadStamp[] | undefined {
  const files = new Set([...Object.values(req.inputs).flat(), ...(req.item?.files ?? [])]);
  if (req.work.kind === 'step') for (const f of codeHash(req.work.module, seen).files) files.add(f);
  const stamps: ReadStamp[] = [];
  for (const f of files) {
    const id = identityOnce(f, seen);
    // A file that is not there (a source the step imports but is missing): no stamp can stand for it.
    if (!id) return undefined;
    stamps.push([f, id]);
  }
  return stamps;
}

export class SlurmEngineExecutor implements Executor {
  readonly name = 'slurm';
  readonly batches = true;
  readonly slurm: SlurmExecutor;
  readonly #table: JobTableWriter;
  /** Batches in flight (stopPending reaches them). */
  readonly #handles = new Set<ExecutionHandle>();
  /** The workspace's `.pipe` (the build's work folder is `.pipe/slurm/<build>`). */
  readonly #pipeDir: string;
  /** Results dead builds' jobs left, read at the first batch. */
  #left: LeftResults | undefined;

  constructor(options: SlurmExecutorOptions) {
    this.slurm = new SlurmExecutor(options);
    this.#table = new JobTableWriter(options.workDir, options.buildId);
    this.#pipeDir = dirname(dirname(options.workDir));
  }

  /**
   * Take a dead build's kept result for `req` (same task, same key, outputs with the bytes it names): its outputs go
   * to the request's temporary paths — and first to their final names when a job of this batch reads them there —
   * and the task ends without a job. False when there is none, or its outputs cannot be put in place (then it runs).
   */
  async #adopt(
    req: ExecRequest,
    publishes: boolean,
    onEvent: (event: ExecEvent) => void,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!req.key || req.fresh || signal.aborted) return false;
    this.#left ??= new LeftResults(this.#pipeDir);
    if (this.#left.size === 0) return false;
    const kept = await this.#left.take(req.id, req.key);
    if (!kept) return false;
    if ('refused' in kept) {
      onEvent({
        type: 'note',
        message: `${req.id}: the result its job of a dead build left is not taken (${kept.refused}): it runs again`,
      });
      return false;
    }
    const r = kept.result;
    // Each output where keepLeftResults left it: moved into the kept folder, or published at this task's final path.
    const keptFolder = keptDir(this.#pipeDir, r.buildId);
    const placed = (name: string) => {
      const from = r.outputs[name]?.path;
      return from !== undefined && (from === req.finalOutputs?.[name] || isInside(keptFolder, from));
    };
    if (!Object.keys(req.outputs).every(placed)) return false;
    try {
      for (const [name, temp] of Object.entries(req.outputs)) {
        const from = r.outputs[name]!.path;
        const final = req.finalOutputs?.[name];
        if (publishes && final) {
          if (from !== final) await moveTo(from, final);
          await linkBack(final, temp);
        } else if (from === final) await linkBack(final, temp);
        else await moveTo(from, temp);
      }
    } catch {
      return false;
    }
    // Said once for them all by the build's note (orphan-jobs.ts), per task on its line, in the job table and provenance.
    onEvent({ type: 'started', id: req.id, jobId: kept.job });
    this.#table.set(req.id, {
      job: kept.job,
      attempt: r.attempt,
      state: 'done',
      detail: `taken from build ${r.buildId}`,
    });
    // The job's log is the task's log, as for a job of this build.
    if (r.log)
      await taskLog(
        [{ attempt: r.attempt, job: kept.job, logFile: r.log, resources: {} }],
        req.logFile,
        req.id,
      ).catch(() => undefined);
    onEvent({ type: 'ended', id: req.id, outcome: adoptedOutcome(kept) });
    return true;
  }

  async submit(
    batch: ExecRequest[],
    onEvent: (event: ExecEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const read = new Set(batch.flatMap((r) => r.deps));
    const publishes = (r: ExecRequest) => read.has(r.id) && r.finalOutputs !== undefined;
    // Tasks a dead build's job already did (left-results.ts) need no job; their dependants no wait for them.
    const adopted = new Set<string>();
    for (const r of batch) if (await this.#adopt(r, publishes(r), onEvent, signal)) adopted.add(r.id);
    const todo = adopted.size > 0 ? batch.filter((r) => !adopted.has(r.id)) : batch;
    if (todo.length === 0) {
      await this.#table.flush();
      return;
    }
    const byId = new Map(todo.map((r) => [r.id, r]));
    const seen: IdentitiesSeen = new Map();
    const tasks: ExecTask[] = todo.map((r) => {
      const reads = r.key ? readStamps(r, seen) : undefined;
      return {
        id: r.id,
        target: r.target,
        ...(r.key && reads ? { key: r.key, reads } : {}),
        deps: adopted.size > 0 ? r.deps.filter((d) => !adopted.has(d)) : r.deps,
        run:
          r.work.kind === 'command'
            ? { kind: 'command', argv: r.work.argv }
            : { kind: 'step', module: r.work.module },
        inputs: r.inputs,
        outputs: publishes(r) ? (r.finalOutputs ?? r.outputs) : r.outputs,
        params: r.params,
        env: r.env,
        resources: r.resources,
        kernelBackend: r.kernelBackend,
        cwd: r.cwd,
        ...(r.item ? { item: r.item } : {}),
      };
    });
    const pending: Promise<void>[] = [];
    const started = new Set<string>();
    const finished = async (o: TaskOutcome): Promise<void> => {
      const req = byId.get(o.taskId);
      if (!req) return;
      // The job's log becomes the task's log: every attempt's, each marked with why it failed, as local retries do.
      await taskLog(o.attempts, req.logFile, o.taskId).catch(() => undefined);
      let outcome = toOutcome(o);
      if (outcome.ok && publishes(req)) {
        try {
          for (const [name, final] of Object.entries(req.finalOutputs ?? {})) {
            const temp = req.outputs[name];
            if (temp) await linkBack(final, temp);
          }
        } catch (error) {
          outcome = {
            ok: false,
            failure: { type: 'executor-error', message: `slurm: ${(error as Error).message}` },
          };
        }
      }
      onEvent({ type: 'ended', id: o.taskId, outcome });
    };
    const handle = this.slurm.run(tasks, {
      signal,
      onEvent: (e) => {
        switch (e.type) {
          case 'submitted':
            this.#table.set(e.taskId, { job: e.job, attempt: e.attempt, state: 'submitted' });
            break;
          case 'running':
            this.#table.set(e.taskId, { job: e.job, state: 'running' });
            if (!started.has(e.taskId)) onEvent({ type: 'started', id: e.taskId, jobId: e.job });
            started.add(e.taskId);
            break;
          case 'note':
            onEvent({ type: 'note', message: e.message });
            break;
          case 'retrying':
            // Said as the local executors say theirs: which attempt failed and why, and what the next one asks for.
            onEvent({ type: 'note', message: retryText(e) });
            this.#table.set(e.taskId, {
              attempt: e.attempt,
              state: 'retrying',
              detail: describeFailure(e.reason),
            });
            break;
          case 'finished': {
            const o = e.outcome;
            // A short job can start and end between two polls: it still started (if it ran at all).
            const job = o.attempts[o.attempts.length - 1]?.job;
            // Behind a failed upstream, or cancelled while it waited in the queue: its job never ran.
            const neverRan =
              o.status === 'failed' &&
              (o.reason.type === 'upstream-failed' ||
                (o.reason.type === 'cancelled' && o.reason.started === false));
            if (!started.has(o.taskId) && job !== undefined && !neverRan) {
              started.add(o.taskId);
              onEvent({ type: 'started', id: o.taskId, jobId: job });
            }
            // As the build's record will say it: a task cancelled before it ran, or behind a failure, did not fail.
            this.#table.set(
              o.taskId,
              o.status === 'done'
                ? { state: 'done' }
                : o.reason.type === 'cancelled'
                  ? { state: 'cancelled' }
                  : o.reason.type === 'upstream-failed'
                    ? { state: 'skipped', detail: describeFailure(o.reason) }
                    : { state: 'failed', detail: describeFailure(o.reason) },
            );
            pending.push(finished(o));
            break;
          }
        }
      },
    });
    this.#handles.add(handle);
    try {
      await handle.done;
    } finally {
      this.#handles.delete(handle);
    }
    await Promise.all(pending);
    await this.#table.flush();
  }

  /** The build stops after a failure (no -k): jobs not started yet are cancelled, running ones finish. */
  async stopPending(): Promise<void> {
    await Promise.all([...this.#handles].map((h) => h.stopPending()));
  }

  async close(): Promise<void> {
    await this.#table.flush();
  }
}

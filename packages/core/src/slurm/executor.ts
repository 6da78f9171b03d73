/**
 * The Slurm executor: takes a batch of tasks with dependency edges, submits it at once (one array job per
 * group of like tasks, `--dependency=afterok` between them), polls job states with backoff, validates
 * each task's result file, retries failed tasks with resources grown per attempt, and re-plumbs the
 * dependents of a retried or failed task (their afterok can no longer be met: cancel, resubmit against
 * the new job, or fail them as upstream-failed).
 */
import { fileURLToPath } from 'node:url';
import { passedEnvNames } from '../execute/step-env.js';
import type { Resources } from '../model/types.js';
import { commandFailure, SlurmClient } from './client.js';
import { type GrowthPolicy, resourceArgs, resourcesForAttempt } from './resources.js';
import { classifyJob, elementKey, indexRecords, type SlurmEnd } from './state.js';
import {
  groupForSubmission,
  isJobOfBuild,
  jobName,
  type PendingTask,
  taskLevels,
  writeJobFiles,
} from './submission.js';
import {
  type AttemptRecord,
  type BatchExecutor,
  type ExecTask,
  type ExecutionHandle,
  type FailureReason,
  isRetryable,
  type RunOptions,
  type TaskOutcome,
} from './types.js';
import { markUnconfirmed, unconfirmedText } from './unconfirmed-jobs.js';
import {
  asMemoryKill,
  checkResult,
  endAllowsSuccess,
  failureReason,
  logTail,
  type OutputCheck,
} from './validate.js';

export interface SlurmExecutorOptions {
  /** The build's id: job names are `<target>.pipe-<buildId>` (jobName), and result files must carry it. */
  buildId: string;
  /** A directory on a file system the compute nodes share: job scripts, specs, results, logs. */
  workDir: string;
  client?: SlurmClient;
  /** slurm.conf for the default client (else SLURM_CONF of the environment). */
  slurmConf?: string;
  /** Working directory of tasks (default: process.cwd()). */
  cwd?: string;
  /** Resources every task starts from (a task's own resources override them). */
  defaults?: Resources;
  /** Tasks per array element (batching of small tasks; default 1). */
  tasksPerJob?: number;
  /** At most this many elements of one array run at once (`--array=0-N%K`). */
  arrayThrottle?: number;
  /** Largest array per sbatch call (default 1000; clusters set MaxArraySize). */
  maxArraySize?: number;
  /** How resources grow on a retry (default: mem after each out-of-memory end, time after each timeout). */
  growth?: GrowthPolicy;
  /** The compiled job-entry.js (default: next to this module in dist/). */
  workerEntry?: string;
  /** Node binary on the compute nodes (default: process.execPath). */
  nodePath?: string;
  /**
   * Variables of the submitting environment passed to jobs (`--export`; default those a task sees on this machine:
   * PATH, HOME, TMPDIR and the locale's LANG, LC_ALL, LC_*, execute/step-env.ts).
   */
  exportEnv?: string[];
  pollMinMs?: number;
  pollMaxMs?: number;
  /** How long a COMPLETED job's result file may take to show up (shared file systems; default 5 s). */
  resultGraceMs?: number;
  /** Polls a job may be absent from every source before it counts as lost (default 5). */
  lostAfterPolls?: number;
  /** How long Slurm may be unreachable before unfinished tasks fail (default 10 min). */
  unreachableTimeoutMs?: number;
  outputCheck?: OutputCheck;
  logTailLines?: number;
}

interface Job {
  id: string;
  isArray: boolean;
  elements: Element[];
  afterOk: string[];
  superseded: boolean;
}

interface Element {
  job: Job;
  index: number | undefined;
  key: string;
  tasks: TaskState[];
  logFile: string;
  ended: boolean;
  /** The element ended in a way that breaks afterok (anything but COMPLETED). */
  broken: boolean;
  running: boolean;
  missingPolls: number;
  completedSeenAt?: number;
}

interface TaskState {
  task: ExecTask;
  level: number;
  attempt: number;
  attempts: AttemptRecord[];
  element?: Element;
  resultFile?: string;
  outcome?: TaskOutcome;
  dependents: TaskState[];
}

/**
 * Whether no job of the task was seen running: its element waits in the queue (or was never submitted) and no
 * earlier attempt ended. A task cancelled so never started, as one the local executors never handed a slot.
 */
function neverRan(s: TaskState): boolean {
  return !s.element?.running && s.attempts.every((a) => a.reason === undefined);
}

function defaultWorkerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  // Running from src/ (tests through vitest): the compiled entry is in dist/.
  return here
    .replace(/([\\/])src([\\/]slurm[\\/])executor\.ts$/, '$1dist$2job-entry.js')
    .replace(/executor\.js$/, 'job-entry.js');
}

export class SlurmExecutor implements BatchExecutor {
  readonly name = 'slurm';
  readonly client: SlurmClient;
  readonly #o: SlurmExecutorOptions;
  #seq = 0;

  constructor(options: SlurmExecutorOptions) {
    this.#o = options;
    this.client =
      options.client ?? new SlurmClient(options.slurmConf ? { slurmConf: options.slurmConf } : {});
  }

  run(batch: ExecTask[], options: RunOptions = {}): ExecutionHandle {
    const run = new BatchRun(this, this.#o, batch, options, () => ++this.#seq);
    return { done: run.start(), cancel: () => run.cancel(), stopPending: () => run.stopPending() };
  }

  /**
   * Cancels every live job of a build, also ones submitted by another process (found by job name). Throws when Slurm
   * cannot list them, or scancel fails and they are still listed.
   */
  static async cancelBuild(client: SlurmClient, buildId: string): Promise<string[]> {
    const ofBuild = (name: string) => isJobOfBuild(name, buildId);
    const ids = await client.jobsNamed(ofBuild);
    const res = await client.cancel(ids);
    // scancel also fails for a job that ended meanwhile: only one still listed is a failure.
    if (res && res.code !== 0) {
      const left = new Set(await client.jobsNamed(ofBuild));
      const still = ids.filter((id) => left.has(id));
      if (still.length > 0) throw new Error(`scancel ${still.join(' ')} failed: ${commandFailure(res)}`);
    }
    return ids;
  }
}

class BatchRun {
  readonly #states = new Map<string, TaskState>();
  readonly #jobs: Job[] = [];
  #cancelled = false;
  #cancelling: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #unfinished = 0;

  constructor(
    readonly executor: SlurmExecutor,
    readonly o: SlurmExecutorOptions,
    readonly batch: ExecTask[],
    readonly runOptions: RunOptions,
    readonly nextSeq: () => number,
  ) {
    const levels = taskLevels(batch);
    for (const task of batch) {
      if (this.#states.has(task.id)) throw new Error(`duplicate task id ${task.id}`);
      this.#states.set(task.id, {
        task,
        level: levels.get(task.id) ?? 0,
        attempt: 1,
        attempts: [],
        dependents: [],
      });
    }
    for (const s of this.#states.values()) {
      for (const dep of s.task.deps) this.#states.get(dep)?.dependents.push(s);
    }
    this.#unfinished = this.#states.size;
    runOptions.signal?.addEventListener('abort', () => void this.cancel(), { once: true });
  }

  async start(): Promise<Map<string, TaskOutcome>> {
    await this.#submit([...this.#states.values()]);
    let delay = this.o.pollMinMs ?? 250;
    let unreachableSince: number | undefined;
    let saidUnreachable = false;
    while (this.#unfinished > 0 && !this.#cancelled) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (this.#cancelled) break;
      const changed = await this.#poll();
      if (changed === 'unreachable') {
        unreachableSince ??= Date.now();
        const giveUpMs = this.o.unreachableTimeoutMs ?? 600_000;
        // Said once it lasts, and again when it ends: a build that waits on a dead controller is not silent for 10 min.
        if (!saidUnreachable && Date.now() - unreachableSince > Math.min(30_000, giveUpMs / 2)) {
          saidUnreachable = true;
          this.#emit({
            type: 'note',
            message: `Slurm's controller has not answered since ${new Date(unreachableSince).toISOString()}; pipe keeps asking and fails the build's jobs if it still does not answer at ${new Date(unreachableSince + giveUpMs).toISOString()}`,
          });
        }
        if (Date.now() - unreachableSince > giveUpMs) {
          for (const s of this.#states.values()) {
            if (!s.outcome)
              await this.#fail(s, {
                type: 'slurm-state',
                state: 'UNREACHABLE',
                detail: 'controller did not answer',
              });
          }
        }
      } else {
        if (saidUnreachable) this.#emit({ type: 'note', message: "Slurm's controller answers again" });
        unreachableSince = undefined;
        saidUnreachable = false;
      }
      delay = changed === true ? (this.o.pollMinMs ?? 250) : Math.min(delay * 1.5, this.o.pollMaxMs ?? 5000);
    }
    if (this.#cancelling) await this.#cancelling;
    return new Map([...this.#states].flatMap(([id, s]) => (s.outcome ? [[id, s.outcome] as const] : [])));
  }

  cancel(): Promise<void> {
    this.#cancelling ??= this.#cancel();
    return this.#cancelling;
  }

  /** See ExecutionHandle.stopPending: scancel the elements Slurm has not started, and end their tasks. */
  async stopPending(): Promise<void> {
    const waiting: Element[] = [];
    for (const job of this.#jobs)
      if (!job.superseded) for (const e of job.elements) if (!e.ended && !e.running) waiting.push(e);
    if (waiting.length === 0) return;
    await this.executor.client.cancel(
      waiting.map((e) => (e.index === undefined ? e.job.id : `${e.job.id}_${e.index}`)),
    );
    for (const e of waiting) {
      e.ended = true;
      for (const s of e.tasks)
        if (!s.outcome && s.element === e)
          await this.#fail(s, {
            type: 'cancelled',
            detail: 'not started: the build stopped after a failure',
            ...(neverRan(s) ? { started: false as const } : {}),
          });
    }
    this.#wake?.();
  }

  async #cancel(): Promise<void> {
    this.#cancelled = true;
    const live = this.#jobs.filter((j) => !j.superseded && j.elements.some((e) => !e.ended)).map((j) => j.id);
    const res = await this.executor.client
      .cancel(live)
      .catch((e: unknown) => ({ code: 1, stdout: '', stderr: (e as Error).message }));
    if (res && res.code !== 0) {
      // Not ended for sure: marked, so that the next build (or `pipe cancel`) cancels them once Slurm answers.
      const mark = {
        buildId: this.o.buildId,
        jobs: live,
        reason: `scancel failed: ${commandFailure(res)}`,
      };
      markUnconfirmed(this.o.workDir, mark);
      this.#emit({ type: 'note', message: unconfirmedText(mark) });
    }
    for (const s of this.#states.values())
      if (!s.outcome)
        await this.#fail(s, {
          type: 'cancelled',
          detail: 'build cancelled',
          ...(neverRan(s) ? { started: false as const } : {}),
        });
    this.#wake?.();
  }

  #emit(event: Parameters<NonNullable<RunOptions['onEvent']>>[0]): void {
    this.runOptions.onEvent?.(event);
  }

  async #finish(s: TaskState, outcome: TaskOutcome): Promise<void> {
    if (s.outcome) return;
    s.outcome = outcome;
    this.#unfinished--;
    this.#emit({ type: 'finished', outcome });
  }

  async #fail(s: TaskState, reason: FailureReason): Promise<void> {
    const last = s.attempts[s.attempts.length - 1];
    const tail = last && s.element ? await logTail(last.logFile, this.o.logTailLines ?? 20) : [];
    await this.#finish(s, {
      status: 'failed',
      taskId: s.task.id,
      reason,
      attempts: s.attempts,
      logTail: tail,
    });
  }

  /** Submits tasks (first attempts, retries and re-plumbed dependents alike), lowest level first. */
  async #submit(states: TaskState[]): Promise<void> {
    const pending: PendingTask[] = [];
    for (const s of states.sort((a, b) => a.level - b.level)) {
      if (s.outcome) continue;
      const failedDep = s.task.deps
        .map((d) => this.#states.get(d))
        .find((d) => d?.outcome?.status === 'failed');
      if (failedDep) {
        await this.#fail(s, { type: 'upstream-failed', upstream: failedDep.task.id });
        continue;
      }
      const res = resourcesForAttempt(
        { ...this.o.defaults, ...s.task.resources },
        s.attempts.map((a) => a.reason),
        this.o.growth,
      );
      if (!res.ok) {
        await this.#fail(s, { type: 'invalid-resources', message: res.message });
        continue;
      }
      pending.push({ task: s.task, attempt: s.attempt, level: s.level, resources: res.value });
    }
    const submissions = groupForSubmission(pending, this.o.tasksPerJob ?? 1, this.o.maxArraySize ?? 1000);
    for (const elements of submissions) {
      // An earlier submission of this round may have failed and taken this group's upstream with it.
      const live = elements
        .map((el) => el.filter((p) => !this.#depFailed(this.#state(p.task.id))))
        .filter((el) => el.length > 0);
      for (const el of elements) {
        for (const p of el) {
          const s = this.#state(p.task.id);
          const failed = this.#depFailed(s);
          if (failed) await this.#fail(s, { type: 'upstream-failed', upstream: failed });
        }
      }
      if (live.length > 0) await this.#submitOne(live);
    }
  }

  #state(id: string): TaskState {
    const s = this.#states.get(id);
    if (!s) throw new Error(`unknown task ${id}`);
    return s;
  }

  #depFailed(s: TaskState): string | undefined {
    return s.task.deps.find((d) => this.#states.get(d)?.outcome?.status === 'failed');
  }

  async #submitOne(elements: PendingTask[][]): Promise<void> {
    const first = elements[0]?.[0];
    if (!first) return;
    const files = await writeJobFiles({
      workDir: this.o.workDir,
      buildId: this.o.buildId,
      seq: this.nextSeq(),
      nodePath: this.o.nodePath ?? process.execPath,
      workerEntry: this.o.workerEntry ?? defaultWorkerEntry(),
      cwd: this.o.cwd ?? process.cwd(),
      elements,
    });
    const afterOk = this.#dependencyIds(elements.flat().map((p) => this.#state(p.task.id)));
    const isArray = elements.length > 1;
    // The target's own limit wins over the build's (--array-throttle), as its own executor does over --executor.
    const throttle = first.resources.arrayThrottle ?? this.o.arrayThrottle;
    const exportNames = (this.o.exportEnv ?? passedEnvNames()).filter((n) => process.env[n] !== undefined);
    const res = await this.executor.client.submit({
      script: files.script,
      jobName: jobName(this.o.buildId, first.task.target),
      output: files.output,
      chdir: this.o.cwd ?? process.cwd(),
      ...(isArray
        ? {
            array: {
              count: elements.length,
              ...(throttle ? { throttle } : {}),
            },
          }
        : {}),
      afterOk,
      resourceArgs: resourceArgs(first.resources),
      exportEnv: exportNames.length > 0 ? exportNames.join(',') : 'NONE',
    });
    if (!res.ok) {
      for (const p of elements.flat())
        await this.#fail(this.#state(p.task.id), { type: 'submit-rejected', message: res.message });
      return;
    }
    const job: Job = { id: res.jobId, isArray, elements: [], afterOk, superseded: false };
    this.#jobs.push(job);
    for (const [i, el] of elements.entries()) {
      const index = isArray ? i : undefined;
      const element: Element = {
        job,
        index,
        key: elementKey(res.jobId, index),
        tasks: [],
        logFile: files.logs[i] ?? '',
        ended: false,
        broken: false,
        running: false,
        missingPolls: 0,
      };
      for (const p of el) {
        const s = this.#state(p.task.id);
        s.element = element;
        s.resultFile = files.resultFiles.get(p.task.id);
        s.attempts.push({
          attempt: p.attempt,
          job: element.key,
          resources: p.resources,
          logFile: element.logFile,
        });
        element.tasks.push(s);
        this.#emit({ type: 'submitted', taskId: s.task.id, attempt: p.attempt, job: element.key });
      }
      job.elements.push(element);
    }
  }

  /** afterok ids for tasks: the current element of each unfinished dep, whole arrays where all of one is needed. */
  #dependencyIds(states: TaskState[]): string[] {
    const elements = new Set<Element>();
    for (const s of states) {
      for (const d of s.task.deps) {
        const dep = this.#states.get(d);
        if (dep && !dep.outcome && dep.element) elements.add(dep.element);
      }
    }
    const ids: string[] = [];
    const byJob = new Map<Job, Element[]>();
    for (const e of elements) byJob.set(e.job, [...(byJob.get(e.job) ?? []), e]);
    for (const [job, els] of byJob) {
      const whole = job.isArray && els.length === job.elements.length && !job.elements.some((e) => e.broken);
      if (whole) ids.push(job.id);
      else ids.push(...els.map((e) => e.key));
    }
    return ids.sort();
  }

  /** One round: read states, settle ended elements, retry or fail, re-plumb. Returns whether anything changed. */
  async #poll(): Promise<boolean | 'unreachable'> {
    const active = this.#jobs.filter((j) => !j.superseded && j.elements.some((e) => !e.ended));
    if (active.length === 0) return false;
    const q = await this.executor.client.query(active.map((j) => j.id));
    if (q.error && q.records.length === 0) return 'unreachable';
    const records = indexRecords(q.records);
    // Arrays Slurm still lists (their pending rest, or an element): one of their elements it no longer lists, never
    // seen running, was taken out of the queue (Slurm 22.05 keeps no record of a pending element scancel removes).
    const arraysListed = new Set(q.records.flatMap((r) => (r.arrayJobId ? [r.arrayJobId] : [])));
    let changed = false;
    const retry: TaskState[] = [];
    const broken = new Set<Element>();
    const neverSatisfied = new Set<Job>();
    for (const job of active) {
      for (const e of job.elements) {
        if (e.ended) continue;
        const rec = records.get(e.key);
        if (!rec) {
          if (++e.missingPolls >= (this.o.lostAfterPolls ?? 5)) {
            changed = true;
            const removed = e.index !== undefined && !e.running && arraysListed.has(job.id);
            // No Slurm state says it: the element left squeue and sacct without an end (cancelled while pending on a
            // cluster without accounting, or purged). Not "ended in Slurm state LOST": LOST is no Slurm state. Taken
            // out of a listed array's queue, it was cancelled (scancel of the element): not retried, as a cancel.
            await this.#settle(
              e,
              removed
                ? { kind: 'cancelled', reason: 'taken out of the queue before it started' }
                : {
                    kind: 'other',
                    state: 'unknown',
                    reason: `no longer listed by Slurm after ${this.o.lostAfterPolls ?? 5} polls, with no end state (cancelled before it started, or purged)`,
                  },
              retry,
              broken,
            );
          }
          continue;
        }
        e.missingPolls = 0;
        const phase = classifyJob(rec);
        if (phase.phase === 'running' && !e.running) {
          e.running = true;
          changed = true;
          for (const s of e.tasks) this.#emit({ type: 'running', taskId: s.task.id, job: e.key });
        } else if (phase.phase === 'dependency-never-satisfied') neverSatisfied.add(job);
        else if (phase.phase === 'ended') {
          if (await this.#settle(e, phase.end, retry, broken)) changed = true;
        }
      }
    }
    if (broken.size > 0 || neverSatisfied.size > 0) {
      changed = true;
      retry.push(...(await this.#replumb(broken, neverSatisfied)));
    }
    if (retry.length > 0) await this.#submit(retry);
    return changed;
  }

  /** Settles an ended element; false when a COMPLETED job's result files are still within their grace time. */
  async #settle(e: Element, end: SlurmEnd, retry: TaskState[], broken: Set<Element>): Promise<boolean> {
    const ok = endAllowsSuccess(end, e.tasks.length);
    const checks = [];
    for (const s of e.tasks) {
      if (s.outcome) continue;
      const check = await checkResult(
        {
          buildId: this.o.buildId,
          taskId: s.task.id,
          attempt: s.attempt,
          resultFile: s.resultFile ?? '',
          outputs: s.task.outputs,
          job: e.index === undefined ? { jobId: e.job.id } : { jobId: e.job.id, index: e.index },
        },
        this.o.outputCheck,
      );
      checks.push({ s, check });
    }
    if (end.kind === 'completed' && checks.some((c) => c.check.kind === 'missing')) {
      e.completedSeenAt ??= Date.now();
      if (Date.now() - e.completedSeenAt < (this.o.resultGraceMs ?? 5000)) return false;
    }
    e.ended = true;
    if (end.kind !== 'completed') broken.add(e);
    for (const { s, check } of checks) {
      if (ok && check.kind === 'ok') {
        await this.#finish(s, {
          status: 'done',
          taskId: s.task.id,
          result: check.result,
          attempts: s.attempts,
        });
        continue;
      }
      const attempt = s.attempts[s.attempts.length - 1];
      const reason = await asMemoryKill(failureReason(end, check, s.task.run.kind), attempt?.logFile);
      if (attempt) attempt.reason = reason;
      const maxAttempts = 1 + (s.task.resources.retries ?? this.o.defaults?.retries ?? 0);
      if (isRetryable(reason) && s.attempt < maxAttempts && !this.#cancelled) {
        s.attempt++;
        const next = resourcesForAttempt(
          { ...this.o.defaults, ...s.task.resources },
          s.attempts.map((a) => a.reason),
          this.o.growth,
        );
        this.#emit({
          type: 'retrying',
          taskId: s.task.id,
          attempt: s.attempt,
          reason,
          of: maxAttempts,
          ...(attempt ? { job: attempt.job, asked: attempt.resources } : {}),
          ...(next.ok ? { next: next.value } : {}),
        });
        retry.push(s);
      } else await this.#fail(s, reason);
    }
    // A task that failed for good breaks afterok for its dependents even when its element COMPLETED.
    if (e.tasks.some((s) => s.outcome?.status === 'failed' || retry.includes(s))) broken.add(e);
    return true;
  }

  /**
   * Jobs that wait (afterok) on a broken element can never start: cancel them, and every job waiting on
   * those, and hand their tasks back for resubmission (their deps are then resolved afresh).
   */
  async #replumb(broken: Set<Element>, neverSatisfied: Set<Job>): Promise<TaskState[]> {
    const dead = new Set<string>();
    const doomed = new Set<Job>();
    const kill = (job: Job) => {
      doomed.add(job);
      dead.add(job.id);
      for (const e of job.elements) dead.add(e.key);
    };
    const close = () => {
      for (let grew = true; grew; ) {
        grew = false;
        for (const job of this.#jobs) {
          if (job.superseded || doomed.has(job) || !job.afterOk.some((id) => dead.has(id))) continue;
          kill(job);
          grew = true;
        }
      }
    };
    for (const e of broken) {
      dead.add(e.key);
      dead.add(e.job.id);
    }
    close();
    // A job Slurm gave up on although none of its upstream broke in our view: fail it as the brief of
    // afterok says (upstream failed), and re-plumb whatever waits on it.
    const unexplained = [...neverSatisfied].filter((j) => !doomed.has(j) && !j.superseded);
    for (const job of unexplained) kill(job);
    close();
    const toCancel = [...doomed].filter((j) => j.elements.some((e) => !e.ended));
    await this.executor.client.cancel(toCancel.map((j) => j.id));
    const resubmit: TaskState[] = [];
    for (const job of doomed) {
      job.superseded = true;
      for (const e of job.elements) {
        if (e.ended) continue;
        e.ended = true;
        for (const s of e.tasks) {
          if (s.outcome) continue;
          s.attempts.pop(); // it never ran: the same attempt is submitted again
          if (unexplained.includes(job)) {
            await this.#fail(s, {
              type: 'upstream-failed',
              upstream: `DependencyNeverSatisfied (afterok:${job.afterOk.join(':')})`,
            });
          } else resubmit.push(s);
        }
      }
    }
    return resubmit;
  }
}

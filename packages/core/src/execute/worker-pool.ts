/**
 * A pool of up to `size` worker threads for step modules. Threads start when needed: warm() starts the first
 * (while the build is still planned), prestart() those a fan-out will need (while the engine stores the task that
 * fanned out), a task that finds no idle thread starts another. Compared with a generic
 * pool it knows one thing more: which step modules the build runs. A module announced with `warm` (or seen in a
 * task) is imported on every thread, idle ones at once, so a fan-out's tasks do not each wait for their thread to
 * load the step's module graph (tens of milliseconds per thread, more than a small task's work).
 *
 * Cancelling a running task, or one that outlives its time limit, terminates its thread (a step cannot be
 * interrupted otherwise); a replacement is started when work is queued. Idle threads are unref'd, so an idle pool
 * never keeps the process alive.
 *
 * Tiny tasks (a step module whose runs take well under a millisecond, e.g. one per file of a large fan-out) are sent
 * ahead: the next one goes to a thread still running such a task, which starts it as soon as it replies, rather
 * than to an idle thread. Waking a sleeping thread costs the engine's thread more than the task itself (on 2
 * cores the woken thread preempts it), and the engine, not the threads, is the bottleneck of such a build.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParamPath, StepResult } from '../model/step.js';
import type { WrittenHash } from '../store/written-hashes.js';
import { noteBlockedThread } from './blocked-thread.js';
import { POOL_WORKER_ENTRY, poolWorkerOptions, takeEarlyPoolThread } from './early-thread.js';
import type { PoolReply, PoolRequest } from './pool-worker.js';
import type { StepPayload } from './step-worker.js';

/** Why a pooled task did not produce a result. */
export type PoolFailure =
  | { type: 'cancelled' }
  /** It ran longer than the time limit it was given. */
  | { type: 'timed-out' }
  /** The step threw (its message), or its thread died (how). */
  | { type: 'step-error'; message: string; param?: ParamPath };

export type PoolOutcome =
  | {
      ok: true;
      result: StepResult | undefined;
      /** Hashes of the outputs, computed by the worker that wrote them (by path). */
      hashes?: Record<string, WrittenHash>;
    }
  | { ok: false; failure: PoolFailure };

interface Pending {
  id: number;
  payload: StepPayload;
  /** When it started on its thread (performance.now()), as far as this thread can tell. */
  startedAt?: number;
  settle: (outcome: PoolOutcome) => void;
  signal: AbortSignal;
  onAbort: () => void;
  /** Counted from when a thread takes the task, not from when it is queued. */
  timeLimitMs: number | undefined;
  limitTimer?: NodeJS.Timeout;
  /** How its first thread died under it, when it runs again on another (see onDeath). */
  diedOnce?: string;
}

interface Thread {
  worker: Worker;
  task: Pending | undefined;
  /** A task sent ahead, to start when `task` ends (only behind a tiny one). */
  next: Pending | undefined;
  /** Modules this thread was asked to import. */
  modules: Set<string>;
}

/** Below this run time (ms, on its thread), a step module's tasks count as tiny (see the module's comment). */
const TINY_MS = 1;
/** A tiny task still running after this long (ms) is not sent a task ahead. */
const STALE_MS = 20;
/**
 * Threads at most, whatever -j says: a thread is a V8 isolate (megabytes of memory, its own JIT warm-up), and steps
 * run JavaScript and kernels, which gain nothing from more threads than cores (-j 99999 started 60 threads on 2
 * cores). Tasks past it wait in the queue; -j still bounds the commands, which are processes.
 */
const MAX_THREADS = Math.max(4, 2 * availableParallelism());

export class StepWorkerPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private readonly modules = new Set<string>();
  /** Recent run time of each step module (ms on its thread, moving average). */
  private readonly runMs = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  /**
   * `tinyMs`: below this run time a module's tasks count as tiny (default TINY_MS; tests raise it, as a busy machine
   * can slow a run past a millisecond).
   */
  private readonly size: number;

  constructor(
    size: number,
    private readonly entry: URL = POOL_WORKER_ENTRY,
    private readonly tinyMs = TINY_MS,
  ) {
    this.size = Math.min(size, MAX_THREADS);
  }

  /** Start a thread (if none yet) and have every thread import `module`. */
  warm(module: string): void {
    if (this.closed) return;
    this.modules.add(module);
    if (this.threads.length === 0) this.threads.push(this.spawn());
    for (const t of this.threads) this.teach(t);
  }

  /**
   * Start threads (up to the pool's size) until `count` could run at once, each importing the modules known so
   * far: called when a task fanned out into `count` items, whose tasks are about to be queued, so the threads
   * boot while the engine stores that task's outputs and plans the fan-out, not when the first tasks wait.
   */
  prestart(count: number): void {
    if (this.closed) return;
    while (this.threads.length < Math.min(this.size, count)) this.threads.push(this.spawn());
  }

  /**
   * Run one step task on the next free thread, stopped after `timeLimitMs` on it (if given). Never rejects:
   * failures are values.
   */
  run(payload: StepPayload, signal: AbortSignal, timeLimitMs?: number): Promise<PoolOutcome> {
    if (signal.aborted || this.closed) return Promise.resolve({ ok: false, failure: { type: 'cancelled' } });
    return new Promise((resolve) => {
      const pending: Pending = {
        id: this.nextId++,
        payload,
        signal,
        settle: (outcome) => {
          signal.removeEventListener('abort', pending.onAbort);
          clearTimeout(pending.limitTimer);
          resolve(outcome);
        },
        onAbort: () => this.stop(pending, { type: 'cancelled' }),
        timeLimitMs,
      };
      signal.addEventListener('abort', pending.onAbort, { once: true });
      this.queue.push(pending);
      this.modules.add(payload.module);
      this.dispatch();
    });
  }

  /**
   * Terminate every thread; queued tasks end as cancelled. Resolves once the threads that were running a task have
   * stopped (none of them writes anything after that); idle threads are left to finish stopping on their own, while
   * the build records itself (a thread's teardown takes a few ms, and an idle one has nothing left to write).
   */
  async destroy(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.settle({ ok: false, failure: { type: 'cancelled' } });
    const threads = this.threads.splice(0);
    const busy = threads.filter((t) => t.task);
    for (const t of busy) {
      t.task?.settle({ ok: false, failure: { type: 'cancelled' } });
      t.next?.settle({ ok: false, failure: { type: 'cancelled' } });
    }
    for (const t of threads) if (!t.task) t.worker.terminate().catch(() => undefined);
    await Promise.all(busy.map((t) => t.worker.terminate()));
  }

  /** One more thread per queued task that no idle thread will take, up to `size`. */
  private grow(): void {
    const idle = this.threads.filter((t) => !t.task).length;
    for (let i = idle; i < this.queue.length && this.threads.length < this.size; i++)
      this.threads.push(this.spawn());
  }

  private spawn(): Thread {
    // The thread bin/pipe.js booted before the engine loaded, if any (see early-thread.ts).
    const worker = takeEarlyPoolThread(this.entry) ?? new Worker(this.entry, poolWorkerOptions());
    const thread: Thread = { worker, task: undefined, next: undefined, modules: new Set() };
    worker.on('message', (reply: PoolReply) => this.onReply(thread, reply));
    worker.on('error', (error) => this.onDeath(thread, `worker thread failed: ${error.message}`));
    worker.on('exit', (code) =>
      this.onDeath(
        thread,
        `worker thread exited (code ${code}; a step that calls process.exit ends its thread)`,
      ),
    );
    worker.unref();
    this.teach(thread);
    return thread;
  }

  /** Send a thread the modules it has not been asked to import yet. */
  private teach(thread: Thread): void {
    const fresh = [...this.modules].filter((m) => !thread.modules.has(m));
    if (fresh.length === 0) return;
    for (const m of fresh) thread.modules.add(m);
    thread.worker.postMessage({ type: 'warm', modules: fresh } satisfies PoolRequest);
  }

  private dispatch(): void {
    if (this.closed || this.queue.length === 0) return;
    this.assign();
    if (this.queue.length > 0) {
      this.grow();
      this.assign();
    }
    // Idle threads learn the modules of what was just queued, so the next tasks find them loaded.
    for (const t of this.threads) if (!t.task) this.teach(t);
  }

  /** Queued tasks to threads: sent ahead to a thread running a tiny task, else to an idle thread, in queue order. */
  private assign(): void {
    const now = performance.now();
    while (this.queue.length > 0) {
      const ahead = this.threads.find((t) => t.task && !t.next && this.isTiny(t.task, now));
      const thread = ahead ?? this.threads.find((t) => !t.task);
      if (!thread) return;
      const next = this.queue.shift()!;
      if (ahead) ahead.next = next;
      else this.start(thread, next, now);
      thread.worker.postMessage({ type: 'run', id: next.id, payload: next.payload } satisfies PoolRequest);
    }
  }

  /**
   * Whether `task` (running) will very likely end within a millisecond: its module's runs do (as the threads timed
   * them), and it has not run unusually long already (by this thread's clock, which lags while it is busy).
   */
  private isTiny(task: Pending, now: number): boolean {
    const ms = this.runMs.get(task.payload.module);
    return ms !== undefined && ms < this.tinyMs && now - (task.startedAt ?? now) < STALE_MS;
  }

  /** `task` is now the one `thread` runs (its time limit counts from here). */
  private start(thread: Thread, task: Pending, now: number): void {
    thread.task = task;
    task.startedAt = now;
    thread.worker.ref();
    if (task.timeLimitMs !== undefined)
      task.limitTimer = setTimeout(() => this.stop(task, { type: 'timed-out' }), task.timeLimitMs);
  }

  private onReply(thread: Thread, reply: PoolReply): void {
    const task = thread.task;
    if (!task || task.id !== reply.id) return;
    const now = performance.now();
    if (reply.ok) {
      const avg = this.runMs.get(task.payload.module);
      this.runMs.set(task.payload.module, avg === undefined ? reply.ms : 0.8 * avg + 0.2 * reply.ms);
    }
    thread.task = undefined;
    if (!reply.ok && reply.blocked) {
      // The thread is stuck in a file operation its step left: retired (what was sent ahead goes back to the queue).
      this.threads.splice(this.threads.indexOf(thread), 1);
      this.requeueNext(thread);
      noteBlockedThread(thread.worker.terminate());
    } else {
      // The task sent ahead starts now, on that thread (the thread takes its runs in order).
      const next = thread.next;
      thread.next = undefined;
      if (next) this.start(thread, next, now);
      else thread.worker.unref();
    }
    task.settle(
      reply.ok
        ? {
            ok: true,
            result: reply.result,
            ...(Object.keys(reply.hashes).length > 0 ? { hashes: reply.hashes } : {}),
          }
        : {
            ok: false,
            failure: {
              type: 'step-error',
              message: reply.message,
              ...(reply.param ? { param: reply.param } : {}),
            },
          },
    );
    this.dispatch();
  }

  private onDeath(thread: Thread, how: string): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return; // already removed (terminated on purpose)
    this.threads.splice(at, 1);
    const task = thread.task;
    thread.task = undefined;
    this.requeueNext(thread);
    if (task && task.diedOnce === undefined) {
      // The error that ended the thread may be an earlier task's (a promise it left to reject, a timer it left to
      // throw, after its step returned): the task it fell on runs once more, first, on a fresh thread; a task that
      // ends its thread itself does so again and fails, with both deaths said.
      task.diedOnce = how;
      clearTimeout(task.limitTimer);
      task.startedAt = undefined;
      this.queue.unshift(task);
    } else if (task) {
      task.settle({
        ok: false,
        failure: { type: 'step-error', message: `${how} (and on its first thread: ${task.diedOnce})` },
      });
    }
    this.dispatch();
  }

  /** A task sent ahead to a thread that is going away never started: it goes back to the front of the queue. */
  private requeueNext(thread: Thread): void {
    const next = thread.next;
    thread.next = undefined;
    if (next) this.queue.unshift(next);
  }

  /** Ends a task with `failure`: dropped from the queue, or its thread terminated (and replaced when work waits). */
  private stop(task: Pending, failure: PoolFailure): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      task.settle({ ok: false, failure });
      return;
    }
    const behind = this.threads.find((t) => t.next === task);
    if (behind) {
      // Sent ahead, not started: the thread skips it (if it is not already running it) and goes on.
      behind.next = undefined;
      behind.worker.postMessage({ type: 'drop', id: task.id } satisfies PoolRequest);
      task.settle({ ok: false, failure });
      return;
    }
    const thread = this.threads.find((t) => t.task === task);
    if (!thread) return;
    this.threads.splice(this.threads.indexOf(thread), 1);
    thread.task = undefined;
    this.requeueNext(thread);
    task.settle({ ok: false, failure });
    void thread.worker.terminate();
    this.dispatch();
  }
}

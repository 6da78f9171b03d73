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
 */
import { Worker } from 'node:worker_threads';
import type { StepResult } from '../model/step.js';
import type { WrittenHash } from '../store/written-hashes.js';
import { POOL_WORKER_ENTRY, takeEarlyPoolThread } from './early-thread.js';
import type { PoolReply, PoolRequest } from './pool-worker.js';
import type { StepPayload } from './step-worker.js';

/** Why a pooled task did not produce a result. */
export type PoolFailure =
  | { type: 'cancelled' }
  /** It ran longer than the time limit it was given. */
  | { type: 'timed-out' }
  /** The step threw (its message), or its thread died (how). */
  | { type: 'step-error'; message: string };

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
  settle: (outcome: PoolOutcome) => void;
  signal: AbortSignal;
  onAbort: () => void;
  /** Counted from when a thread takes the task, not from when it is queued. */
  timeLimitMs: number | undefined;
  limitTimer?: NodeJS.Timeout;
}

interface Thread {
  worker: Worker;
  task: Pending | undefined;
  /** Modules this thread was asked to import. */
  modules: Set<string>;
}

export class StepWorkerPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private readonly modules = new Set<string>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly entry: URL = POOL_WORKER_ENTRY,
  ) {}

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
    for (const t of busy) t.task?.settle({ ok: false, failure: { type: 'cancelled' } });
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
    const worker = takeEarlyPoolThread(this.entry) ?? new Worker(this.entry);
    const thread: Thread = { worker, task: undefined, modules: new Set() };
    worker.on('message', (reply: PoolReply) => this.onReply(thread, reply));
    worker.on('error', (error) => this.onDeath(thread, `worker thread failed: ${error.message}`));
    worker.on('exit', (code) => this.onDeath(thread, `worker thread exited (code ${code})`));
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
    this.grow();
    for (const t of this.threads) {
      if (t.task) continue;
      const next = this.queue.shift();
      if (!next) break;
      t.task = next;
      t.worker.ref();
      if (next.timeLimitMs !== undefined)
        next.limitTimer = setTimeout(() => this.stop(next, { type: 'timed-out' }), next.timeLimitMs);
      t.worker.postMessage({ type: 'run', id: next.id, payload: next.payload } satisfies PoolRequest);
    }
    // Idle threads learn the modules of what was just queued, so the next tasks find them loaded.
    for (const t of this.threads) if (!t.task) this.teach(t);
  }

  private onReply(thread: Thread, reply: PoolReply): void {
    const task = thread.task;
    if (!task || task.id !== reply.id) return;
    thread.task = undefined;
    thread.worker.unref();
    task.settle(
      reply.ok
        ? {
            ok: true,
            result: reply.result,
            ...(Object.keys(reply.hashes).length > 0 ? { hashes: reply.hashes } : {}),
          }
        : { ok: false, failure: { type: 'step-error', message: reply.message } },
    );
    this.dispatch();
  }

  private onDeath(thread: Thread, how: string): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return; // already removed (terminated on purpose)
    this.threads.splice(at, 1);
    const task = thread.task;
    thread.task = undefined;
    task?.settle({ ok: false, failure: { type: 'step-error', message: how } });
    this.dispatch();
  }

  /** Ends a task with `failure`: dropped from the queue, or its thread terminated (and replaced when work waits). */
  private stop(task: Pending, failure: PoolFailure): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      task.settle({ ok: false, failure });
      return;
    }
    const thread = this.threads.find((t) => t.task === task);
    if (!thread) return;
    this.threads.splice(this.threads.indexOf(thread), 1);
    thread.task = undefined;
    task.settle({ ok: false, failure });
    void thread.worker.terminate();
    this.dispatch();
  }
}

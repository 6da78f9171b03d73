/**
 * The local executor: in-process steps on a pool of worker threads (see StepWorkerPool), bounded by -j.
 * The pool is created on first use, so builds that run no step never start a thread; every thread imports the
 * step modules the build announced (warm) or ran, so fanned-out tasks find their module loaded.
 * Cancelling aborts the task, which terminates its worker thread; so does a task outliving its `resources.time`.
 */
import { noteWrittenHashes } from '../store/written-hashes.js';
import { type ExecFailure, type ExecRequest, type Executor, refused, timeLimit } from './executor.js';
import type { StepPayload } from './step-worker.js';
import { StepWorkerPool } from './worker-pool.js';

/** A pool started by warmLocalPool before the build's executor exists (taken by the next createLocalExecutor). */
let early: { pool: StepWorkerPool; threads: number } | undefined;

/**
 * Start the local pool and import `modules` in it now, before the pipeline is even loaded: the command line
 * calls this with the step modules a build will likely run (its requested targets', as the last load of the
 * pipeline had them), so a worker boots and imports them on another core while this thread loads and plans.
 * A guess costs an idle thread that is closed with the build; the executor adopts the pool when its size matches.
 * Without a guess (`modules` empty) a thread is booted anyway, to be taught the modules later.
 */
export function warmLocalPool(modules: string[], threads: number): void {
  if (early) return;
  early = { pool: new StepWorkerPool(Math.max(1, threads)), threads };
  for (const m of modules) early.pool.warm(m);
  // Nothing known yet (a first build, an edited pipeline): boot a thread all the same — its runtime start, not
  // the modules, is most of a worker's cost — and let the build teach it the modules once it knows them.
  if (modules.length === 0) early.pool.prestart(1);
}

/**
 * Have the early pool (if any) import `modules` too, in this order: the build learnt them only now, by loading
 * the pipeline (no cached entry to guess from); the threads import them while this thread plans.
 */
export function teachLocalPool(modules: string[]): void {
  for (const m of modules) early?.pool.warm(m);
}

export function createLocalExecutor(options: { threads: number }): Executor {
  let pool: StepWorkerPool | undefined;
  if (early) {
    if (early.threads === options.threads) pool = early.pool;
    else void early.pool.destroy();
    early = undefined;
  }
  const getPool = () => {
    pool ??= new StepWorkerPool(Math.max(1, options.threads));
    return pool;
  };
  async function runOne(req: ExecRequest, onEvent: Parameters<Executor['submit']>[1], signal: AbortSignal) {
    if (req.work.kind !== 'step') {
      onEvent(refused(req.id, 'the local executor runs step modules only'));
      return;
    }
    const limit = timeLimit(req.resources);
    if (!limit.ok) {
      onEvent(refused(req.id, `resources.time: ${limit.message}`));
      return;
    }
    // The log file is created by the worker on the step's first log line: most steps log nothing.
    const payload: StepPayload = {
      module: req.work.module,
      params: req.params,
      inputs: req.inputs,
      outputs: req.outputs,
      ...(req.item ? { item: req.item } : {}),
      env: req.env,
      kernelBackend: req.kernelBackend,
      logFile: req.logFile,
    };
    onEvent({ type: 'started', id: req.id });
    const outcome = await getPool().run(payload, signal, limit.value && limit.value.seconds * 1000);
    if (!outcome.ok) {
      // Only a task given a limit times out.
      const failure: ExecFailure =
        outcome.failure.type === 'timed-out' ? { type: 'timed-out', ...limit.value! } : outcome.failure;
      onEvent({ type: 'ended', id: req.id, outcome: { ok: false, failure } });
      return;
    }
    // The engine stores the outputs with these hashes instead of reading them again.
    noteWrittenHashes(outcome.hashes);
    const result = outcome.result;
    // A fan-out: its tasks follow as soon as this one is stored; boot the threads they will need meanwhile.
    if (result?.items && result.items.length > 1) getPool().prestart(result.items.length);
    onEvent({
      type: 'ended',
      id: req.id,
      outcome: {
        ok: true,
        ...(result?.items ? { items: result.items } : {}),
        ...(result?.metadata ? { metadata: result.metadata } : {}),
      },
    });
  }
  return {
    name: 'local',
    warm(work, fanOut) {
      // Boots the threads and imports the step in each; a failure shows again when the step really runs.
      if (work.kind !== 'step') return;
      getPool().warm(work.module);
      if (fanOut) getPool().prestart(options.threads);
    },
    async submit(batch, onEvent, signal) {
      await Promise.all(batch.map((req) => runOne(req, onEvent, signal)));
    },
    async close() {
      await pool?.destroy();
    },
  };
}

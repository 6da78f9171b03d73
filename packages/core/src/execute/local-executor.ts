/**
 * The local executor: in-process steps on a pool of worker threads (piscina), bounded by -j.
 * The pool is created on first use, so builds that run no step never start a thread.
 * Cancelling aborts the task, which terminates its worker thread.
 */
import type { ExecRequest, Executor } from './executor.js';
import type { StepPayload, WarmPayload } from './step-worker.js';

type Pool = {
  run(task: unknown, options?: { signal?: AbortSignal }): Promise<unknown>;
  destroy(): Promise<void>;
};

export function createLocalExecutor(options: { threads: number }): Executor {
  let pool: Promise<Pool> | undefined;
  const getPool = () => {
    pool ??= import('piscina').then(
      ({ Piscina }) =>
        new Piscina({
          filename: new URL('./step-worker.js', import.meta.url).href,
          // The pool is made when the first step runs: start every thread then, so they load the step and
          // kernel modules in parallel instead of one after another as tasks queue up.
          minThreads: Math.max(1, options.threads),
          maxThreads: Math.max(1, options.threads),
          idleTimeout: 2000,
        }) as unknown as Pool,
    );
    return pool;
  };
  async function runOne(req: ExecRequest, onEvent: Parameters<Executor['submit']>[1], signal: AbortSignal) {
    if (req.work.kind !== 'step') {
      onEvent({
        type: 'ended',
        id: req.id,
        outcome: {
          ok: false,
          failure: { type: 'executor-error', message: 'the local executor runs step modules only' },
        },
      });
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
    try {
      const result = (await (await getPool()).run(payload, { signal })) as
        | { items?: ExecRequest['item'][]; metadata?: Record<string, unknown> }
        | undefined;
      onEvent({
        type: 'ended',
        id: req.id,
        outcome: {
          ok: true,
          ...(result?.items ? { items: result.items as never } : {}),
          ...(result?.metadata ? { metadata: result.metadata } : {}),
        },
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failure = signal.aborted
        ? ({ type: 'cancelled' } as const)
        : ({ type: 'step-error', message } as const);
      onEvent({ type: 'ended', id: req.id, outcome: { ok: false, failure } });
    }
  }
  const warmed = new Set<string>();
  return {
    name: 'local',
    warm(work) {
      if (work.kind !== 'step' || warmed.has(work.module) || warmed.size >= options.threads) return;
      warmed.add(work.module);
      // Boots a worker and imports the step there; a failure shows again when the step really runs.
      void getPool()
        .then((p) => p.run({ warm: work.module } satisfies WarmPayload))
        .catch(() => undefined);
    },
    async submit(batch, onEvent, signal) {
      await Promise.all(batch.map((req) => runOne(req, onEvent, signal)));
    },
    async close() {
      if (pool) await (await pool).destroy();
    },
  };
}

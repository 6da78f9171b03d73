/**
 * Entry of a StepWorkerPool thread: imports the step modules it is told about (in the background, between
 * tasks) and runs step tasks one at a time, replying with the result (and the SHA-256 of each output the step
 * wrote, hashed here once: see store/written-hashes.ts) or the step's error message.
 *
 * It listens at once and loads the step runtime with the first step request: a job (below) sent to a thread
 * that has just booted starts before the runtime's modules are read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trustDeferredExtraCa } from '@pipe/cache/deferred-ca';
import { blamedParam, type ParamPath, type StepResult } from '../model/step.js';
import type { WrittenHash } from '../store/written-hashes.js';
import { confineStepEnv } from './step-env.js';
import { stepErrorMessage } from './step-error.js';
import type { StepPayload } from './step-worker.js';

export type PoolRequest =
  | { type: 'warm'; modules: string[] }
  /** Runs are taken one at a time, in the order sent: the pool may send the next while one runs (see worker-pool.ts). */
  | { type: 'run'; id: number; payload: StepPayload }
  /** A run sent ahead and cancelled before it started: it is skipped (no reply) if it has not started yet. */
  | { type: 'drop'; id: number }
  /**
   * Work for a thread that would otherwise idle until the first task (the early thread, see early-thread.ts): the
   * module's default export is called with `data`; it reports through what `data` holds (shared memory), never
   * by a reply. E.g. the CLI's check of a declined no-op snapshot's stamps (packages/cli fast-path/stamp-job.ts).
   */
  | { type: 'job'; module: string; data: unknown };

export type PoolReply =
  /**
   * `hashes`: SHA-256 and identity of each output the step wrote, by path (see store/written-hashes.ts); `ms`: how
   * long the run took on the thread.
   */
  | { id: number; ok: true; result: StepResult | undefined; hashes: Record<string, WrittenHash>; ms: number }
  /** `blocked`: the step left this thread blocked in a file operation (step-worker ThreadBlockedError). */
  | { id: number; ok: false; message: string; param?: ParamPath; blocked?: true };

const port = parentPort;
if (!port) throw new Error('pool-worker.js runs inside a worker thread');
// The steps' fetch trusts the NODE_EXTRA_CA_CERTS file node was started without (see early-thread.ts).
trustDeferredExtraCa((workerData as { deferredExtraCa?: string } | null)?.deferredExtraCa);
// Steps see the variables their target lists, not the whole environment pipe was started with (its own copy).
confineStepEnv();

/** The step runtime, loaded once (requests are handled in the order they came: each waits for the same load). */
let runtime:
  | Promise<[typeof import('./step-worker.js'), typeof import('../store/written-hashes.js')]>
  | undefined;
const loadRuntime = () =>
  (runtime ??= Promise.all([import('./step-worker.js'), import('../store/written-hashes.js')]));

/** Runs waiting for the one in progress, and the ids of those dropped before they started. */
const runs: Array<Extract<PoolRequest, { type: 'run' }>> = [];
const dropped = new Set<number>();
let running = false;
/**
 * A step left this thread blocked in a file operation: the pool retires it (and sends what it had sent ahead to
 * another thread), so it runs nothing more.
 */
let retired = false;

port.on('message', (request: PoolRequest) => {
  if (request.type === 'job') {
    // A job that fails to load or throws leaves its work undone: its owner does it (and learns nothing from here).
    import(request.module)
      .then((m: { default: (data: unknown) => unknown }) => m.default(request.data))
      .catch(() => undefined);
    return;
  }
  if (request.type === 'drop') {
    dropped.add(request.id);
    return;
  }
  if (request.type === 'run') {
    runs.push(request);
    if (!running) runNext();
    return;
  }
  loadRuntime().then(
    ([{ importStep }]) => {
      // A module that fails to import fails again, with its message, when a task runs it.
      for (const m of request.modules) importStep(m).catch(() => undefined);
    },
    () => undefined, // said by every run (below)
  );
});

/** Start the next run, once the one before has replied (a run sent ahead waits here, not beside it). */
const runNext = (): void => {
  if (retired) return;
  let request = runs.shift();
  while (request && dropped.delete(request.id)) request = runs.shift();
  running = request !== undefined;
  // The next run starts after the messages already here are read, so a drop sent with it is seen in time.
  if (request) void run(request).finally(() => setImmediate(runNext));
};

const run = async ({ id, payload }: Extract<PoolRequest, { type: 'run' }>): Promise<void> => {
  let loaded: Awaited<ReturnType<typeof loadRuntime>>;
  try {
    loaded = await loadRuntime();
  } catch (error) {
    // The runtime itself failed to load (a broken install): every task says so.
    const message = `the step runtime failed to load: ${error instanceof Error ? error.message : String(error)}`;
    port.postMessage({ id, ok: false, message } satisfies PoolReply);
    return;
  }
  const [{ default: runStep, importStep }, { hashWrittenOutputs }] = loaded;
  // Timed without the module's first import (a failed one fails again, with its message, in runStep).
  await importStep(payload.module).catch(() => undefined);
  const started = performance.now();
  let result: Awaited<ReturnType<typeof runStep>>;
  try {
    result = await runStep(payload);
  } catch (error) {
    const message = stepErrorMessage(error, payload.module);
    const param = blamedParam(error);
    const blocked = (error as { blocksThread?: unknown } | null)?.blocksThread === true;
    if (blocked) retired = true;
    port.postMessage({
      id,
      ok: false,
      message,
      ...(param ? { param } : {}),
      ...(blocked ? { blocked } : {}),
    } satisfies PoolReply);
    return;
  }
  port.postMessage({
    id,
    ok: true,
    result: result ?? undefined,
    // Hashed here, by the thread that wrote them, while the bytes are in the page cache: the engine and the cache
    // then store them without reading them again.
    hashes: hashWrittenOutputs(payload.outputs),
    ms: performance.now() - started,
  } satisfies PoolReply);
};

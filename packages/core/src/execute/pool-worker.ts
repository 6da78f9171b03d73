/**
 * Entry of a StepWorkerPool thread: imports the step modules it is told about (in the background, between
 * tasks) and runs step tasks one at a time, replying with the result (and the SHA-256 of each output the step
 * wrote, hashed here once: see store/written-hashes.ts) or the step's error message.
 *
 * It listens at once and loads the step runtime with the first step request: a job (below) sent to a thread
 * that has just booted starts before the runtime's modules are read.
 */
import { parentPort } from 'node:worker_threads';
import type { StepResult } from '../model/step.js';
import type { WrittenHash } from '../store/written-hashes.js';
import type { StepPayload } from './step-worker.js';

export type PoolRequest =
  | { type: 'warm'; modules: string[] }
  | { type: 'run'; id: number; payload: StepPayload }
  /**
   * Work for a thread that would otherwise idle until the first task (the early thread, see early-thread.ts): the
   * module's default export is called with `data`; it reports through what `data` holds (shared memory), never
   * by a reply. E.g. the CLI's check of a declined no-op snapshot's stamps (packages/cli fast-path/stamp-job.ts).
   */
  | { type: 'job'; module: string; data: unknown };

export type PoolReply =
  /** `hashes`: SHA-256 and identity of each output the step wrote, by path (see store/written-hashes.ts). */
  | { id: number; ok: true; result: StepResult | undefined; hashes: Record<string, WrittenHash> }
  | { id: number; ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('pool-worker.js runs inside a worker thread');

/** The step runtime, loaded once (requests are handled in the order they came: each waits for the same load). */
let runtime:
  | Promise<[typeof import('./step-worker.js'), typeof import('../store/written-hashes.js')]>
  | undefined;
const loadRuntime = () =>
  (runtime ??= Promise.all([import('./step-worker.js'), import('../store/written-hashes.js')]));

port.on('message', (request: PoolRequest) => {
  if (request.type === 'job') {
    // A job that fails to load or throws leaves its work undone: its owner does it (and learns nothing from here).
    import(request.module)
      .then((m: { default: (data: unknown) => unknown }) => m.default(request.data))
      .catch(() => undefined);
    return;
  }
  loadRuntime().then(
    ([{ default: runStep, importStep }, { hashWrittenOutputs }]) => {
      if (request.type === 'warm') {
        // A module that fails to import fails again, with its message, when a task runs it.
        for (const m of request.modules) importStep(m).catch(() => undefined);
        return;
      }
      runStep(request.payload).then(
        (result) =>
          port.postMessage({
            id: request.id,
            ok: true,
            result: result ?? undefined,
            // Hashed here, by the thread that wrote them, while the bytes are in the page cache: the engine and
            // the cache then store them without reading them again.
            hashes: hashWrittenOutputs(request.payload.outputs),
          } satisfies PoolReply),
        (error: unknown) =>
          port.postMessage({
            id: request.id,
            ok: false,
            message: error instanceof Error ? error.message : String(error),
          } satisfies PoolReply),
      );
    },
    (error: unknown) => {
      // The runtime itself failed to load (a broken install): every task says so.
      if (request.type === 'run')
        port.postMessage({
          id: request.id,
          ok: false,
          message: `the step runtime failed to load: ${error instanceof Error ? error.message : String(error)}`,
        } satisfies PoolReply);
    },
  );
});

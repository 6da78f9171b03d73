/**
 * Entry of a StepWorkerPool thread: imports the step modules it is told about (in the background, between
 * tasks) and runs step tasks one at a time, replying with the result (and the SHA-256 of each output the step
 * wrote, hashed here once: see store/written-hashes.ts) or the step's error message.
 */
import { parentPort } from 'node:worker_threads';
import type { StepResult } from '../model/step.js';
import { hashWrittenOutputs, type WrittenHash } from '../store/written-hashes.js';
import runStep, { importStep, type StepPayload } from './step-worker.js';

export type PoolRequest =
  | { type: 'warm'; modules: string[] }
  | { type: 'run'; id: number; payload: StepPayload };

export type PoolReply =
  /** `hashes`: SHA-256 and identity of each output the step wrote, by path (see store/written-hashes.ts). */
  | { id: number; ok: true; result: StepResult | undefined; hashes: Record<string, WrittenHash> }
  | { id: number; ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('pool-worker.js runs inside a worker thread');

port.on('message', (request: PoolRequest) => {
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
});

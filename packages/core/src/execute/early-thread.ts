/**
 * The first thread of a build's step pool, booted by bin/pipe.js before the engine is imported: a worker's runtime
 * start (tens of ms, more on a busy machine) then overlaps loading the engine, the pipeline and the plan on another
 * core, instead of delaying the first task. StepWorkerPool adopts it when it spawns its first thread.
 * bin/pipe.js loads this file by itself while the engine's bundle has its own copy: the two meet at a global,
 * registered symbol.
 */
import { Worker } from 'node:worker_threads';
import { deferredExtraCaFile } from '@pipe/cache/deferred-ca';

const KEY = Symbol.for('pipe.earlyPoolThread');

interface EarlyThread {
  entry: string;
  worker: Worker;
  /** Set when the thread died before it was adopted: it is then not handed over. */
  exited: boolean;
}

/** The pool threads' entry (StepWorkerPool's default). */
export const POOL_WORKER_ENTRY = new URL('./pool-worker.js', import.meta.url);

const slot = globalThis as unknown as Record<symbol, EarlyThread | undefined>;

/**
 * What a pool thread is started with: the NODE_EXTRA_CA_CERTS file node was started without (bin/pipe), so that the
 * steps' fetch trusts it there too (cache's deferred-ca.ts).
 */
export function poolWorkerOptions(): { workerData: { deferredExtraCa?: string } } {
  const file = deferredExtraCaFile();
  return { workerData: file ? { deferredExtraCa: file } : {} };
}

/** Boot the pool's first thread now (once); it keeps nothing alive until adopted. */
export function bootEarlyPoolThread(): void {
  if (slot[KEY]) return;
  const worker = new Worker(POOL_WORKER_ENTRY, poolWorkerOptions());
  worker.unref();
  const early: EarlyThread = { entry: POOL_WORKER_ENTRY.href, worker, exited: false };
  worker.once('exit', () => {
    early.exited = true;
  });
  // A thread that fails before it is adopted is simply not used (the pool starts its own).
  worker.once('error', () => undefined);
  slot[KEY] = early;
}

/**
 * Send the early thread a message before it is adopted (a `job`, see pool-worker.ts): false when there is none, or it
 * died. Messages wait in its port until its entry listens.
 */
export function postToEarlyPoolThread(message: unknown): boolean {
  const early = slot[KEY];
  if (!early || early.exited) return false;
  try {
    early.worker.postMessage(message);
    return true;
  } catch {
    return false;
  }
}

/** The early thread, if one was booted for `entry` and is alive (taken once). */
export function takeEarlyPoolThread(entry: URL): Worker | undefined {
  const early = slot[KEY];
  if (!early || early.exited || early.entry !== entry.href) return undefined;
  slot[KEY] = undefined;
  return early.worker;
}

/**
 * Threads a step left blocked in a file operation (step-worker's ThreadBlockedError). node's exit waits for them,
 * which may be never (a FIFO nobody writes): bin/pipe.js waits a little for them to end once the build is recorded,
 * then ends the process itself. A global, registered symbol: bin/pipe.js and the engine's bundle each have a copy.
 */
const KEY = Symbol.for('pipe.blockedThreads');
const slot = globalThis as unknown as Record<symbol, Promise<unknown>[] | undefined>;

/** `ended`: settles when the thread has exited (its worker's terminate()). */
export function noteBlockedThread(ended: Promise<unknown>): void {
  (slot[KEY] ??= []).push(ended.catch(() => undefined));
}

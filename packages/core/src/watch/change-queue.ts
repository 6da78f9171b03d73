/**
 * Debounce and coalesce file events. Editors save in bursts (write a temp file, rename it over the
 * original, touch a backup); the queue collects paths until `quietMs` pass without a new one and
 * then hands the whole set over at once. While the consumer is busy (a build is running) events
 * keep collecting; the next `next()` returns them right away if they are already quiet, so a
 * change during a build is applied right after it, and never in parallel with it.
 */

/** The clock the queue waits on (a seam: tests drive it by hand). */
export interface QueueTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: QueueTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class ChangeQueue {
  private pending = new Set<string>();
  private timer: unknown;
  private quiet = false;
  private waiter: ((paths: string[] | undefined) => void) | undefined;
  private closed = false;

  constructor(
    private readonly quietMs: number,
    private readonly timers: QueueTimers = realTimers,
  ) {}

  /** Record a changed path; restarts the quiet period. */
  push(file: string): void {
    if (this.closed) return;
    this.pending.add(file);
    this.quiet = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.quiet = true;
      this.flush();
    }, this.quietMs);
  }

  /** The next batch of changed paths (sorted), once quiet; undefined after `close()`. */
  next(): Promise<string[] | undefined> {
    if (this.waiter) throw new Error('ChangeQueue.next() called while another call is waiting');
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.flush();
    });
  }

  /** Number of paths collected and not yet handed over. */
  get size(): number {
    return this.pending.size;
  }

  /** Stop: a waiting `next()` resolves with undefined. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(undefined);
  }

  private flush(): void {
    if (this.closed || !this.waiter || !this.quiet || this.pending.size === 0) return;
    const batch = [...this.pending].sort();
    this.pending = new Set();
    this.quiet = false;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter(batch);
  }
}

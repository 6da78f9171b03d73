/**
 * `resources.retries` for the executors that run one task per submit (the local pool and the process executor;
 * Slurm resubmits by itself, see slurm/executor.ts): a failed attempt — one that also ended without writing every
 * output — runs again, up to `retries` more times. Each attempt starts from empty temporary outputs, so nothing a
 * failed attempt wrote can be published. A cancel (Ctrl-C) is never retried.
 */
import { statSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  type ExecEvent,
  type ExecFailure,
  type ExecOutcome,
  type ExecRequest,
  type Executor,
  renderFailure,
} from './executor.js';

/** Whether another attempt may mend a failure: not a cancel, nor an executor that cannot run the task at all. */
function retryable(f: ExecFailure): boolean {
  return f.type !== 'cancelled' && f.type !== 'executor-error';
}

/** The first output an attempt that succeeded did not write (the engine would refuse to store its result). */
function unwritten(req: ExecRequest): ExecFailure | undefined {
  for (const [name, temp] of Object.entries(req.outputs))
    if (!statSync(temp, { throwIfNoEntry: false })?.isFile())
      return {
        type: 'output-not-written',
        output: name,
        path: path.relative(req.cwd, req.finalOutputs?.[name] ?? temp),
      };
  return undefined;
}

/** Runs `req` on `executor` until an attempt succeeds or the retries are spent; the outcome says how many it took. */
export async function submitWithRetries(
  executor: Executor,
  req: ExecRequest,
  options: {
    signal: AbortSignal;
    /** The executor's events other than `ended` (one `started` per attempt). */
    onEvent: (event: ExecEvent) => void;
    /** Asked before attempt `next` (of `of`), after `failed`: false ends the task with that failure. */
    again: (next: number, of: number, failed: ExecFailure) => boolean;
  },
): Promise<ExecOutcome> {
  const attempts = 1 + (req.resources.retries ?? 0);
  for (let attempt = 1; ; attempt++) {
    let outcome = {
      ok: false,
      failure: { type: 'executor-error', message: 'no outcome reported' },
    } as ExecOutcome;
    try {
      await executor.submit(
        [req],
        (e) => {
          if (e.type === 'ended') outcome = e.outcome;
          else options.onEvent(e);
        },
        options.signal,
      );
    } catch (error) {
      outcome = { ok: false, failure: { type: 'executor-error', message: (error as Error).message } };
    }
    // After the last attempt a missing output is left to the engine, which says why it may be missing.
    const failure = outcome.ok ? (attempt < attempts ? unwritten(req) : undefined) : outcome.failure;
    const done =
      !failure ||
      attempt >= attempts ||
      options.signal.aborted ||
      !retryable(failure) ||
      !options.again(attempt + 1, attempts, failure);
    if (done) return attempt > 1 ? { ...outcome, attempts: attempt } : outcome;
    await Promise.all(Object.values(req.outputs).map((p) => rm(p, { recursive: true, force: true })));
    // The attempts share the task's log: mark where the next one starts, and why the last one failed.
    await appendFile(
      req.logFile,
      attemptMarker(attempt, `${attempt} of ${attempts}`, renderFailure(failure)),
    ).catch(() => undefined);
  }
}

/**
 * The line between two attempts' output in a task's log: which attempt ended (`label`: '2 of 3', '2 (Slurm job
 * 41)'), why, and that the next one follows.
 */
export function attemptMarker(attempt: number, label: string, why: string): string {
  return `\n--- pipe: attempt ${label}: ${why}; attempt ${attempt + 1} follows ---\n`;
}

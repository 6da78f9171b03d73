/**
 * `pipe clean`: a target's products taken out of the workspace, where a build can have them back at once. An output
 * goes when its bytes are those pipe recorded and the cache holds them (retire.ts's terms: nothing is lost); one
 * edited since, or one the cache does not hold, stays and is named. The tasks keep their records: the next build
 * finds their outputs missing and restores them from the cache, and `pipe why` still tells how they were made.
 * A path another target declares, or that is read as a raw input, is never touched.
 */
import type { DepartedTask } from '../plan/planner.js';
import { targetOfTaskId } from '../state/state-file.js';
import { acquireLock, type LockOwner } from '../workspace/lock.js';
import { newBuildId } from './records.js';
import { cacheHolds, type RetireContext, retireEach, taskIdOrder } from './retire.js';
import type { Session } from './session.js';

export type CleanResult =
  /** Per task: the outputs removed (or with `dryRun`, that would be), and those left in place. */
  | { ok: true; tasks: DepartedTask[] }
  | { ok: false; reason: 'locked'; owner: LockOwner }
  | { ok: false; reason: 'unwritable'; message: string };

export async function cleanTargets(
  session: Session,
  targets: ReadonlySet<string>,
  options: { dryRun?: boolean } = {},
): Promise<CleanResult> {
  const ids = [...session.state.tasks.keys()]
    .filter((id) => targets.has(targetOfTaskId(id)))
    .sort(taskIdOrder);
  const ctx: RetireContext = {
    state: session.state,
    pipeline: session.pipeline,
    io: session.io,
    keepRecords: true,
    // A removal rests on the cache's copy, re-hashed (as a build's retiring does); a preview asks.
    hasBlob: cacheHolds(session.cache, !options.dryRun),
    ...(options.dryRun ? { dryRun: true } : {}),
  };
  if (options.dryRun) return { ok: true, tasks: await retireEach(ids, [], ctx) };
  // Not while a build runs: it may be writing the very products, or restoring them.
  let taken: Awaited<ReturnType<typeof acquireLock>>;
  try {
    taken = await acquireLock(session.layout.lockFile, { buildId: `clean-${newBuildId()}`, waitMs: 0 });
  } catch (error) {
    return { ok: false, reason: 'unwritable', message: (error as Error).message };
  }
  if (!taken.ok) return { ok: false, reason: 'locked', owner: taken.owner };
  try {
    return { ok: true, tasks: await retireEach(ids, [], ctx) };
  } finally {
    taken.lock.release();
  }
}

/**
 * What a Slurm job state means for a task: still waiting, running, or ended — and if ended, how.
 * The mapping is one table so that every state Slurm can report is decided in one place.
 */
import type { JobRecord } from './parse.js';

/** How a job (or array element) ended, as far as Slurm knows. Success still needs a valid result file. */
export type SlurmEnd =
  | { kind: 'completed' }
  | { kind: 'failed'; exitCode: number; signal: number }
  | { kind: 'cancelled'; reason?: string }
  | { kind: 'timeout' }
  | { kind: 'out-of-memory' }
  | { kind: 'node-fail' }
  | { kind: 'preempted' }
  | { kind: 'other'; state: string; reason?: string };

export type JobPhase =
  | { phase: 'pending'; reason?: string }
  | { phase: 'running' }
  /** Pending on an afterok dependency that can no longer be met (an upstream job failed). */
  | { phase: 'dependency-never-satisfied' }
  | { phase: 'ended'; end: SlurmEnd };

const WAITING = new Set([
  'PENDING',
  'CONFIGURING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
]);
/** COMPLETING is not an end: the job's processes may have finished, but the node has not confirmed. */
const ACTIVE = new Set([
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
]);

/** Decides the phase of one record. */
export function classifyJob(rec: JobRecord): JobPhase {
  const state = rec.state.toUpperCase();
  const neverSatisfied = rec.reason === 'DependencyNeverSatisfied';
  if (WAITING.has(state)) {
    if (neverSatisfied) return { phase: 'dependency-never-satisfied' };
    return rec.reason ? { phase: 'pending', reason: rec.reason } : { phase: 'pending' };
  }
  if (ACTIVE.has(state)) return { phase: 'running' };
  switch (state) {
    case 'COMPLETED':
      return { phase: 'ended', end: { kind: 'completed' } };
    case 'FAILED':
    case 'BOOT_FAIL':
    case 'DEADLINE':
    case 'SPECIAL_EXIT':
      return {
        phase: 'ended',
        end: { kind: 'failed', exitCode: rec.exitCode ?? 0, signal: rec.signal ?? 0 },
      };
    case 'CANCELLED':
      // kill_invalid_depend cancels the dependents of a failed job: that is an upstream failure, not a cancel.
      if (neverSatisfied) return { phase: 'dependency-never-satisfied' };
      return {
        phase: 'ended',
        end: rec.reason ? { kind: 'cancelled', reason: rec.reason } : { kind: 'cancelled' },
      };
    case 'TIMEOUT':
      return { phase: 'ended', end: { kind: 'timeout' } };
    case 'OUT_OF_MEMORY':
      return { phase: 'ended', end: { kind: 'out-of-memory' } };
    case 'NODE_FAIL':
      return { phase: 'ended', end: { kind: 'node-fail' } };
    case 'PREEMPTED':
      return { phase: 'ended', end: { kind: 'preempted' } };
    default:
      return {
        phase: 'ended',
        end: rec.reason ? { kind: 'other', state, reason: rec.reason } : { kind: 'other', state },
      };
  }
}

/** A record's key as the executor tracks jobs: `<id>` for a plain job, `<arrayId>_<index>` for an element. */
export function elementKey(jobId: string, index?: number): string {
  return index === undefined ? jobId : `${jobId}_${index}`;
}

/**
 * Indexes records by element key. An array's master record stands for every index still pending in it;
 * an element that has started has its own record (whose job id differs from the array id).
 */
export function indexRecords(records: Iterable<JobRecord>): Map<string, JobRecord> {
  const out = new Map<string, JobRecord>();
  for (const rec of records) {
    if (rec.arrayJobId && rec.pendingIndices) {
      for (const i of rec.pendingIndices) {
        const key = elementKey(rec.arrayJobId, i);
        if (!out.has(key)) out.set(key, rec);
      }
    } else if (rec.arrayJobId && rec.arrayTaskId !== undefined) {
      out.set(elementKey(rec.arrayJobId, rec.arrayTaskId), rec);
    } else {
      out.set(rec.jobId, rec);
    }
  }
  return out;
}

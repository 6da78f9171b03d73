/**
 * A build's Slurm jobs seen from another process: `pipe status` reads the build's job table and asks
 * Slurm for the live state of each job; `pipe cancel` stops the build's driver (the attached or detached
 * `pipe build` process, which cancels its own jobs and records the build as interrupted) and scancels
 * every job named after the build, in case the driver is gone or on another host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { markInterrupted } from '../builds/records.js';
import { ownerRuns } from '../workspace/lock.js';
import type { SlurmClient } from './client.js';
import { SlurmExecutor } from './executor.js';
import { type JobTableEntry, readJobTable, SETTLED_STATES } from './job-table.js';
import { classifyJob } from './state.js';
import { clearUnconfirmed, markUnconfirmed, type UnconfirmedJobs } from './unconfirmed-jobs.js';

/** Where a build keeps its Slurm files (job scripts, specs, results, logs, the job table). */
export function slurmWorkDir(pipeDir: string, buildId: string): string {
  return join(pipeDir, 'slurm', buildId);
}

export interface LiveTask extends JobTableEntry {
  taskId: string;
  /** Slurm's state of the job now (PENDING, RUNNING, COMPLETED...), when Slurm still knows it. */
  slurmState?: string;
  reason?: string;
}

export type LiveJobs =
  | { ok: true; tasks: LiveTask[]; error?: string }
  | { ok: false; reason: 'no-job-table' };

/** The tasks of a build's job table with their live Slurm states (tasks sorted by id). */
export async function liveBuildJobs(workDir: string, client: SlurmClient): Promise<LiveJobs> {
  const table = readJobTable(workDir);
  if (!table) return { ok: false, reason: 'no-job-table' };
  const entries = Object.entries(table.tasks).sort(([a], [b]) => a.localeCompare(b));
  const open = entries.filter(([, e]) => !SETTLED_STATES.has(e.state) && e.job);
  const q = await client.jobRecords(open.map(([, e]) => e.job));
  const tasks = entries.map(([taskId, e]): LiveTask => {
    const rec = SETTLED_STATES.has(e.state) ? undefined : q.records.get(e.job);
    if (!rec) return { taskId, ...e };
    const phase = classifyJob(rec);
    const state = phase.phase === 'pending' ? 'PENDING' : rec.state.toUpperCase();
    return {
      taskId,
      ...e,
      slurmState: state,
      ...(rec.reason && rec.reason !== 'None' ? { reason: rec.reason } : {}),
    };
  });
  return q.error ? { ok: true, tasks, error: q.error } : { ok: true, tasks };
}

export interface CancelResult {
  /** The driver process that was sent SIGTERM (same host only). */
  signalledPid?: number;
  /** Job ids scancel was given. */
  jobs: string[];
  /** Its record said running with no driver left: it now says interrupted. */
  recordedInterrupted?: boolean;
  /** Slurm could not list or cancel the build's jobs: they may still run. */
  unconfirmed?: UnconfirmedJobs;
}

/** Stops a build: SIGTERM to its driver if it runs on this host, then scancel of every job of the build. */
export async function cancelBuildJobs(options: {
  buildId: string;
  lockFile: string;
  client: SlurmClient;
  /** With it, a build whose driver is gone (its record still says running) is recorded as interrupted. */
  buildsDir?: string;
  /** The workspace's `.pipe`: whether the build used Slurm, and where its jobs are marked when Slurm cannot answer. */
  pipeDir?: string;
}): Promise<CancelResult> {
  const result: CancelResult = { jobs: [] };
  let driverElsewhere = false;
  try {
    const owner = JSON.parse(readFileSync(options.lockFile, 'utf8')) as {
      pid?: number;
      host?: string;
      buildId?: string;
      procStart?: string;
      bootId?: string;
    };
    if (owner.buildId === options.buildId && owner.host === hostname() && typeof owner.pid === 'number') {
      // A driver that died just now may still be a zombie: signalling it stops nothing, and the record would stay
      // "running". Gone, it is recorded as interrupted below.
      if (ownerRuns({ pid: owner.pid, procStart: owner.procStart, bootId: owner.bootId })) {
        process.kill(owner.pid, 'SIGTERM');
        result.signalledPid = owner.pid;
      }
    } else if (owner.buildId === options.buildId) driverElsewhere = true;
  } catch {
    // No lock (the build is over) or its owner is gone: only the jobs remain to cancel.
  }
  const workDir = options.pipeDir ? slurmWorkDir(options.pipeDir, options.buildId) : undefined;
  // A build that submitted nothing (no Slurm folder) has no jobs to ask Slurm about.
  if (workDir === undefined || existsSync(workDir))
    try {
      result.jobs = await SlurmExecutor.cancelBuild(options.client, options.buildId);
      if (workDir) clearUnconfirmed(workDir);
    } catch (error) {
      // Slurm could not list or cancel them: they may run on; every build tries again until it can (unconfirmed-jobs.ts).
      result.unconfirmed = { buildId: options.buildId, jobs: [], reason: (error as Error).message };
      if (workDir) markUnconfirmed(workDir, result.unconfirmed);
    }
  // No driver will record the end (it was killed, or its host lost it): the record says so now.
  if (options.buildsDir && result.signalledPid === undefined && !driverElsewhere) {
    result.recordedInterrupted = await markInterrupted(options.buildsDir, options.buildId);
  }
  return result;
}

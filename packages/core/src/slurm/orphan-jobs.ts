/**
 * The Slurm jobs a build left when its driver died (kill -9, a lost login node): the build that takes over the
 * workspace's lock cancels them and waits until Slurm has ended them. Left running, such a job would publish its
 * old outputs under their final names while the new build reads them (a stale product, cached under a new key).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readBuildRecord } from '../builds/records.js';
import { slurmWorkDir } from './build-jobs.js';
import { SlurmClient } from './client.js';
import { SlurmExecutor } from './executor.js';
import { dropAllKeptResults, type JobsEnded, keepLeftResults } from './left-results.js';
import { classifyJob } from './state.js';
import { isJobOfBuild } from './submission.js';
import { clearUnconfirmed, markUnconfirmed, unconfirmedBuilds, unconfirmedText } from './unconfirmed-jobs.js';
import { endAllowsSuccess } from './validate.js';

export interface StoppedJobs {
  /** Job ids (array ids for arrays) that were cancelled. */
  cancelled: string[];
  /** Still listed by squeue when the wait ended (Slurm could not kill them in time). */
  stillListed: string[];
}

/**
 * Cancel every live job named after `buildId`, then poll until squeue no longer lists them (a killed job stays
 * COMPLETING until slurmd has ended its processes), at most `waitMs`. The caller knows the build used Slurm.
 */
export async function stopOrphanJobs(
  buildId: string,
  options: { client?: SlurmClient; waitMs?: number } = {},
): Promise<StoppedJobs> {
  const client = options.client ?? new SlurmClient();
  const cancelled = await SlurmExecutor.cancelBuild(client, buildId);
  if (cancelled.length === 0) return { cancelled, stillListed: [] };
  const ofBuild = (name: string) => isJobOfBuild(name, buildId);
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 2000)) {
    const left = await client.jobsNamed(ofBuild);
    if (left.length === 0 || Date.now() > deadline) return { cancelled, stillListed: left };
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * The tasks a dead build's record says it saw end (its record completed from its journal by the takeover). Not those
 * it reads as cancelled or not started: markInterrupted lists so every task the build planned or started and did not
 * see end, the very tasks whose jobs may have ended well after it.
 */
export function recordedTasks(pipeDir: string, buildId: string): Set<string> {
  const read = readBuildRecord(join(pipeDir, 'builds'), buildId);
  if (!read.ok) return new Set();
  return new Set(
    Object.entries(read.record.tasks)
      .filter(([, t]) => t.state !== 'cancelled' && t.state !== 'not-started')
      .map(([id]) => id),
  );
}

/**
 * How Slurm says the jobs ended, by the job table's ids (`<job>` or `<array>_<index>`): 'ok' for COMPLETED (or, for
 * an element of several tasks, the exit that means some of them failed but every result was written).
 */
function slurmVerdicts(client: SlurmClient): JobsEnded {
  return async (jobs) => {
    const { records } = await client.jobRecords(jobs);
    const out = new Map<string, 'ok' | 'not-ok' | 'unknown'>();
    for (const job of jobs) {
      const rec = records.get(job);
      const phase = rec ? classifyJob(rec) : undefined;
      out.set(
        job,
        !phase ? 'unknown' : phase.phase === 'ended' && endAllowsSuccess(phase.end, 2) ? 'ok' : 'not-ok',
      );
    }
    return out;
  };
}

/** How long a build waits for Slurm when it retries the cancel of jobs an earlier build could not confirm ended. */
const MARK_RETRY_TIMEOUT_MS = 5000;

/** What a build learnt of the jobs earlier builds left, for its notes; `replan` when they may have written since. */
export interface LeftJobs {
  notes: string[];
  replan: boolean;
  /** The dead build whose jobs' results were kept for this build to take (left-results.ts): dropped at its end. */
  keptFrom?: string;
}

/**
 * At a build's start, under its lock: the jobs of the dead build whose lock it took over (`tookOver`), cancelled and
 * waited for; then those of earlier builds that Slurm could not confirm ended (unconfirmed-jobs.ts), asked again with a
 * short timeout (a controller that is down must not hold every build, local ones too, for a minute). Jobs that still
 * cannot be confirmed are marked and said. `pipeDir` is the workspace's `.pipe`.
 */
export async function settleLeftJobs(
  pipeDir: string,
  tookOver: string | undefined,
  /** The run folder of temporary outputs, which the build clears next: kept results are moved out of it first. */
  runTmp: string,
): Promise<LeftJobs> {
  const left: LeftJobs = { notes: [], replan: false };
  const unconfirmed = (buildId: string, error: unknown) => {
    // Some may have been cancelled before the error (a failed poll after scancel): plan again to be safe.
    left.replan = true;
    return { buildId, jobs: [], reason: error instanceof Error ? error.message : String(error) };
  };
  // What a takeover build that died too had kept is not for this one (nor any later build): its own folder goes.
  if (tookOver !== undefined) dropAllKeptResults(pipeDir);
  if (tookOver !== undefined && existsSync(slurmWorkDir(pipeDir, tookOver))) {
    try {
      const jobs = await stopOrphanJobs(tookOver);
      if (jobs.cancelled.length > 0) {
        left.replan = true;
        left.notes.push(
          `cancelled ${jobs.cancelled.length} Slurm job${jobs.cancelled.length === 1 ? '' : 's'} that build ${tookOver} left (${jobs.cancelled.join(', ')})` +
            (jobs.stillListed.length > 0
              ? `; still listed by squeue: ${jobs.stillListed.join(', ')} — their outputs may yet change`
              : ''),
        );
      }
      // Its jobs are all ended now: those that ended well left results that no build stored.
      if (jobs.stillListed.length === 0) {
        left.keptFrom = tookOver; // what is kept goes with this build, whatever happens next
        const kept = await keepLeftResults(
          pipeDir,
          tookOver,
          runTmp,
          recordedTasks(pipeDir, tookOver),
          slurmVerdicts(new SlurmClient()),
        ).catch((error: Error) => {
          left.notes.push(
            `the results of the Slurm jobs build ${tookOver} left could not be kept (${error.message}): their tasks run again`,
          );
          return { kept: 0, unknown: 0 };
        });
        if (kept.kept > 0)
          left.notes.push(
            `${kept.kept} Slurm job${kept.kept === 1 ? '' : 's'} of build ${tookOver} ended well after its driver did: ${kept.kept === 1 ? 'its result is' : 'their results are'} kept for this build, whose tasks of the same key on Slurm take them instead of new jobs (what it does not take is removed at its end)`,
          );
        if (kept.unknown > 0)
          left.notes.push(
            `${kept.unknown} result${kept.unknown === 1 ? '' : 's'} the Slurm jobs of build ${tookOver} left ${kept.unknown === 1 ? 'is' : 'are'} not kept: Slurm no longer says how ${kept.unknown === 1 ? 'its job' : 'their jobs'} ended (squeue, scontrol, the jobcomp log and sacct were asked); ${kept.unknown === 1 ? 'its task runs' : 'their tasks run'} again`,
          );
      }
    } catch (error) {
      // Not known to be ended: marked (tried again by every build until Slurm answers) and said.
      const mark = unconfirmed(tookOver, error);
      markUnconfirmed(slurmWorkDir(pipeDir, tookOver), mark);
      left.notes.push(unconfirmedText(mark));
    }
  }
  for (const mark of unconfirmedBuilds(join(pipeDir, 'slurm'))) {
    if (mark.buildId === tookOver) continue; // marked just now, and said above
    try {
      const jobs = await stopOrphanJobs(mark.buildId, {
        client: new SlurmClient({ timeoutMs: MARK_RETRY_TIMEOUT_MS }),
      });
      clearUnconfirmed(mark.workDir);
      if (jobs.cancelled.length > 0) left.replan = true;
      left.notes.push(
        `the Slurm jobs of build ${mark.buildId} that could not be cancelled before are ended now${jobs.cancelled.length > 0 ? ` (cancelled ${jobs.cancelled.join(', ')})` : ''}`,
      );
    } catch (error) {
      left.notes.push(unconfirmedText({ ...mark, reason: unconfirmed(mark.buildId, error).reason }));
    }
  }
  return left;
}

/**
 * The Slurm jobs a build left when its driver died (kill -9, a lost login node): the build that takes over the
 * workspace's lock cancels them and waits until Slurm has ended them. Left running, such a job would publish its
 * old outputs under their final names while the new build reads them (a stale product, cached under a new key).
 */
import { SlurmClient } from './client.js';
import { SlurmExecutor } from './executor.js';
import { jobNamePrefix } from './submission.js';

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
  const prefix = jobNamePrefix(buildId);
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 2000)) {
    const left = await client.jobsNamed(prefix);
    if (left.length === 0 || Date.now() > deadline) return { cancelled, stillListed: left };
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * Slurm jobs of a build that pipe could not see ended: scancel or squeue failed (a controller restarting, a shell
 * without SLURM_CONF) while the build was cancelled, or when a later build took over a dead build's lock. Such a job
 * may still run and publish its outputs under their final names, over a newer build's products. The mark
 * (`jobs-unconfirmed.json` in the build's Slurm folder) makes every later build in the workspace try again to
 * cancel them, and say so until it could; `pipe cancel <build>` clears it once Slurm confirms.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../workspace/atomic.js';

const MARK = 'jobs-unconfirmed.json';

export interface UnconfirmedJobs {
  buildId: string;
  /** Job ids pipe tried to cancel (empty when squeue could not even list them). */
  jobs: string[];
  /** What failed (scancel's or squeue's message). */
  reason: string;
}

/** Mark the jobs of the build whose Slurm folder is `workDir` as possibly still running. */
export function markUnconfirmed(workDir: string, mark: UnconfirmedJobs): void {
  try {
    writeFileAtomicSync(join(workDir, MARK), `${JSON.stringify(mark)}\n`);
  } catch {
    // The folder is gone (the workspace cleaned): nothing would read the mark.
  }
}

/** Slurm confirmed them ended (or cancelled). */
export function clearUnconfirmed(workDir: string): void {
  rmSync(join(workDir, MARK), { force: true });
}

/**
 * Whether a build under `slurmRoot` (`.pipe/slurm`) is marked: one readdir, when the workspace used Slurm at all.
 * (The no-op fast path, which loads no engine, has its copy: cli fast-path/entry.ts.)
 */
export function hasUnconfirmedJobs(slurmRoot: string): boolean {
  return existsSync(slurmRoot) && readdirSync(slurmRoot).some((b) => existsSync(join(slurmRoot, b, MARK)));
}

/** The marks under `slurmRoot` (`.pipe/slurm`), one per build. */
export function unconfirmedBuilds(slurmRoot: string): Array<UnconfirmedJobs & { workDir: string }> {
  if (!existsSync(slurmRoot)) return [];
  const marks: Array<UnconfirmedJobs & { workDir: string }> = [];
  for (const buildId of readdirSync(slurmRoot)) {
    const workDir = join(slurmRoot, buildId);
    try {
      const mark = JSON.parse(readFileSync(join(workDir, MARK), 'utf8')) as Partial<UnconfirmedJobs>;
      marks.push({
        buildId,
        jobs: Array.isArray(mark.jobs) ? mark.jobs.map(String) : [],
        reason: String(mark.reason ?? 'unknown'),
        workDir,
      });
    } catch {
      // No mark (the common case), or one cut short: a build without a readable mark is not waited for.
    }
  }
  return marks;
}

/** What to tell the user about such jobs. */
export function unconfirmedText(mark: UnconfirmedJobs): string {
  const jobs = mark.jobs.length > 0 ? ` (${mark.jobs.join(', ')})` : '';
  return `the Slurm jobs of build ${mark.buildId}${jobs} could not be confirmed ended: ${mark.reason}; they may still run and overwrite products with their outputs: \`pipe cancel ${mark.buildId}\` once Slurm answers (every build tries again meanwhile)`;
}

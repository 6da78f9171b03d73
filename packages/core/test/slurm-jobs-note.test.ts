// `pipe build -j 8 --executor slurm`: -j counts the tasks this machine runs, and every Slurm task is submitted at
// once it can run. A Snakemake user's --jobs caps the jobs kept on the cluster: pipe says what -j does not do, and what does.
import { describe, expect, it } from 'vitest';
import { jobsOnSlurmNote } from '../src/slurm/build-setup.js';

describe('-j with targets on Slurm', () => {
  it('is said not to limit Slurm jobs, naming what does', () => {
    expect(jobsOnSlurmNote(8, ['calib', 'report'])).toBe(
      "-j 8 limits the tasks run on this machine, not the jobs submitted to Slurm: --array-throttle N (or a target's resources.array_throttle) lets at most N elements of a job array run at once",
    );
  });

  it('says nothing without -j, or with no target on Slurm', () => {
    expect(jobsOnSlurmNote(undefined, ['calib'])).toBeUndefined();
    expect(jobsOnSlurmNote(8, [])).toBeUndefined();
  });
});

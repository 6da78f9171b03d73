/**
 * What a build needs before it talks to Slurm: which targets go there (a target's `executor:`, else the
 * pipeline's `defaults.executor`), whether their resources are valid sbatch requests (checked before
 * anything is submitted, with the target's name), and the executor factory for buildSession.
 */
import type { Executor } from '../execute/executor.js';
import type { Pipeline } from '../model/types.js';
import { resourcesForAttempt } from './resources.js';

/** The targets among `targets` that run on Slurm. */
export function slurmTargets(pipeline: Pipeline, targets: Iterable<string>): string[] {
  const out: string[] = [];
  for (const name of new Set(targets)) {
    const t = pipeline.targets.get(name);
    if (t && (t.executor ?? pipeline.defaults.executor) === 'slurm') out.push(name);
  }
  return out.sort();
}

/** One message per Slurm target whose resources (defaults merged) are not a valid request. */
export function checkSlurmResources(pipeline: Pipeline, targets: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const name of slurmTargets(pipeline, targets)) {
    const t = pipeline.targets.get(name)!;
    const res = resourcesForAttempt({ ...pipeline.defaults.resources, ...t.resources });
    if (!res.ok) problems.push(`target '${name}': ${res.message}`);
  }
  return problems;
}

/**
 * What `-j N` does not do under Slurm, said when it was given for a build with targets on Slurm (`--jobs` caps the
 * jobs a Snakemake build keeps on a cluster): it counts the tasks this machine runs.
 */
export function jobsOnSlurmNote(jobs: number | undefined, onSlurm: readonly string[]): string | undefined {
  if (jobs === undefined || onSlurm.length === 0) return undefined;
  return `-j ${jobs} limits the tasks run on this machine, not the jobs submitted to Slurm: --array-throttle N (or a target's resources.array_throttle) lets at most N elements of a job array run at once`;
}

export interface SlurmSetup {
  /** The workspace's `.pipe` directory (a file system the compute nodes share). */
  pipeDir: string;
  /** Working directory of the tasks (the workspace root). */
  cwd: string;
  /** At most this many elements of one array run at once. */
  arrayThrottle?: number;
  /** Tasks per array element. */
  tasksPerJob?: number;
  /** slurm.conf (default: SLURM_CONF of the environment). */
  slurmConf?: string;
}

/**
 * A factory for buildSession's `executors`: a Slurm executor named after the build, and the list to close.
 * The Slurm executor (and its result schema, zod) is imported here, only by builds that use Slurm.
 */
export async function slurmExecutorFactory(
  setup: SlurmSetup,
): Promise<{ executors: (buildId: string) => Record<string, Executor>; created: Executor[] }> {
  const [{ slurmWorkDir }, { SlurmEngineExecutor }] = await Promise.all([
    import('./build-jobs.js'),
    import('./engine-adapter.js'),
  ]);
  const created: Executor[] = [];
  return {
    created,
    executors: (buildId) => {
      const slurm = new SlurmEngineExecutor({
        buildId,
        workDir: slurmWorkDir(setup.pipeDir, buildId),
        cwd: setup.cwd,
        ...(setup.arrayThrottle ? { arrayThrottle: setup.arrayThrottle } : {}),
        ...(setup.tasksPerJob ? { tasksPerJob: setup.tasksPerJob } : {}),
        ...(setup.slurmConf ? { slurmConf: setup.slurmConf } : {}),
        pollMinMs: 250,
        pollMaxMs: 3000,
      });
      created.push(slurm);
      return { slurm };
    },
  };
}

/** The `made in build …` line of a restored product (`pipe why`, `pipe status`). */
import { type MadeIn, madeInOf } from '@pipe/core';

/** Where a cached product was made, from its cache entry's provenance: the build, executor, job, host and end. */
export function madeInLine(provenance: Record<string, unknown>): string | undefined {
  const made = madeInOf(provenance);
  return made ? madeInText(made) : undefined;
}

/** `made in build B (Slurm job J on node, kernels wasm, ended T)`. */
export function madeInText(made: MadeIn): string {
  const { executor, jobId: job, host, end, kernelBackend } = made;
  const ran = job
    ? executor === 'slurm'
      ? `Slurm job ${job}`
      : `${executor ?? ''} job ${job}`.trim()
    : executor;
  const where = [ran, host ? `on ${host}` : undefined].filter(Boolean).join(' ');
  const details = [
    where,
    kernelBackend ? `kernels ${kernelBackend}` : undefined,
    end ? `ended ${end}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  return `made in build ${made.build}${details ? ` (${details})` : ''}`;
}

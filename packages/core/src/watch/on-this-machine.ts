/**
 * `pipe watch` runs every task on this machine: it drives the worker pool and the process executor, not Slurm
 * (a rebuild per edit in about a second is what it is for). A pipeline whose `defaults.executor` or a target's
 * `executor:` says `slurm` would otherwise fail every such task with "no 'slurm' executor is configured".
 */
import type { Pipeline } from '../model/types.js';
import { slurmTargets } from '../slurm/build-setup.js';

/**
 * The pipeline with Slurm targets run here, and the names of those among `built` (the targets this watch builds)
 * that said `slurm` (sorted).
 */
export function onThisMachine(
  pipeline: Pipeline,
  built: ReadonlySet<string>,
): { pipeline: Pipeline; moved: string[] } {
  const moved = slurmTargets(pipeline, built);
  const own = [...pipeline.targets].filter(([, t]) => t.executor === 'slurm');
  if (own.length === 0 && pipeline.defaults.executor !== 'slurm') return { pipeline, moved };
  const targets = new Map(pipeline.targets);
  for (const [name, t] of own) targets.set(name, { ...t, executor: 'local' });
  const defaults =
    pipeline.defaults.executor === 'slurm'
      ? { ...pipeline.defaults, executor: 'local' as const }
      : pipeline.defaults;
  return { pipeline: { ...pipeline, targets, defaults }, moved };
}

/** The note that says so, once per watch (and again if the list changes). */
export function onThisMachineNote(moved: string[]): string {
  const names =
    moved.length <= 5 ? moved.join(', ') : `${moved.slice(0, 5).join(', ')} and ${moved.length - 5} more`;
  return `pipe watch runs every task on this machine: ${names} ${moved.length === 1 ? 'runs' : 'run'} here, not on Slurm (pipe build submits ${moved.length === 1 ? 'it' : 'them'})`;
}

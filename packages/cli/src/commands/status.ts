/** `pipe status [build]`: one build's tasks and their states (default: the last build). */
import { existsSync } from 'node:fs';
import { buildIsLive, type LiveJobs, liveBuildJobs, SlurmClient, slurmWorkDir } from '@pipe/core';
import type { GlobalOptions } from '../context.js';
import { countsText } from '../counts-text.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { liveJobLines, statusTaskLines } from '../status-text.js';
import { shellWord } from './log.js';
import { buildRecordFromCli } from './workspace.js';

export async function statusCommand(
  id: string | undefined,
  opts: GlobalOptions & { all?: boolean },
): Promise<number> {
  const ws = buildRecordFromCli(opts, id);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  const r = ws.record;
  // A running build's Slurm jobs, as Slurm sees them now (the record only has them once the build ends).
  const live: LiveJobs | undefined =
    r.status === 'running'
      ? await liveBuildJobs(slurmWorkDir(ws.layout.dir, r.id), new SlurmClient())
      : undefined;
  const jobs = live?.ok ? live.tasks : [];
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(jobs.length > 0 ? { ...r, slurm: jobs } : r)}\n`);
    return 0;
  }
  const lines = [
    `build     ${r.id}`,
    `status    ${r.status}${r.status === 'running' && !buildIsLive(ws.layout.lockFile, r.id) ? ' (its driver is gone: killed, or its machine lost; the next build records it as interrupted)' : ''}`,
    ...(r.file ? [`file      ${r.file}`] : []),
    `targets   ${r.targets.join(' ')}`,
    // What else decided what was built, as `pipe log` writes it, and where and with what it ran.
    ...(r.config ? [`config    ${r.config}`] : []),
    ...Object.entries(r.params ?? {}).map(([k, v]) => `param     ${shellWord(`${k}=${v}`)}`),
    ...(r.usesKernels !== false ? [`kernels   ${r.kernelBackend}`] : []),
    ...(r.host || r.versions
      ? [
          `host      ${r.host ?? '?'}${r.versions ? ` (pipe ${r.versions.pipe}, node ${r.versions.node})` : ''}`,
        ]
      : []),
    `started   ${r.startedAt}${r.endedAt ? `\nended     ${r.endedAt}` : ''}`,
    `counts    ${countsText(r.counts, Object.values(r.tasks)) || '-'}`,
    '',
  ];
  if (live?.ok && live.error) lines.push(`slurm     ${live.error}`);
  lines.push(...liveJobLines(jobs, opts.all ?? false, r.tasks));
  lines.push(...statusTaskLines(r.tasks, opts.all ?? false, existsSync));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `pipe status [build]`: one build's tasks and their states (default: the last build). */
import { existsSync } from 'node:fs';
import {
  buildIsLive,
  describeReasons,
  type LiveJobs,
  liveBuildJobs,
  SlurmClient,
  slurmWorkDir,
} from '@pipe/core';
import type { GlobalOptions } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { shellWord } from './log.js';
import { madeInText } from './made-in.js';
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
    `counts    ${
      Object.entries(r.counts)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || '-'
    }`,
    '',
  ];
  if (live?.ok && live.error) lines.push(`slurm     ${live.error}`);
  for (const j of jobs) {
    const state = j.slurmState ?? j.state;
    lines.push(
      `${state.toLowerCase().padEnd(11)} ${j.taskId} (slurm job ${j.job}${j.attempt > 1 ? `, attempt ${j.attempt}` : ''}${j.reason ? `, ${j.reason}` : ''})`,
    );
    if (j.detail) lines.push(`            ${j.detail}`);
  }
  for (const [task, t] of Object.entries(r.tasks)) {
    if (t.state === 'up-to-date' && !opts.all) continue;
    const extra = [
      t.ms !== undefined ? `${t.ms} ms` : '',
      t.executor ?? '',
      t.jobId ? `job ${t.jobId}` : '',
      // As the build's own line says it (`ran x (… ms, 2 attempts)`): a retry is worth seeing afterwards too.
      t.attempts && t.attempts > 1 ? `${t.attempts} attempts` : '',
      // Its work was a job of that build, which ended after that build's driver did (slurm/left-results.ts).
      t.adoptedFrom ? `of build ${t.adoptedFrom}, taken from its result` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`${t.state.padEnd(11)} ${task}${extra ? ` (${extra})` : ''}`);
    const why = describeReasons(t.reasons);
    if (why) lines.push(`            ${why}`);
    // A restored task's products were made elsewhere (another workspace, a CI runner): where, as its entry said.
    if (t.state === 'restored' && t.madeIn) lines.push(`            ${madeInText(t.madeIn)}`);
    if (t.error) lines.push(`            ${t.error}`);
    // No log line for a task that never wrote one (a job sbatch refused), as the build's own report.
    if (t.state === 'failed' && t.log && existsSync(t.log)) lines.push(`            log: ${t.log}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * `pipe cancel [build]`: stop a build (default: the last one). Its driver — the attached or detached
 * `pipe build` process, when it runs on this host — gets SIGTERM and cancels its own jobs, recording the
 * build as interrupted; every Slurm job named after the build is also scancelled, in case the driver is
 * gone. Finished tasks keep their products and cache entries.
 */
import { cancelBuildJobs, SlurmClient, unconfirmedText } from '@pipe/core';
import type { GlobalOptions } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { buildRecordFromCli } from './workspace.js';

export async function cancelCommand(id: string | undefined, opts: GlobalOptions): Promise<number> {
  const ws = buildRecordFromCli(opts, id);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  const buildId = ws.record.id;
  const result = await cancelBuildJobs({
    buildId,
    lockFile: ws.layout.lockFile,
    buildsDir: ws.layout.buildsDir,
    pipeDir: ws.layout.dir,
    client: new SlurmClient(),
  });
  // Jobs Slurm could not list or cancel may run on: not a success.
  const code = result.unconfirmed ? 1 : 0;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ buildId, status: ws.record.status, ...result })}\n`);
    return code;
  }
  const parts = [
    result.signalledPid !== undefined ? `stopped its driver (pid ${result.signalledPid})` : '',
    result.jobs.length > 0
      ? `cancelled ${result.jobs.length} Slurm job${result.jobs.length === 1 ? '' : 's'} (${result.jobs.join(' ')})`
      : '',
    result.recordedInterrupted ? 'its driver was gone: recorded as interrupted' : '',
  ].filter(Boolean);
  if (result.unconfirmed) parts.push(`error: ${unconfirmedText(result.unconfirmed)}`);
  process.stderr.write(
    `build ${buildId} (${ws.record.status}): ${parts.join('; ') || 'nothing was running'}\n`,
  );
  return code;
}

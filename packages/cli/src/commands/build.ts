/** `pipe build <targets...>`: plan, run, cache, record. Ctrl-C stops cleanly; a second Ctrl-C exits at once. */
import { cpus } from 'node:os';
import { describeFailure } from '@pipe/cache';
import { buildSession, exportOutputs, planSession } from '@pipe/core';
import { EXIT_BUILD_FAILED, EXIT_INTERRUPTED, EXIT_OK } from '../exit-codes.js';
import { BuildOutput, outputMode } from '../output.js';
import { planToJson, planToText } from '../plan-text.js';
import { openFromCli, type SessionCliOptions } from './session.js';

export interface BuildCliOptions extends SessionCliOptions {
  jobs?: number;
  keepGoing?: boolean;
  dryRun?: boolean;
  out?: string;
  wait?: boolean | string;
}

export async function buildCommand(targets: string[], opts: BuildCliOptions): Promise<number> {
  const opened = await openFromCli(targets, opts);
  if (!opened.ok) return opened.code;
  const { session } = opened;
  if (opts.dryRun) {
    const plan = await planSession(session);
    if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
    else process.stdout.write(planToText(plan, false));
    return EXIT_OK;
  }
  const jobs = opts.jobs && opts.jobs > 0 ? opts.jobs : Math.max(1, cpus().length);
  const output = new BuildOutput(outputMode(opts.json), jobs);
  const abort = new AbortController();
  const remote = opened.remote;
  if (remote?.required) {
    const reached = await remote.remote.ping();
    if (!reached.ok) {
      process.stderr.write(`pipe: remote cache ${remote.remote.url} is required (--remote-cache-required) but fails: ${describeFailure(reached.failure)}\n`);
      return EXIT_BUILD_FAILED;
    }
    remote.onDown = () => abort.abort();
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\npipe: ${sig}: stopping (running tasks are cancelled; press Ctrl-C again to exit at once)\n`);
      abort.abort();
    } else {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const waitMs = opts.wait === undefined || opts.wait === false ? 0 : opts.wait === true ? 24 * 3600_000 : Number(opts.wait) * 1000;
    const result = await buildSession(session, {
      jobs,
      keepGoing: opts.keepGoing ?? false,
      signal: abort.signal,
      lockWaitMs: waitMs,
      params: opened.params,
      onPlan: (plan, buildId) => output.buildStart(buildId, targets, plan),
      onEvent: (e) => output.event(e),
    });
    for (const note of session.notes) process.stderr.write(`note: ${note}\n`);
    if (!result.ok) {
      process.stderr.write(
        `pipe: another build (${result.owner.buildId}, pid ${result.owner.pid} on ${result.owner.host}) is running in this workspace; ` +
          'wait for it or use --wait\n',
      );
      return EXIT_BUILD_FAILED;
    }
    output.buildEnd(result.buildId, result.status, result.reports);
    if (remote?.required && remote.failure()) return EXIT_BUILD_FAILED;
    if (result.status === 'interrupted') return EXIT_INTERRUPTED;
    if (result.status === 'failed') return EXIT_BUILD_FAILED;
    if (opts.out) {
      const tasks = [...result.plan.tasks.values()].map((p) => p.task);
      const copied = await exportOutputs(session.pipeline.root, tasks, targets, opts.out);
      if (!opts.json) process.stderr.write(`copied ${copied.length} file${copied.length === 1 ? '' : 's'} to ${opts.out}\n`);
    }
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

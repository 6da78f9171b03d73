/**
 * The Slurm executor behind the engine's Executor contract (execute/executor.ts): maps ExecRequests to
 * ExecTasks, the Slurm executor's events to ExecEvents, and its failure reasons to ExecFailures. The
 * request's `outputs` are the engine's temporary paths: the job writes under its own temporary names and
 * renames onto them, and the engine hashes, caches and publishes as for any executor.
 */
import { copyFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { ExecEvent, ExecFailure, ExecOutcome, ExecRequest, Executor } from '../execute/executor.js';
import { SlurmExecutor, type SlurmExecutorOptions } from './executor.js';
import type { ExecTask, FailureReason, TaskOutcome } from './types.js';
import { describeFailure } from './validate.js';

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]));

function toFailure(r: FailureReason): ExecFailure {
  switch (r.type) {
    case 'exit-non-zero':
      return { type: 'exit-non-zero', exitCode: r.exitCode };
    case 'killed':
      return { type: 'killed', signal: signalNames.get(r.signal) ?? `signal ${r.signal}` };
    case 'step-error':
      return { type: 'step-error', message: r.message };
    case 'cancelled':
      return { type: 'cancelled' };
    default:
      // timeout, out-of-memory, node-fail, missing/invalid result, upstream-failed, submit-rejected, ...
      return { type: 'executor-error', message: `slurm: ${describeFailure(r)}` };
  }
}

function toOutcome(o: TaskOutcome): ExecOutcome {
  const jobId = o.attempts[o.attempts.length - 1]?.job;
  if (o.status === 'failed') return { ok: false, failure: toFailure(o.reason), ...(jobId ? { jobId } : {}) };
  const r = o.result;
  return {
    ok: true,
    host: r.host,
    ...(jobId ? { jobId } : {}),
    ...(r.items ? { items: r.items } : {}),
    ...(r.metadata ? { metadata: r.metadata } : {}),
  };
}

export class SlurmEngineExecutor implements Executor {
  readonly name = 'slurm';
  readonly slurm: SlurmExecutor;

  constructor(options: SlurmExecutorOptions) {
    this.slurm = new SlurmExecutor(options);
  }

  async submit(
    batch: ExecRequest[],
    onEvent: (event: ExecEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const logs = new Map(batch.map((r) => [r.id, r.logFile]));
    const tasks: ExecTask[] = batch.map((r) => ({
      id: r.id,
      target: r.target,
      deps: r.deps,
      run:
        r.work.kind === 'command'
          ? { kind: 'command', argv: r.work.argv }
          : { kind: 'step', module: r.work.module },
      inputs: r.inputs,
      outputs: r.outputs,
      params: r.params,
      env: r.env,
      resources: r.resources,
      kernelBackend: r.kernelBackend,
      cwd: r.cwd,
      ...(r.item ? { item: r.item } : {}),
    }));
    const pending: Promise<void>[] = [];
    const handle = this.slurm.run(tasks, {
      signal,
      onEvent: (e) => {
        if (e.type === 'running') onEvent({ type: 'started', id: e.taskId, jobId: e.job });
        if (e.type !== 'finished') return;
        const o = e.outcome;
        const from = o.attempts[o.attempts.length - 1]?.logFile;
        const to = logs.get(o.taskId);
        // The job's log becomes the task's log; then the engine hears of the end.
        const copied = from && to ? copyFile(from, to).catch(() => undefined) : Promise.resolve();
        pending.push(copied.then(() => onEvent({ type: 'ended', id: o.taskId, outcome: toOutcome(o) })));
      },
    });
    await handle.done;
    await Promise.all(pending);
  }

  async close(): Promise<void> {}
}

/**
 * Deciding what an ended job means for each of its tasks. A task is done only when its job element
 * ended COMPLETED (or, for several tasks per element, the runner itself finished) AND its result file
 * exists, belongs to this build, task, attempt and Slurm job, says ok, and every output's bytes match the
 * hash it records. Everything else is a failure with a reason.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { renderFailure } from '../execute/executor.js';
import { taskResultSchema } from './result-schema.js';
import type { SlurmEnd } from './state.js';
import { EXIT_SOME_TASKS_FAILED, hashFile, type TaskResultFile } from './task-files.js';
import type { FailureReason } from './types.js';

export interface ExpectedResult {
  buildId: string;
  taskId: string;
  attempt: number;
  resultFile: string;
  /** Final output paths by name. */
  outputs: Record<string, string>;
  /** The Slurm job the result must come from: a plain job id, or an array id and index. */
  job: { jobId: string; index?: number };
}

export type ResultCheck =
  | { kind: 'ok'; result: TaskResultFile }
  | { kind: 'failed'; result: TaskResultFile }
  | { kind: 'missing' }
  | { kind: 'invalid'; detail: string };

/** How thoroughly outputs are checked: `hash` re-reads every byte, `size` trusts the job's hash. */
export type OutputCheck = 'hash' | 'size';

export async function checkResult(
  exp: ExpectedResult,
  outputCheck: OutputCheck = 'hash',
): Promise<ResultCheck> {
  let text: string;
  try {
    text = await readFile(exp.resultFile, 'utf8');
  } catch {
    return { kind: 'missing' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid', detail: `${exp.resultFile} is not JSON` };
  }
  const parsed = taskResultSchema.safeParse(json);
  if (!parsed.success)
    return { kind: 'invalid', detail: `${exp.resultFile}: ${parsed.error.issues[0]?.message}` };
  const r = parsed.data;
  if (r.buildId !== exp.buildId || r.taskId !== exp.taskId || r.attempt !== exp.attempt) {
    return { kind: 'invalid', detail: `result is for ${r.buildId}/${r.taskId}#${r.attempt}` };
  }
  const fromJob =
    exp.job.index === undefined
      ? r.slurm.jobId === exp.job.jobId
      : r.slurm.arrayJobId === exp.job.jobId && r.slurm.arrayTaskId === String(exp.job.index);
  if (!fromJob)
    return {
      kind: 'invalid',
      detail: `result was written by another Slurm job (${JSON.stringify(r.slurm)})`,
    };
  if (r.status !== 'ok') return { kind: 'failed', result: r };
  const names = Object.keys(exp.outputs).sort();
  if (JSON.stringify(Object.keys(r.outputs).sort()) !== JSON.stringify(names)) {
    return {
      kind: 'invalid',
      detail: `result lists outputs [${Object.keys(r.outputs)}], expected [${names}]`,
    };
  }
  for (const name of names) {
    const rec = r.outputs[name];
    const path = exp.outputs[name];
    if (!rec || rec.path !== path)
      return { kind: 'invalid', detail: `output '${name}' recorded at ${rec?.path}` };
    try {
      if (outputCheck === 'hash') {
        const h = await hashFile(path);
        if (h.sha256 !== rec.sha256 || h.size !== rec.size) {
          return { kind: 'invalid', detail: `output '${name}' (${path}) does not match its recorded hash` };
        }
      } else if ((await stat(path)).size !== rec.size) {
        return { kind: 'invalid', detail: `output '${name}' (${path}) does not match its recorded size` };
      }
    } catch {
      return { kind: 'invalid', detail: `output '${name}' is missing (${path})` };
    }
  }
  return { kind: 'ok', result: r };
}

/** Whether an element's end lets its tasks' ok results count (see EXIT_SOME_TASKS_FAILED). */
export function endAllowsSuccess(end: SlurmEnd, tasksInElement: number): boolean {
  if (end.kind === 'completed') return true;
  return (
    tasksInElement > 1 && end.kind === 'failed' && end.signal === 0 && end.exitCode === EXIT_SOME_TASKS_FAILED
  );
}

/**
 * The reason a task failed, from Slurm's end and what the result file says. Slurm's verdict wins when it
 * is more specific than the process's (a TIMEOUT also shows up as SIGTERM in the result).
 */
export function failureReason(end: SlurmEnd, check: ResultCheck, runKind: 'command' | 'step'): FailureReason {
  switch (end.kind) {
    case 'timeout':
      return { type: 'timeout' };
    case 'out-of-memory':
      return { type: 'out-of-memory' };
    case 'node-fail':
      return { type: 'node-fail' };
    case 'preempted':
      return { type: 'preempted' };
    case 'cancelled':
      return end.reason ? { type: 'cancelled', detail: end.reason } : { type: 'cancelled' };
    default:
      break;
  }
  if (check.kind === 'failed') {
    const r = check.result;
    if (r.signal) return { type: 'killed', signal: signalNumber(r.signal) };
    if (r.outputFailure) return { type: 'output', failure: r.outputFailure };
    if (runKind === 'step' && r.error)
      return { type: 'step-error', message: r.error, ...(r.param ? { param: r.param } : {}) };
    if (r.error && r.exitCode === 0) return { type: 'step-error', message: r.error };
    return { type: 'exit-non-zero', exitCode: r.exitCode };
  }
  switch (end.kind) {
    case 'failed':
      return end.signal
        ? { type: 'killed', signal: end.signal }
        : { type: 'exit-non-zero', exitCode: end.exitCode };
    case 'other':
      return end.reason
        ? { type: 'slurm-state', state: end.state, detail: end.reason }
        : { type: 'slurm-state', state: end.state };
    default:
      return check.kind === 'invalid'
        ? { type: 'invalid-result', detail: check.detail }
        : { type: 'missing-result' };
  }
}

function signalNumber(name: string): number {
  const table: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
    SIGUSR1: 10,
    SIGUSR2: 12,
    SIGBUS: 7,
  };
  return table[name] ?? 0;
}

/** The last `lines` lines of a job log (reads at most the last 64 KiB). */
export async function logTail(path: string, lines = 20): Promise<string[]> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      const all = buf.toString('utf8').split('\n');
      if (all[all.length - 1] === '') all.pop();
      return all.slice(-lines);
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
}

/**
 * Slurm's own line in a job log saying it killed the job for its memory: `slurmstepd: error: Job 12 exceeded memory
 * limit (2097152 > 1048576), being killed` (jobacct_gather's OverMemoryKill), `Detected 1 oom_kill event in StepId=…`
 * (cgroup). Such a job may end FAILED by SIGKILL rather than OUT_OF_MEMORY, which is what it was.
 */
const MEMORY_KILL = /slurmstepd(?:-[\w.-]+)?: error: .*(exceeded memory limit|oom[-_]kill event|OOM Killed)/i;

/** A SIGKILL that Slurm's memory enforcement sent (its line in the job log's tail): an out-of-memory end. */
export async function asMemoryKill(
  reason: FailureReason,
  logFile: string | undefined,
): Promise<FailureReason> {
  if (reason.type !== 'killed' || reason.signal !== 9 || !logFile) return reason;
  const tail = await logTail(logFile, 200);
  return tail.some((line) => MEMORY_KILL.test(line)) ? { type: 'out-of-memory' } : reason;
}

/** One line for a failure reason (for logs and reports). */
export function describeFailure(r: FailureReason): string {
  switch (r.type) {
    case 'exit-non-zero':
      return `exited with status ${r.exitCode}`;
    case 'killed':
      return `killed by signal ${r.signal}`;
    case 'step-error':
      return `step failed: ${r.message}`;
    case 'output':
      return renderFailure(r.failure);
    case 'timeout':
      return 'hit its time limit';
    case 'out-of-memory':
      return 'ran out of memory';
    case 'node-fail':
      return 'its node failed';
    case 'preempted':
      return 'was preempted';
    case 'cancelled':
      return `was cancelled${r.detail ? ` (${r.detail})` : ''}`;
    case 'slurm-state':
      return `ended in Slurm state ${r.state}${r.detail ? ` (${r.detail})` : ''}`;
    case 'missing-result':
      return 'job ended without writing a result file';
    case 'invalid-result':
      return `invalid result: ${r.detail}`;
    case 'lost':
      return 'job disappeared from Slurm';
    case 'upstream-failed':
      return `upstream task ${r.upstream} failed`;
    case 'submit-rejected':
      // No slurm.conf found (no SLURM_CONF, no configless DNS record): sbatch's own words do not say so.
      return /configuration source|fetch_config|DNS SRV/i.test(r.message)
        ? `could not submit the job: Slurm's configuration was not found (set SLURM_CONF to the cluster's slurm.conf, or run where its client is configured): ${r.message}`
        : `could not submit the job: ${r.message}`;
    case 'invalid-resources':
      return `invalid resources: ${r.message}`;
  }
}

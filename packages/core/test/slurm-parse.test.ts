// Parsing Slurm's output, state mapping, resources and grouping: pure functions, no cluster needed.
// The sample texts are verbatim shapes from slurm-wlm 22.05.8 (Debian 12).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toOutcome } from '../src/slurm/engine-adapter.js';
import {
  decodeWaitStatus,
  expandArrayIndices,
  parseParsable,
  parseSacctLines,
  parseScontrolJobLine,
  parseSqueueJson,
} from '../src/slurm/parse.js';
import {
  parseMemMb,
  parseTimeSeconds,
  resourceArgs,
  resourcesForAttempt,
  validateExtraOptions,
} from '../src/slurm/resources.js';
import { classifyJob, indexRecords } from '../src/slurm/state.js';
import {
  groupForSubmission,
  isJobOfBuild,
  jobName,
  shellQuote,
  taskLevels,
} from '../src/slurm/submission.js';
import { checkJobSpec, RESULT_VERSION } from '../src/slurm/task-files.js';
import type { ExecTask } from '../src/slurm/types.js';
import { asMemoryKill, describeFailure, endAllowsSuccess, failureReason } from '../src/slurm/validate.js';

const squeueJson = JSON.stringify({
  meta: { plugin: { type: 'openapi/v0.0.38' } },
  errors: [],
  jobs: [
    {
      job_id: 1,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
      job_state: 'FAILED',
      state_reason: 'NonZeroExitCode',
      exit_code: 768,
      name: 'wrap',
      restart_cnt: 0,
      nodes: 'vm',
    },
    {
      job_id: 5,
      array_job_id: 2,
      array_task_id: 0,
      array_task_string: '',
      job_state: 'COMPLETED',
      state_reason: 'None',
      exit_code: 0,
      name: 'arr',
      nodes: 'vm',
    },
    {
      job_id: 2,
      array_job_id: 2,
      array_task_id: null,
      array_task_string: '2-9%2',
      job_state: 'PENDING',
      state_reason: 'Resources',
      exit_code: 0,
      name: 'arr',
      nodes: '',
    },
    {
      job_id: 4,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
      job_state: 'PENDING',
      state_reason: 'DependencyNeverSatisfied',
      exit_code: 0,
      name: 'dep2',
    },
    {
      job_id: 7,
      array_job_id: 0,
      array_task_id: null,
      array_task_string: '',
      job_state: 'FAILED',
      state_reason: 'JobLaunchFailure',
      exit_code: 11,
      name: 'segv',
    },
  ],
});

describe('parsing Slurm output', () => {
  it('reads sbatch --parsable with and without a cluster', () => {
    expect(parseParsable('17\n')).toEqual({ jobId: '17' });
    expect(parseParsable('17;pipeci\n')).toEqual({ jobId: '17', cluster: 'pipeci' });
    expect(parseParsable('sbatch: error: Batch job submission failed')).toBeUndefined();
  });

  it('decodes squeue --json exit codes as raw wait statuses', () => {
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3, signal: 0 });
    expect(decodeWaitStatus(11)).toEqual({ exitCode: 0, signal: 11 });
    const recs = parseSqueueJson(squeueJson);
    expect(recs[0]).toMatchObject({ jobId: '1', state: 'FAILED', exitCode: 3, signal: 0 });
    expect(recs[4]).toMatchObject({ jobId: '7', exitCode: 0, signal: 11 });
  });

  it("reads squeue --json's state_reason 'None' as no reason, as scontrol's Reason=None", () => {
    const recs = parseSqueueJson(squeueJson);
    expect(recs[1]?.reason).toBeUndefined();
    expect(recs[0]?.reason).toBe('NonZeroExitCode');
    // A job cancelled with scancel: 'was cancelled', not 'was cancelled (None)'.
    const end = classifyJob({
      jobId: '9',
      state: 'CANCELLED',
      ...(recs[1]?.reason ? { reason: recs[1].reason } : {}),
    });
    expect(end).toEqual({ phase: 'ended', end: { kind: 'cancelled' } });
    expect(describeFailure({ type: 'cancelled' })).toBe('was cancelled');
  });

  it('indexes array elements and the pending remainder of an array', () => {
    const idx = indexRecords(parseSqueueJson(squeueJson));
    expect(idx.get('2_0')?.state).toBe('COMPLETED');
    for (let i = 2; i <= 9; i++) expect(idx.get(`2_${i}`)?.state).toBe('PENDING');
    expect(idx.has('2_1')).toBe(false);
    expect(idx.get('1')?.state).toBe('FAILED');
    expect(expandArrayIndices('1,3,5-7%2')).toEqual([1, 3, 5, 6, 7]);
    expect(expandArrayIndices('0-10:5')).toEqual([0, 5, 10]);
  });

  it('reads scontrol show job -o and jobcomp lines, including array ids', () => {
    const line =
      'JobId=13 ArrayJobId=2 ArrayTaskId=8 ArrayTaskThrottle=2 JobName=arr UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Restarts=1 ExitCode=3:0 NodeList=vm Command=/tmp/a b.sh';
    expect(parseScontrolJobLine(line)).toMatchObject({
      jobId: '13',
      arrayJobId: '2',
      arrayTaskId: 8,
      state: 'FAILED',
      reason: 'NonZeroExitCode',
      exitCode: 3,
      signal: 0,
      restarts: 1,
      node: 'vm',
    });
    const pending = parseScontrolJobLine(
      'JobId=2 ArrayJobId=2 ArrayTaskId=2-4%2 JobName=arr JobState=PENDING Reason=Resources ExitCode=0:0',
    );
    expect(pending?.pendingIndices).toEqual([2, 3, 4]);
    const comp = parseScontrolJobLine(
      'JobId=5 UserId=root(0) Name=arr JobState=COMPLETED Partition=ci ArrayJobId=2 ArrayTaskId=0 DerivedExitCode=0:0 ExitCode=0:0 ',
    );
    expect(comp).toMatchObject({
      jobId: '5',
      arrayJobId: '2',
      arrayTaskId: 0,
      state: 'COMPLETED',
      name: 'arr',
    });
    expect(parseSacctLines('115|FAILED|3:0\n116|CANCELLED by 0|0:15\n')).toEqual([
      { jobId: '115', state: 'FAILED', exitCode: 3, signal: 0 },
      { jobId: '116', state: 'CANCELLED', exitCode: 0, signal: 15 },
    ]);
    // Elements cancelled while pending come as one line: each is cancelled, not "lost" (found by a review: they
    // were reported as "ended in Slurm state LOST").
    const cancelled = parseSacctLines('159_[40-42,45]|CANCELLED by 0|0:0\n159_3|COMPLETED|0:0\n');
    expect(cancelled[0]).toEqual({
      jobId: '159',
      arrayJobId: '159',
      pendingIndices: [40, 41, 42, 45],
      state: 'CANCELLED',
      exitCode: 0,
      signal: 0,
    });
    const indexed = indexRecords(cancelled);
    expect([...indexed.keys()].sort()).toEqual(['159_3', '159_40', '159_41', '159_42', '159_45']);
    expect(indexed.get('159_41')?.state).toBe('CANCELLED');
  });
});

describe('job states', () => {
  it('maps every terminal state and treats DependencyNeverSatisfied as its own phase', () => {
    expect(classifyJob({ jobId: '1', state: 'COMPLETING' }).phase).toBe('running');
    expect(classifyJob({ jobId: '1', state: 'PENDING', reason: 'DependencyNeverSatisfied' }).phase).toBe(
      'dependency-never-satisfied',
    );
    expect(classifyJob({ jobId: '1', state: 'CANCELLED', reason: 'DependencyNeverSatisfied' }).phase).toBe(
      'dependency-never-satisfied',
    );
    expect(classifyJob({ jobId: '1', state: 'OUT_OF_MEMORY' })).toEqual({
      phase: 'ended',
      end: { kind: 'out-of-memory' },
    });
    expect(classifyJob({ jobId: '1', state: 'NODE_FAIL' })).toEqual({
      phase: 'ended',
      end: { kind: 'node-fail' },
    });
    expect(classifyJob({ jobId: '1', state: 'FAILED', exitCode: 0, signal: 11 })).toEqual({
      phase: 'ended',
      end: { kind: 'failed', exitCode: 0, signal: 11 },
    });
  });

  it('never lets a non-COMPLETED single-task job count as a success', () => {
    expect(endAllowsSuccess({ kind: 'completed' }, 1)).toBe(true);
    expect(endAllowsSuccess({ kind: 'node-fail' }, 1)).toBe(false);
    expect(endAllowsSuccess({ kind: 'failed', exitCode: 86, signal: 0 }, 1)).toBe(false);
    expect(endAllowsSuccess({ kind: 'failed', exitCode: 86, signal: 0 }, 3)).toBe(true);
    expect(failureReason({ kind: 'completed' }, { kind: 'missing' }, 'command')).toEqual({
      type: 'missing-result',
    });
    expect(failureReason({ kind: 'timeout' }, { kind: 'missing' }, 'command')).toEqual({ type: 'timeout' });
  });

  it('reports a command that exited 0 without its output as the local executors do, not as "status 1"', () => {
    const failure = { type: 'output-not-written' as const, output: 'x', path: 'out/x.txt' };
    const result = {
      version: RESULT_VERSION,
      buildId: 'b',
      taskId: 't',
      attempt: 1,
      status: 'failed' as const,
      exitCode: 0,
      signal: null,
      error: "output 'x' was not written (out/x.txt)",
      outputFailure: failure,
      outputs: {},
      host: 'h',
      slurm: {},
      start: '',
      end: '',
    };
    // The job itself exits 1 (job-entry), so Slurm says FAILED.
    const end = { kind: 'failed' as const, exitCode: 1, signal: 0 };
    const reason = failureReason(end, { kind: 'failed', result }, 'command');
    expect(reason).toEqual({ type: 'output', failure });
    expect(describeFailure(reason)).toBe("output 'x' was not written (out/x.txt)");
    expect(toOutcome({ status: 'failed', taskId: 't', reason, attempts: [], logTail: [] })).toEqual({
      ok: false,
      failure,
    });
  });
});

describe("a SIGKILL from Slurm's memory enforcement", () => {
  it('is an out-of-memory end when slurmstepd says so in the job log, else a SIGKILL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-oom-'));
    try {
      const killed = { type: 'killed' as const, signal: 9 };
      const log = (name: string, text: string) => {
        writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      };
      // jobacct_gather's OverMemoryKill (the job ends FAILED, 0:9), and the cgroup plugin's line.
      const over = log(
        'over.log',
        'working\nslurmstepd: error: Job 41 exceeded memory limit (2105344 > 1048576), being killed\nslurmstepd: error: *** JOB 41 ON node1 CANCELLED AT 2026-12-05T15:20:01 ***\n',
      );
      const cgroup = log(
        'cgroup.log',
        'slurmstepd-node1: error: Detected 1 oom_kill event in StepId=42.batch. Some of the step tasks have been OOM Killed.\n',
      );
      const plain = log('plain.log', 'killed by hand\n');
      expect(await asMemoryKill(killed, over)).toEqual({ type: 'out-of-memory' });
      expect(await asMemoryKill(killed, cgroup)).toEqual({ type: 'out-of-memory' });
      expect(await asMemoryKill(killed, plain)).toEqual(killed);
      expect(await asMemoryKill(killed, path.join(dir, 'none.log'))).toEqual(killed);
      // Only a SIGKILL: a step that printed such a line and then failed on its own is not called out of memory.
      const exited = { type: 'exit-non-zero' as const, exitCode: 3 };
      expect(await asMemoryKill(exited, over)).toEqual(exited);
      expect(describeFailure({ type: 'out-of-memory' })).toMatch(/memory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resources', () => {
  it('parses memory and Slurm time formats', () => {
    expect(parseMemMb('512M')).toEqual({ ok: true, value: 512 });
    expect(parseMemMb('1.5G')).toEqual({ ok: true, value: 1536 });
    expect(parseMemMb('300')).toEqual({ ok: true, value: 300 });
    expect(parseMemMb('lots').ok).toBe(false);
    expect(parseTimeSeconds('10')).toEqual({ ok: true, value: 600 });
    expect(parseTimeSeconds('1:30')).toEqual({ ok: true, value: 90 });
    expect(parseTimeSeconds('01:00:00')).toEqual({ ok: true, value: 3600 });
    expect(parseTimeSeconds('1-02')).toEqual({ ok: true, value: 93600 });
    expect(parseTimeSeconds('2-00:00:30')).toEqual({ ok: true, value: 172830 });
    expect(parseTimeSeconds('1:2:3:4').ok).toBe(false);
  });

  it('grows what ran out: mem after each out-of-memory end, time after each timeout, nothing after other failures', () => {
    const res = { mem: '1G', time: '00:10:00', cpus: 2, partition: 'short' };
    const oom = { type: 'out-of-memory' };
    const timeout = { type: 'timeout' };
    expect(resourcesForAttempt(res)).toEqual({
      ok: true,
      value: { ...res, mem: '1024M', time: '0-00:10:00' },
    });
    expect(resourcesForAttempt(res, [oom, oom])).toEqual({
      ok: true,
      value: { ...res, mem: '3072M', time: '0-00:10:00' },
    });
    expect(resourcesForAttempt(res, [timeout, { type: 'node-fail' }])).toEqual({
      ok: true,
      value: { ...res, mem: '1024M', time: '0-00:20:00' },
    });
    expect(resourcesForAttempt(res, [{ type: 'exit-non-zero' }, { type: 'lost' }])).toEqual({
      ok: true,
      value: { ...res, mem: '1024M', time: '0-00:10:00' },
    });
    const r = resourcesForAttempt(res, [oom, timeout, oom, timeout]);
    expect(r).toEqual({ ok: true, value: { mem: '3072M', time: '0-00:30:00', cpus: 2, partition: 'short' } });
    if (r.ok)
      expect(resourceArgs(r.value)).toEqual([
        '--partition=short',
        '--cpus-per-task=2',
        '--mem=3072M',
        '--time=0-00:30:00',
      ]);
  });

  it('allows only listed sbatch options, in long form', () => {
    expect(validateExtraOptions(['--qos=high', '--exclusive', '--constraint=a&b']).ok).toBe(true);
    for (const bad of [
      '--wrap=rm -rf /',
      '--output=/etc/x',
      '--export=ALL',
      '--dependency=afterany:1',
      '-p short',
      '--uid=0',
      '--comment=a\nb',
    ]) {
      expect(validateExtraOptions([bad]).ok, bad).toBe(false);
    }
    expect(resourcesForAttempt({ partition: 'ci --wrap' }).ok).toBe(false);
  });
});

const task = (id: string, target: string, deps: string[] = []): ExecTask => ({
  id,
  target,
  deps,
  run: { kind: 'command', argv: ['true'] },
  inputs: {},
  outputs: {},
  params: {},
  env: {},
  resources: {},
});

describe('grouping tasks into submissions', () => {
  it('puts a fan-out in one array and splits by level so arrays never wait on each other in a cycle', () => {
    // x[0] -> y -> x[1]: grouping by target alone would make the x array and y wait on each other.
    const tasks = [
      task('x[0]', 'x'),
      task('y', 'y', ['x[0]']),
      task('x[1]', 'x', ['y']),
      ...Array.from({ length: 5 }, (_, i) => task(`f[${i}]`, 'f')),
    ];
    const levels = taskLevels(tasks);
    expect([levels.get('x[0]'), levels.get('y'), levels.get('x[1]')]).toEqual([0, 1, 2]);
    const pending = tasks.map((t) => ({ task: t, attempt: 1, level: levels.get(t.id) ?? 0, resources: {} }));
    const subs = groupForSubmission(pending, 1, 1000).map((s) => s.map((el) => el.map((p) => p.task.id)));
    expect(subs).toEqual([
      [['f[0]'], ['f[1]'], ['f[2]'], ['f[3]'], ['f[4]']],
      [['x[0]']],
      [['y']],
      [['x[1]']],
    ]);
    const batched = groupForSubmission(
      pending.filter((p) => p.task.target === 'f'),
      2,
      2,
    );
    expect(batched.map((s) => s.map((el) => el.length))).toEqual([[2, 2], [1]]);
    expect(() => taskLevels([task('a', 'a', ['b']), task('b', 'b', ['a'])])).toThrow(/cycle/);
  });

  it('names jobs per build and target, and quotes paths for bash', () => {
    expect(jobName('b-42', 'excess map[1]')).toBe('excess_map_1_.pipe-b-42');
    // A build's jobs are found by name: its own, and those of earlier pipe versions; not another build's.
    expect(isJobOfBuild(jobName('b-42', 'stacked'), 'b-42')).toBe(true);
    expect(isJobOfBuild('pipe-b-42-stacked', 'b-42')).toBe(true);
    expect(isJobOfBuild(jobName('b-42', 'stacked'), 'b-4')).toBe(false);
    expect(isJobOfBuild(jobName('xb-42', 'stacked'), 'b-42')).toBe(false);
    expect(isJobOfBuild('stacked.pipe-b-42x', 'b-42')).toBe(false);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('rejects malformed job specs', () => {
    expect(checkJobSpec({ version: 2, buildId: 'b', tasks: [] })).toMatch(/version/);
    expect(
      checkJobSpec({
        version: 1,
        buildId: 'b',
        tasks: [
          {
            taskId: 't',
            attempt: 1,
            cwd: '/',
            resultFile: '/r',
            run: { kind: 'command', argv: 'rm -rf /' },
            inputs: {},
            outputs: {},
            params: {},
            env: {},
          },
        ],
      }),
    ).toMatch(/argv/);
  });
});

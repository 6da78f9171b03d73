// The Slurm executor's outcomes as the engine reports them: a timeout names the limit the last attempt asked for
// (it grows with the attempts), and the attempt count travels as for the local executors.
import { describe, expect, it } from 'vitest';
import type { Resources } from '../src/model/types.js';
import { retryText, taskSection, toOutcome } from '../src/slurm/engine-adapter.js';
import { RESULT_VERSION } from '../src/slurm/task-files.js';
import type { FailureReason } from '../src/slurm/types.js';

describe('Slurm outcomes for the engine', () => {
  it('a timeout says which limit the last attempt had', () => {
    const outcome = toOutcome({
      status: 'failed',
      taskId: 't',
      reason: { type: 'timeout' },
      logTail: [],
      attempts: [
        {
          attempt: 1,
          job: '11',
          resources: { time: '0-00:01:00' },
          logFile: 'a.log',
          reason: { type: 'timeout' },
        },
        {
          attempt: 2,
          job: '12',
          resources: { time: '0-00:02:00' },
          logFile: 'b.log',
          reason: { type: 'timeout' },
        },
      ],
    });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        type: 'over-limit',
        message: 'hit its time limit (the job asked for --time=0-00:02:00; raise resources.time)',
      },
      jobId: '12',
      attempts: 2,
    });
  });

  it('another failure keeps its kind', () => {
    const outcome = toOutcome({
      status: 'failed',
      taskId: 't',
      reason: { type: 'exit-non-zero', exitCode: 3 },
      logTail: [],
      attempts: [{ attempt: 1, job: '7', resources: {}, logFile: 'a.log' }],
    });
    expect(outcome).toEqual({ ok: false, failure: { type: 'exit-non-zero', exitCode: 3 }, jobId: '7' });
  });
});

describe('a Slurm task that succeeded', () => {
  it("takes its times and versions from the job's result file (its run on the node, not its wait in the queue)", () => {
    const outcome = toOutcome({
      status: 'done',
      taskId: 't',
      attempts: [{ attempt: 1, job: '9_2', resources: {}, logFile: 'a.log' }],
      result: {
        version: RESULT_VERSION,
        buildId: 'b',
        taskId: 't',
        attempt: 1,
        status: 'ok',
        exitCode: 0,
        signal: null,
        outputs: {},
        host: 'node7',
        versions: { pipe: '0.1.0+g0123456789ab', node: 'v22.1.0', zlib: '1.3.0.1-motley' },
        slurm: { jobId: '11', arrayJobId: '9', arrayTaskId: '2', node: 'node7' },
        start: '2026-12-04T18:27:16.100Z',
        end: '2026-12-04T18:27:18.400Z',
      },
    });
    expect(outcome).toMatchObject({
      ok: true,
      jobId: '9_2',
      ran: { start: '2026-12-04T18:27:16.100Z', end: '2026-12-04T18:27:18.400Z' },
      // The node's pipe and Node, which provenance records: not necessarily the submitting host's.
      host: 'node7',
      versions: { pipe: '0.1.0+g0123456789ab', node: 'v22.1.0', zlib: '1.3.0.1-motley' },
    });
  });
});

describe("a task's part of a job log that several tasks share (--tasks-per-job)", () => {
  const log = [
    '=== pipe task runs[a1] (attempt 1) ===',
    'reducing a1',
    '=== pipe task runs[a] (attempt 1) ===',
    'reducing a',
    'bad pixel table',
    '=== pipe task runs[b] (attempt 2) ===',
    'reducing b',
    'slurmstepd: error: *** JOB 12 ON vm CANCELLED DUE TO TIME LIMIT ***',
    '',
  ].join('\n');

  it('runs from its own marker to the next (an id that another id starts with is not confused)', () => {
    expect(taskSection(log, 'runs[a]')).toBe(
      '=== pipe task runs[a] (attempt 1) ===\nreducing a\nbad pixel table\n',
    );
    expect(taskSection(log, 'runs[a1]')).toBe('=== pipe task runs[a1] (attempt 1) ===\nreducing a1\n');
  });

  it("keeps Slurm's last words with the task that ran last; a log without markers is all the task's", () => {
    expect(taskSection(log, 'runs[b]')).toMatch(/reducing b\nslurmstepd: .*TIME LIMIT \*\*\*\n$/);
    expect(taskSection('just output\n', 'runs[a]')).toBe('just output\n');
  });
});

describe('a Slurm task killed for its memory', () => {
  it('says how much the last attempt asked for and which setting raises it', () => {
    const outcome = toOutcome({
      status: 'failed',
      taskId: 't',
      reason: { type: 'out-of-memory' },
      logTail: [],
      attempts: [
        {
          attempt: 1,
          job: '21',
          resources: { mem: '512M' },
          logFile: 'a.log',
          reason: { type: 'out-of-memory' },
        },
        {
          attempt: 2,
          job: '22',
          resources: { mem: '1024M' },
          logFile: 'b.log',
          reason: { type: 'out-of-memory' },
        },
      ],
    });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        type: 'over-limit',
        message: 'ran out of memory (the job asked for --mem=1024M; raise resources.mem)',
      },
      jobId: '22',
      attempts: 2,
    });
  });
});

describe('a Slurm retry that sbatch refuses', () => {
  const refused = (reason: FailureReason, resources: Resources) =>
    toOutcome({
      status: 'failed',
      taskId: 't',
      reason: { type: 'submit-rejected', message: 'Requested time limit is invalid' },
      logTail: [],
      attempts: [{ attempt: 1, job: '21', resources, logFile: 'a.log', reason }],
    });

  it('fails with what ended the attempt before it, and says why it was not retried', () => {
    expect(refused({ type: 'timeout' }, { mem: '100M', time: '0-00:06:00' })).toEqual({
      ok: false,
      failure: {
        type: 'over-limit',
        message:
          'hit its time limit (Slurm job 21, --time=0-00:06:00); its retry (attempt 2) could not submit the job: ' +
          'Requested time limit is invalid (a retry asks for (k + 1) × resources.mem after k out-of-memory ends, ' +
          '(k + 1) × resources.time after k timeouts: lower them or the retries, or take a partition or node that ' +
          'allows them)',
      },
      jobId: '21',
    });
  });

  it('is an executor error when the attempt before it hit no limit of its own', () => {
    const outcome = refused({ type: 'exit-non-zero', exitCode: 3 }, {});
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.failure).toMatchObject({
      type: 'executor-error',
      message: expect.stringMatching(
        /^slurm: exited with status 3 \(Slurm job 21\); its retry \(attempt 2\) could not/,
      ),
    });
    // It asked for what the first attempt got: no growth to blame.
    const message = !outcome.ok && 'message' in outcome.failure ? outcome.failure.message : '';
    expect(message).toContain('(it asked for the resources the attempt before it got:');
    expect(message).not.toContain('(k + 1)');
  });
});

describe('a Slurm task retried', () => {
  it('says, as the local executors do, why the attempt failed and what the next one asks for', () => {
    expect(
      retryText({
        type: 'retrying',
        taskId: 'calib[run7]',
        attempt: 2,
        of: 3,
        reason: { type: 'out-of-memory' },
        job: '21_4',
        asked: { mem: '100M', time: '0-00:05:00' },
        next: { mem: '200M', time: '0-00:05:00' },
      }),
    ).toBe(
      'calib[run7]: ran out of memory (Slurm job 21_4, --mem=100M); retrying with --mem=200M (attempt 2 of 3)',
    );
    expect(
      retryText({
        type: 'retrying',
        taskId: 't',
        attempt: 2,
        reason: { type: 'exit-non-zero', exitCode: 3 },
      }),
    ).toBe('t: exited with status 3; retrying (attempt 2)');
  });
});

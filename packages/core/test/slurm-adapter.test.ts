// The Slurm executor's outcomes as the engine reports them: a timeout names the limit the last attempt asked for
// (it grows with the attempts), and the attempt count travels as for the local executors.
import { describe, expect, it } from 'vitest';
import { toOutcome } from '../src/slurm/engine-adapter.js';

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
        type: 'executor-error',
        message: 'slurm: hit its time limit (the job asked for 0-00:02:00)',
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

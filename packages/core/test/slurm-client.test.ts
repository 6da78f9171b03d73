// The Slurm client on a machine without Slurm's commands (a laptop, a CI runner): a submission fails with a
// message that says what is missing and what to do, not Node's `spawn sbatch ENOENT`. No cluster needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SlurmClient } from '../src/slurm/client.js';
import { describeFailure } from '../src/slurm/validate.js';

const emptyBin = mkdtempSync(path.join(tmpdir(), 'pipe-no-slurm-'));
afterAll(() => rmSync(emptyBin, { recursive: true, force: true }));

describe('SlurmClient without sbatch on PATH', () => {
  it('says the command is not on PATH and how to go on', async () => {
    const client = new SlurmClient({ env: { PATH: emptyBin } });
    const res = await client.submit({
      script: path.join(emptyBin, 'job.sh'),
      jobName: 'pipe-x-t',
      output: path.join(emptyBin, 'log-%a.txt'),
      chdir: emptyBin,
      resourceArgs: [],
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const text = describeFailure({ type: 'submit-rejected', message: res.message });
    expect(text).toMatch(/^could not submit the job: sbatch: command not found on PATH/);
    expect(text).toContain('--executor local');
    expect(text).not.toContain('ENOENT');
  });
});

describe('a submission sbatch refuses', () => {
  it("is one line, sbatch's lines joined (a build report and pipe status show it on the task's line)", async () => {
    const client = new SlurmClient({
      runner: async () => ({
        code: 1,
        stdout: '',
        stderr:
          'sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      }),
    });
    const res = await client.submit({
      script: '/w/job.sh',
      jobName: 'pipe-x-t',
      output: '/w/log.txt',
      chdir: '/w',
      resourceArgs: ['--partition=nosuch'],
    });
    expect(res).toEqual({
      ok: false,
      message:
        'sbatch: error: invalid partition specified: nosuch; Batch job submission failed: Invalid partition name specified',
    });
  });
});

describe('the jobcomp/filetxt completion log', () => {
  it('answers for an id with its newest line: after a state reset the id names a new job', async () => {
    const log = path.join(emptyBin, 'jobcomp.txt');
    writeFileSync(
      log,
      [
        'JobId=1 UserId=root(0) Name=old JobState=COMPLETED Partition=ci ExitCode=0:0',
        'JobId=2 UserId=root(0) Name=old JobState=COMPLETED Partition=ci ExitCode=0:0',
        'JobId=1 UserId=root(0) Name=new JobState=FAILED Partition=ci ExitCode=3:0',
        '',
      ].join('\n'),
    );
    // squeue and scontrol have forgotten every job; the log is all there is.
    const client = new SlurmClient({
      runner: async (program, args) => {
        if (program === 'squeue') return { code: 0, stdout: '{"jobs": []}', stderr: '' };
        if (program === 'scontrol' && args[1] === 'config')
          return {
            code: 0,
            stdout: `JobCompLoc              = ${log}\nJobCompType             = jobcomp/filetxt\n`,
            stderr: '',
          };
        return { code: 1, stdout: '', stderr: 'Invalid job id specified' };
      },
    });
    const res = await client.query(['1', '2']);
    expect(res.records).toHaveLength(2);
    expect(res.records.find((r) => r.jobId === '1')).toMatchObject({
      name: 'new',
      state: 'FAILED',
      exitCode: 3,
    });
    expect(res.records.find((r) => r.jobId === '2')).toMatchObject({ name: 'old', state: 'COMPLETED' });
    expect(res.unknown).toEqual([]);
  });
});

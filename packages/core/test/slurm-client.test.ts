// The Slurm client on a machine without Slurm's commands (a laptop, a CI runner): a submission fails with a
// message that says what is missing and what to do, not Node's `spawn sbatch ENOENT`. No cluster needed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cancelBuildJobs } from '../src/slurm/build-jobs.js';
import { SlurmClient } from '../src/slurm/client.js';
import { SlurmExecutor } from '../src/slurm/executor.js';
import { unconfirmedBuilds, unconfirmedText } from '../src/slurm/unconfirmed-jobs.js';
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

describe('sbatch without a configuration (no SLURM_CONF, no configless DNS record)', () => {
  it("says what is missing before sbatch's own lines", () => {
    const message =
      'sbatch: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host; sbatch: error: fetch_config: DNS SRV lookup failed; sbatch: fatal: Could not establish a configuration source';
    expect(describeFailure({ type: 'submit-rejected', message })).toMatch(
      /^could not submit the job: Slurm's configuration was not found \(set SLURM_CONF .*\): sbatch: error: resolve_ctls/,
    );
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

  it('asks the accounting database for jobs the controller forgot on a site without the jobcomp log', async () => {
    // MinJobAge passed (squeue and scontrol forgot them), no jobcomp log, no completion data (sacct -c): slurmdbd knows.
    const asked: string[][] = [];
    const client = new SlurmClient({
      runner: async (program, args) => {
        asked.push([program, ...args]);
        if (program === 'squeue') return { code: 0, stdout: '{"jobs": []}', stderr: '' };
        if (program === 'scontrol' && args[1] === 'config')
          return { code: 0, stdout: 'JobCompType             = jobcomp/none\n', stderr: '' };
        if (program === 'sacct' && args[0] === '-X')
          return {
            code: 0,
            stdout: '7_0|COMPLETED|0:0\n7_1|OUT_OF_MEMORY|0:125\n8|COMPLETED|0:0\n',
            stderr: '',
          };
        return { code: 1, stdout: '', stderr: 'Invalid job id specified' };
      },
    });
    const res = await client.query(['7', '8']);
    expect(asked.filter((a) => a[0] === 'sacct').map((a) => a[1])).toEqual(['-c', '-X']);
    expect(res.unknown).toEqual([]);
    expect(res.records.map((r) => [r.arrayJobId, r.arrayTaskId, r.jobId, r.state])).toEqual([
      ['7', 0, '7', 'COMPLETED'],
      ['7', 1, '7', 'OUT_OF_MEMORY'],
      [undefined, undefined, '8', 'COMPLETED'],
    ]);
  });
});

describe('jobs Slurm cannot confirm ended (a controller restarting, a shell without SLURM_CONF)', () => {
  const down = async (program: string) => ({
    code: 1,
    stdout: '',
    stderr: `${program}: error: Socket timed out on send/recv operation\n`,
  });

  it('a failed squeue is an error, not "no jobs"', async () => {
    const client = new SlurmClient({ runner: (program) => down(program) });
    await expect(client.jobsNamed('pipe-b1-')).rejects.toThrow(
      /squeue failed: squeue: error: Socket timed out/,
    );
  });

  it('a failed scancel of jobs still listed is an error; one for jobs that ended meanwhile is not', async () => {
    const listed = { code: 0, stdout: '41|pipe-b1-item\n42|pipe-b1-consumer\n43|pipe-other-x\n', stderr: '' };
    const failing = new SlurmClient({
      runner: async (program) => (program === 'squeue' ? listed : down(program)),
    });
    await expect(SlurmExecutor.cancelBuild(failing, 'b1')).rejects.toThrow(
      /scancel 41 42 failed: scancel: error/,
    );
    let cancelled = false;
    const endedMeanwhile = new SlurmClient({
      runner: async (program) => {
        if (program === 'scancel') {
          cancelled = true;
          return {
            code: 1,
            stdout: '',
            stderr: 'scancel: error: Job/step already completing or completed\n',
          };
        }
        return cancelled ? { code: 0, stdout: '', stderr: '' } : listed;
      },
    });
    expect(await SlurmExecutor.cancelBuild(endedMeanwhile, 'b1')).toEqual(['41', '42']);
  });

  it('`pipe cancel` marks them for the next builds (and clears the mark once Slurm answers); a local build asks Slurm nothing', async () => {
    const pipeDir = mkdtempSync(path.join(tmpdir(), 'pipe-unconfirmed-'));
    try {
      const workDir = path.join(pipeDir, 'slurm', 'b1');
      mkdirSync(workDir, { recursive: true });
      const lockFile = path.join(pipeDir, 'lock');
      const failed = await cancelBuildJobs({
        buildId: 'b1',
        lockFile,
        pipeDir,
        client: new SlurmClient({ runner: (program) => down(program) }),
      });
      expect(failed.unconfirmed?.reason).toMatch(/squeue failed/);
      expect(unconfirmedBuilds(path.join(pipeDir, 'slurm')).map((m) => m.buildId)).toEqual(['b1']);
      expect(unconfirmedText(failed.unconfirmed!)).toMatch(
        /may still run .* `pipe cancel b1` once Slurm answers/,
      );
      const answers = new SlurmClient({ runner: async () => ({ code: 0, stdout: '', stderr: '' }) });
      const ok = await cancelBuildJobs({ buildId: 'b1', lockFile, pipeDir, client: answers });
      expect(ok.unconfirmed).toBeUndefined();
      expect(unconfirmedBuilds(path.join(pipeDir, 'slurm'))).toEqual([]);
      let asked = false;
      const local = await cancelBuildJobs({
        buildId: 'local1',
        lockFile,
        pipeDir,
        client: new SlurmClient({
          runner: async (program) => {
            asked = true;
            return down(program);
          },
        }),
      });
      expect(local.unconfirmed).toBeUndefined();
      expect(asked).toBe(false);
    } finally {
      rmSync(pipeDir, { recursive: true, force: true });
    }
  });
});

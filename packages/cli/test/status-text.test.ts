import { describe, expect, it } from 'vitest';
import { liveJobLines, statusTaskLines } from '../src/status-text.js';

type Tasks = Parameters<typeof statusTaskLines>[0];

describe('statusTaskLines', () => {
  // A first build of 5,000 files: `pipe status` printed 10,009 lines, two per task, the same reason each time.
  const tasks: Tasks = {};
  for (let i = 0; i < 5000; i++)
    tasks[`conv[f${i}]`] = {
      state: 'ran',
      ms: 10 + (i % 7),
      executor: 'process',
      reasons: [{ type: 'no-previous-build' }],
    };
  tasks['conv[f17]'] = {
    state: 'failed',
    ms: 40,
    executor: 'process',
    reasons: [{ type: 'no-previous-build' }],
    error: 'exited with status 1',
    log: '/ws/.pipe/logs/b/conv[f17].log',
  };
  tasks['conv[f18]'] = { state: 'up-to-date' };
  tasks.merge = { state: 'skipped', error: 'upstream task conv[f17] did not succeed' };

  it("gives a fan-out's tasks that ended alike one entry, and each failure its own", () => {
    const lines = statusTaskLines(tasks, false, () => true);
    expect(lines).toEqual([
      'ran         conv: 4998 tasks (10–16 ms each, 65.0 s in all, process; conv[f0], conv[f1], conv[f2] and 4995 more; pipe status -a lists each)',
      '            no previous build',
      'failed      conv[f17] (40 ms, process)',
      '            no previous build',
      '            exited with status 1',
      '            log: /ws/.pipe/logs/b/conv[f17].log',
      'skipped     merge',
      '            upstream task conv[f17] did not succeed',
    ]);
  });

  it('lists each task, and the up-to-date ones, with -a', () => {
    const lines = statusTaskLines(tasks, true, () => false);
    expect(lines).toContain('ran         conv[f4999] (11 ms, process)');
    expect(lines).toContain('up-to-date  conv[f18]');
    expect(lines.length).toBe(2 * 4998 + 2 + 1 + 2 + 1);
  });
});

describe('statusTaskLines: new items of a fan-out', () => {
  // 300 files added to a glob: each task's reason names its own file, and each had its entry.
  it('are one entry, its reason said without which item', () => {
    const tasks: Tasks = {};
    for (let i = 0; i < 300; i++)
      tasks[`conv[f${i}]`] = {
        state: 'ran',
        ms: 10,
        executor: 'process',
        reasons: [
          { type: 'new-item', target: 'conv', item: `f${i}`, foreach: 'glob', path: `raw/f${i}.csv` },
        ],
      };
    expect(statusTaskLines(tasks, false, () => true)).toEqual([
      'ran         conv: 300 tasks (10–10 ms each, 3.0 s in all, process; conv[f0], conv[f1], conv[f2] and 297 more; pipe status -a lists each)',
      "            new items: files added to the foreach of 'conv'",
    ]);
    expect(statusTaskLines(tasks, true, () => true).slice(0, 2)).toEqual([
      'ran         conv[f0] (10 ms, process)',
      "            new item: raw/f0.csv added to the foreach of 'conv'",
    ]);
  });
});

describe('statusTaskLines: a fan-out run on Slurm', () => {
  // The full DR1 release on Slurm: 105 tasks, each an element of one job array, each listed with its own job.
  it('is one entry naming its job arrays, each task with its job under -a', () => {
    const tasks: Tasks = {};
    for (let i = 0; i < 105; i++)
      tasks[`datasets[${20000 + i}]`] = {
        state: 'ran',
        ms: 300,
        executor: 'slurm',
        // Past MaxArraySize a fan-out is several arrays; a task submitted alone is a plain job.
        jobId: i < 100 ? `2_${i}` : i < 104 ? `108_${i - 100}` : '113',
        reasons: [{ type: 'no-previous-build' }],
      };
    expect(statusTaskLines(tasks, false, () => true)).toEqual([
      'ran         datasets: 105 tasks (300–300 ms each, 31.5 s in all, slurm, job arrays 2, 108, job 113; datasets[20000], datasets[20001], datasets[20002] and 102 more; pipe status -a lists each)',
      '            no previous build',
    ]);
    expect(statusTaskLines(tasks, true, () => true).slice(0, 2)).toEqual([
      'ran         datasets[20000] (300 ms, slurm, job 2_0)',
      '            no previous build',
    ]);
  });
});

describe('statusTaskLines: a Slurm build stopped while jobs waited in the queue', () => {
  it('lists a task whose job was cancelled before it started as not started, as the counts do', () => {
    const tasks: Tasks = {
      'calib[f01]': {
        state: 'cancelled',
        executor: 'slurm',
        jobId: '191_0',
        startedAt: '2026-12-06T19:17:16.100Z',
        ms: 4673,
        error: 'cancelled',
      },
      'calib[f03]': { state: 'cancelled', executor: 'slurm', jobId: '191_2', error: 'cancelled' },
    };
    expect(statusTaskLines(tasks, false, () => true)).toEqual([
      'cancelled   calib[f01] (4673 ms, slurm, job 191_0)',
      '            cancelled',
      'not-started calib[f03] (slurm, job 191_2)',
      '            cancelled',
    ]);
  });
});

describe('liveJobLines: a running build of 105 runs on Slurm', () => {
  const jobs: Parameters<typeof liveJobLines>[0] = [];
  for (let i = 0; i < 105; i++)
    jobs.push({
      taskId: `datasets[${20000 + i}]`,
      job: `2_${i}`,
      attempt: 1,
      state: i < 3 ? 'done' : 'submitted',
      ...(i < 3 ? {} : i < 5 ? { slurmState: 'RUNNING' } : { slurmState: 'PENDING', reason: 'Resources' }),
    });
  jobs.push({
    taskId: 'stacked',
    job: '3',
    attempt: 1,
    state: 'submitted',
    slurmState: 'PENDING',
    reason: 'Dependency',
  });

  it('gives the jobs of a fan-out in one state one entry; -a lists each', () => {
    expect(liveJobLines(jobs, false)).toEqual([
      'done        datasets[20000] (slurm job 2_0)',
      'done        datasets[20001] (slurm job 2_1)',
      'done        datasets[20002] (slurm job 2_2)',
      'running     datasets[20003] (slurm job 2_3)',
      'running     datasets[20004] (slurm job 2_4)',
      'pending     datasets: 100 tasks (slurm job array 2, Resources; datasets[20005], datasets[20006], datasets[20007] and 97 more; pipe status -a lists each)',
      'pending     stacked (slurm job 3, Dependency)',
    ]);
    const each = liveJobLines(jobs, true);
    expect(each).toHaveLength(106);
    expect(each).toContain('pending     datasets[20104] (slurm job 2_104, Resources)');
  });
});

describe('liveJobLines: a task the running build has recorded as ended', () => {
  it("is left to the record's lines, not listed twice", () => {
    const jobs: Parameters<typeof liveJobLines>[0] = [
      { taskId: 'calib[f01]', job: '298_0', attempt: 1, state: 'done' },
      { taskId: 'calib[f02]', job: '298_1', attempt: 1, state: 'submitted', slurmState: 'RUNNING' },
    ];
    expect(liveJobLines(jobs, false, { 'calib[f01]': { state: 'ran', ms: 3105 } })).toEqual([
      'running     calib[f02] (slurm job 298_1)',
    ]);
  });
});

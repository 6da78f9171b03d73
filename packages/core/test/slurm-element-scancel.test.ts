// A user scancels one element of a build's job array while it waits in the queue (`scancel 187_6`). Slurm 22.05 keeps
// no record of it: the array's pending rest no longer lists it. That is a cancel, as a scancel of a running element
// is: the task fails as cancelled, and `resources.retries` does not submit it again. Slurm is played by a runner that
// answers sbatch, squeue and scancel: no cluster needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecEvent } from '../src/execute/executor.js';
import { type CommandRunner, SlurmClient } from '../src/slurm/client.js';
import { SlurmEngineExecutor } from '../src/slurm/engine-adapter.js';
import { commandRequest } from './fixtures/run-command.js';

const work = mkdtempSync(join(tmpdir(), 'pipe-slurm-element-scancel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * One array of three elements: 0 runs, 1 and 2 wait; from the second squeue on, element 2 is gone from the pending
 * rest (scancel'd from outside). A plain job (a resubmission) waits. `onSbatch` sees each submission's number.
 */
function fakeSlurm(onSbatch: (n: number) => void): CommandRunner {
  let submitted = 0;
  let squeues = 0;
  let cancelled = false;
  let arrayId: number | undefined;
  const plain: number[] = [];
  return async (program, args) => {
    if (program === 'sbatch') {
      const id = 100 + submitted++;
      if (args.some((a) => a.startsWith('--array='))) arrayId = id;
      else plain.push(id);
      onSbatch(submitted);
      return { code: 0, stdout: `${id}\n`, stderr: '' };
    }
    if (program === 'squeue' && args[0] === '--json') {
      squeues++;
      const state = cancelled ? 'CANCELLED' : undefined;
      const jobs: object[] = plain.map((id) => ({
        job_id: id,
        job_state: state ?? 'PENDING',
        state_reason: 'None',
      }));
      if (arrayId !== undefined) {
        jobs.push({
          job_id: arrayId + 1000,
          array_job_id: arrayId,
          array_task_id: 0,
          job_state: state ?? 'RUNNING',
        });
        jobs.push({
          job_id: arrayId,
          array_job_id: arrayId,
          array_task_string: squeues > 1 ? '1' : '1-2',
          job_state: state ?? 'PENDING',
          state_reason: 'Resources',
        });
      }
      return { code: 0, stdout: JSON.stringify({ jobs }), stderr: '' };
    }
    if (program === 'scancel') {
      cancelled = true;
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 1, stdout: '', stderr: `${program}: not in this fake` };
  };
}

describe('an element of a job array scancelled while it waits in the queue', () => {
  it('fails its task as cancelled, and retries do not submit it again', async () => {
    const stop = new AbortController();
    let submissions = 0;
    const ex = new SlurmEngineExecutor({
      buildId: 'elem',
      workDir: join(work, '.pipe/slurm/elem'),
      client: new SlurmClient({
        runner: fakeSlurm((n) => {
          submissions = n;
          // A second submission is the scancelled task's retry: nothing more to see.
          if (n > 1) stop.abort();
        }),
      }),
      pollMinMs: 10,
      pollMaxMs: 20,
    });
    const events: ExecEvent[] = [];
    const req = (item: string) =>
      commandRequest(`calib[${item}]`, ['/bin/true'], work, join(work, `${item}.log`), {
        target: 'calib',
        resources: { retries: 1 },
      });
    await ex.submit(
      [req('a'), req('b'), req('c')],
      (e) => {
        events.push(e);
        if (e.type === 'ended' && e.id === 'calib[c]') stop.abort();
      },
      stop.signal,
    );
    await ex.close();
    const ended = Object.fromEntries(events.flatMap((e) => (e.type === 'ended' ? [[e.id, e.outcome]] : [])));
    expect(submissions).toBe(1);
    expect(ended['calib[c]']).toMatchObject({ ok: false, failure: { type: 'cancelled' } });
    expect(events.some((e) => e.type === 'note' && e.message.includes('calib[c]'))).toBe(false);
  });
});

// A Slurm build stopped (Ctrl-C, or a failure without -k) while a job still waits in the queue: its task never ran,
// and is said so (no 'started', a cancel that says started: false) rather than as a task stopped while it ran. Slurm
// is played by a runner that answers sbatch, squeue and scancel: no cluster needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecEvent } from '../src/execute/executor.js';
import { type CommandRunner, SlurmClient } from '../src/slurm/client.js';
import { SlurmEngineExecutor } from '../src/slurm/engine-adapter.js';
import { commandRequest } from './fixtures/run-command.js';

const work = mkdtempSync(join(tmpdir(), 'pipe-slurm-queued-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A queue where the job named for target `running` runs and every other waits, until scancel ends them. */
function fakeSlurm(running: string): CommandRunner {
  const jobs = new Map<number, { name: string; array: boolean; state: string }>();
  let next = 100;
  return async (program, args) => {
    if (program === 'sbatch') {
      const id = next++;
      const name = args.find((a) => a.startsWith('--job-name='))!.slice('--job-name='.length);
      const array = args.some((a) => a.startsWith('--array='));
      jobs.set(id, { name, array, state: name.startsWith(`${running}.`) ? 'RUNNING' : 'PENDING' });
      return { code: 0, stdout: `${id}\n`, stderr: '' };
    }
    if (program === 'squeue' && args[0] === '--json') {
      const list = [...jobs].map(([id, j]) => ({
        job_id: j.array ? id + 1000 : id,
        ...(j.array ? { array_job_id: id, array_task_id: 0 } : {}),
        name: j.name,
        job_state: j.state,
        state_reason: 'None',
      }));
      return { code: 0, stdout: JSON.stringify({ jobs: list }), stderr: '' };
    }
    if (program === 'scancel') {
      for (const a of args) {
        const j = jobs.get(Number(a.split('_')[0]));
        if (j) j.state = 'CANCELLED';
      }
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 1, stdout: '', stderr: `${program}: not in this fake` };
  };
}

describe('a Slurm build stopped while a job waits in the queue', () => {
  it('says the queued task never started; the running one did', async () => {
    const ex = new SlurmEngineExecutor({
      buildId: 'queued',
      workDir: join(work, '.pipe/slurm/queued'),
      client: new SlurmClient({ runner: fakeSlurm('runs') }),
      pollMinMs: 20,
      pollMaxMs: 50,
    });
    const stop = new AbortController();
    const events: ExecEvent[] = [];
    const req = (id: string) => commandRequest(id, ['/bin/true'], work, join(work, `${id}.log`));
    await ex.submit(
      [req('runs'), req('waits')],
      (e) => {
        events.push(e);
        // Ctrl-C once the first job runs.
        if (e.type === 'started') stop.abort();
      },
      stop.signal,
    );
    expect(events.filter((e) => e.type === 'started').map((e) => e.id)).toEqual(['runs']);
    const ended = Object.fromEntries(events.flatMap((e) => (e.type === 'ended' ? [[e.id, e.outcome]] : [])));
    expect(ended.runs).toMatchObject({ ok: false, failure: { type: 'cancelled' } });
    expect(ended.runs.failure.started).toBeUndefined();
    expect(ended.waits).toMatchObject({ ok: false, failure: { type: 'cancelled', started: false } });
    await ex.close();
  });
});

/**
 * A batch job that waits in the queue (behind other jobs, or behind its upstream's jobs with afterok) and then
 * fails: its time is from when it was seen to run, not from its submission. A successful job reports its own clock
 * (`ran`); a failed one has none, and its report said the queue's wait as its run time ("failed (95 s)" for a job
 * that ran 2 s). The executor here plays a batch system: each job waits, then runs, then ends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { buildSession, openSession } from '../src/builds/session.js';
import { loadPipeline } from '../src/config/index.js';
import type { ExecEvent, ExecRequest, Executor } from '../src/execute/executor.js';
import type { TaskReport } from '../src/schedule/events.js';
import { createStepRegistry } from '../src/steps/registry.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const QUEUED_MS = 600;
const RUN_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every job waits QUEUED_MS in the queue, runs RUN_MS, and fails (exit status 3). */
function queueingExecutor(): Executor {
  return {
    name: 'slurm',
    batches: true,
    async submit(batch: ExecRequest[], onEvent: (e: ExecEvent) => void) {
      await Promise.all(
        batch.map(async (req, i) => {
          await sleep(QUEUED_MS);
          onEvent({ type: 'started', id: req.id, jobId: String(100 + i) });
          await sleep(RUN_MS);
          onEvent({
            type: 'ended',
            id: req.id,
            outcome: { ok: false, failure: { type: 'exit', code: 3 } },
          });
        }),
      );
    },
    async close() {},
  };
}

it('a failed batch job is timed from its start, not from its wait in the queue', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-queued-'));
  roots.push(root);
  writeFileSync(path.join(root, 'in.txt'), 'x');
  writeFileSync(
    path.join(root, 'pipe.yaml'),
    [
      'version: 1',
      'targets:',
      '  job:',
      '    executor: slurm',
      '    command: [cp, "{inputs.src}", "{outputs.o}"]',
      '    inputs: {src: in.txt}',
      '    outputs: {o: out.txt}',
      '',
    ].join('\n'),
  );
  const registry = createStepRegistry();
  const loaded = await loadPipeline(path.join(root, 'pipe.yaml'), { registry, cwd: root });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const opened = await openSession({
    pipeline: loaded.pipeline,
    targets: ['job'],
    loadStep: (m) => registry.load(m),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened.diagnostics));
  const reports: TaskReport[] = [];
  const submitted = Date.now();
  const result = await buildSession(opened.session, {
    jobs: 1,
    signal: new AbortController().signal,
    executors: { slurm: queueingExecutor() },
    onEvent: (e) => {
      if (e.type === 'task-end') reports.push(e.report);
    },
  });
  expect(result.ok && result.status).toBe('failed');
  const [report] = reports;
  expect(report).toMatchObject({ id: 'job', state: 'failed', jobId: '100' });
  // Its run (RUN_MS, and the timers' slack), not the queue's QUEUED_MS before it.
  expect(report!.ms).toBeLessThan(QUEUED_MS / 2);
  expect(Date.parse(report!.startedAt!) - submitted).toBeGreaterThanOrEqual(QUEUED_MS - 50);
});

/**
 * Warming the local executor before the build exists (warmLocalPool, called by `pipe build` as soon as it knows
 * the requested targets' step modules): the worker imports the step module and whatever its `warm()` loads at
 * once, and the build's executor adopts that thread when its size matches (else starts its own). Real worker
 * threads on step modules written to a temp dir; the thread entry is compiled JS, so this uses dist/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecEvent, ExecRequest, Executor } from '../dist/execute/executor.js';
import { createLocalExecutor, warmLocalPool } from '../dist/execute/local-executor.js';

let dir: string;
let executor: Executor | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-warm-'));
});
afterEach(async () => {
  await executor?.close();
  executor = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A step split like pipe's own: the declaring module is light and loads `heavy.mjs` in warm() or at its first
 * run. Each module appends the importing thread's id to its log; run returns the thread it ran on.
 */
function splitStep(): string {
  const log = (name: string) => JSON.stringify(path.join(dir, `${name}.log`));
  writeFileSync(
    path.join(dir, 'heavy.mjs'),
    `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
appendFileSync(${log('heavy')}, threadId + '\\n');
export async function run() { return { metadata: { thread: threadId } }; }
`,
  );
  const step = path.join(dir, 'step.mjs');
  writeFileSync(
    step,
    `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
appendFileSync(${log('step')}, threadId + '\\n');
export default {
  name: 'split', version: '1',
  warm: () => import('./heavy.mjs'),
  run: async (ctx) => (await import('./heavy.mjs')).run(ctx),
};
`,
  );
  return step;
}

const threadsIn = (name: string) =>
  existsSync(path.join(dir, `${name}.log`))
    ? readFileSync(path.join(dir, `${name}.log`), 'utf8')
        .trim()
        .split('\n')
        .map(Number)
    : [];

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function runOnce(ex: Executor, module: string): Promise<number> {
  const req: ExecRequest = {
    id: 't',
    target: 't',
    deps: [],
    work: { kind: 'step', module },
    inputs: {},
    outputs: {},
    params: {},
    env: {},
    resources: {} as ExecRequest['resources'],
    kernelBackend: 'js',
    cwd: dir,
    logFile: path.join(dir, 'logs', 't.log'),
  };
  return new Promise((resolve, reject) => {
    const onEvent = (e: ExecEvent) => {
      if (e.type !== 'ended') return;
      if (e.outcome.ok) resolve((e.outcome.metadata as { thread: number }).thread);
      else reject(new Error(JSON.stringify(e.outcome.failure)));
    };
    ex.submit([req], onEvent, new AbortController().signal).catch(reject);
  });
}

describe('warmLocalPool', () => {
  it("imports the step and what its warm() loads before any executor exists, and the build's executor runs on that thread", async () => {
    const step = splitStep();
    warmLocalPool([step], 1);
    await until(() => threadsIn('heavy').length === 1);
    const warmed = threadsIn('step');
    expect(warmed).toHaveLength(1);
    executor = createLocalExecutor({ threads: 1 });
    const ranOn = await runOnce(executor, step);
    expect(ranOn).toBe(warmed[0]);
    // Adopted, not started again: each module was imported once, by that thread.
    expect(threadsIn('step')).toEqual(warmed);
    expect(threadsIn('heavy')).toEqual(warmed);
  });

  it('is not adopted by an executor of another size, which starts its own thread', async () => {
    const step = splitStep();
    warmLocalPool([step], 2);
    await until(() => threadsIn('heavy').length === 1);
    executor = createLocalExecutor({ threads: 1 });
    const ranOn = await runOnce(executor, step);
    expect(ranOn).not.toBe(threadsIn('step')[0]);
    expect(threadsIn('step')).toHaveLength(2);
  });
});

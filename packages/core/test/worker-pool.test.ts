/**
 * The local executor's worker pool (StepWorkerPool), on real worker threads running step modules written to a
 * temp dir: tasks run side by side on `size` threads, results and step errors come back as values, a cancelled
 * or timed-out task's thread is terminated and replaced, a crashed thread fails only its task, and warm() imports
 * a module once on every thread. The pool's thread entry is compiled JS, so this test uses the built package (dist/).
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootEarlyPoolThread, POOL_WORKER_ENTRY, takeEarlyPoolThread } from '../dist/execute/early-thread.js';
import type { StepPayload } from '../dist/execute/step-worker.js';
import { StepWorkerPool } from '../dist/execute/worker-pool.js';

let dir: string;
let pool: StepWorkerPool;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-pool-'));
});
afterEach(async () => {
  await pool?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A step module whose run body is `body` (ctx in scope); its top level appends the thread id to imports.log. */
function stepModule(name: string, body: string): string {
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
appendFileSync(${JSON.stringify(path.join(dir, `${name}.imports.log`))}, threadId + '\\n');
export default { name: '${name}', version: '1', async run(ctx) { ${body} } };
`,
  );
  return file;
}

function payload(module: string, params: Record<string, unknown> = {}): StepPayload {
  return {
    module,
    params,
    inputs: {},
    outputs: {},
    env: {},
    kernelBackend: 'js',
    logFile: path.join(dir, 'logs', 'task.log'),
  };
}

const importsOf = (name: string) =>
  readFileSync(path.join(dir, `${name}.imports.log`), 'utf8')
    .trim()
    .split('\n')
    .map(Number);

describe('StepWorkerPool', () => {
  it('runs tasks side by side on its threads and returns their results', async () => {
    // A barrier: each task waits until both have arrived, which only happens if they run at the same time.
    const barrier = stepModule(
      'barrier',
      `const { threadId } = await import('node:worker_threads');
       const flag = new Int32Array(ctx.params.sab);
       Atomics.add(flag, 0, 1); Atomics.notify(flag, 0);
       while (Atomics.load(flag, 0) < 2) if (Atomics.wait(flag, 0, 1, 20000) === 'timed-out') return { metadata: { met: false } };
       return { metadata: { met: true, threadId } };`,
    );
    pool = new StepWorkerPool(2);
    const sab = new SharedArrayBuffer(4);
    const signal = new AbortController().signal;
    const [a, b] = await Promise.all([
      pool.run(payload(barrier, { sab }), signal),
      pool.run(payload(barrier, { sab }), signal),
    ]);
    expect(a.ok && b.ok).toBe(true);
    const meta = [a, b].map((o) => (o.ok ? o.result?.metadata : undefined));
    expect(meta.map((m) => m?.['met'])).toEqual([true, true]);
    expect(new Set(meta.map((m) => m?.['threadId'])).size).toBe(2);
    // each thread imported the module once
    expect(importsOf('barrier').sort()).toEqual([...new Set(importsOf('barrier'))].sort());
  });

  it("returns a step's error as a failure value, and the thread goes on with the next task", async () => {
    const failing = stepModule('failing', "throw new Error('no such run 123');");
    const fine = stepModule('fine', "return { items: [{ id: 'a', files: [], data: { n: 1 } }] };");
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    // With the place in the module where it threw (the frame in the step's own file).
    expect(await pool.run(payload(failing), signal)).toEqual({
      ok: false,
      failure: { type: 'step-error', message: `no such run 123 (at ${failing}:4:72)` },
    });
    // The failure names the task's log: the error and its stack are in it.
    const log = readFileSync(path.join(dir, 'logs', 'task.log'), 'utf8');
    expect(log).toMatch(/^error Error: no such run 123\n\s+at /);
    expect(await pool.run(payload(fine), signal)).toEqual({
      ok: true,
      result: { items: [{ id: 'a', files: [], data: { n: 1 } }] },
    });
    // An error that blames a param value carries its path (StepDefinition.run); a malformed `param` is ignored.
    const blaming = stepModule(
      'blaming',
      "throw Object.assign(new Error('no run 9'), { param: ctx.params.blame });",
    );
    expect(await pool.run(payload(blaming, { blame: ['observations', 'obs_ids', 1] }), signal)).toEqual({
      ok: false,
      failure: { type: 'step-error', message: 'no run 9', param: ['observations', 'obs_ids', 1] },
    });
    for (const blame of [[], 'observations', ['a', 1.5], ['a', { b: 1 }]])
      expect(await pool.run(payload(blaming, { blame }), signal)).toEqual({
        ok: false,
        failure: { type: 'step-error', message: 'no run 9' },
      });
  });

  it('cancelling a running task terminates its thread; queued tasks still run on a new one', async () => {
    const spin = stepModule('spin', 'for (;;) {}');
    const fine = stepModule('fine', 'return { metadata: { done: true } };');
    pool = new StepWorkerPool(1);
    const stop = new AbortController();
    const running = pool.run(payload(spin), stop.signal);
    const queued = pool.run(payload(fine), new AbortController().signal);
    const cancelledQueued = new AbortController();
    const dropped = pool.run(payload(fine), cancelledQueued.signal);
    cancelledQueued.abort();
    expect(await dropped).toEqual({ ok: false, failure: { type: 'cancelled' } });
    // Cancel once the spinning module was imported (its thread is busy in it).
    while (!readFileSafe(path.join(dir, 'spin.imports.log'))) await new Promise((r) => setImmediate(r));
    stop.abort();
    expect(await running).toEqual({ ok: false, failure: { type: 'cancelled' } });
    expect(await queued).toEqual({ ok: true, result: { metadata: { done: true } } });
  });

  it('a task over its time limit ends as timed-out and its thread is terminated; the next task runs on a new one', async () => {
    // Each run notes its thread (imports do not tell: a new thread is warmed with every module queued so far, and
    // on a busy machine the limit may pass before the first thread has even imported spin).
    const ranLog = (name: string) => JSON.stringify(path.join(dir, `${name}.ran.log`));
    const spin = stepModule('spin', `appendFileSync(${ranLog('spin')}, threadId + '\\n'); for (;;) {}`);
    const fine = stepModule(
      'fine',
      `appendFileSync(${ranLog('fine')}, threadId + '\\n'); return { metadata: { done: true } };`,
    );
    const ranOn = (name: string) =>
      (readFileSafe(path.join(dir, `${name}.ran.log`)) ?? '').split('\n').filter(Boolean).map(Number);
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    const running = pool.run(payload(spin), signal, 300);
    // Queued behind the spinning task on the pool's one thread: it runs once that thread is replaced.
    const queued = pool.run(payload(fine), signal, 30_000);
    expect(await running).toEqual({ ok: false, failure: { type: 'timed-out' } });
    expect(await queued).toEqual({ ok: true, result: { metadata: { done: true } } });
    expect(ranOn('fine')).toHaveLength(1);
    expect(ranOn('spin')).not.toContain(ranOn('fine')[0]);
  });

  it('a thread that dies fails only its own task', async () => {
    const exit = stepModule('exit', 'process.exit(3);');
    const fine = stepModule('fine', 'return { metadata: { done: true } };');
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    const died = await pool.run(payload(exit), signal);
    // It ends its thread again on a second one: then it fails, both deaths said.
    const exited = 'worker thread exited (code 3; a step that calls process.exit ends its thread)';
    expect(died).toEqual({
      ok: false,
      failure: { type: 'step-error', message: `${exited} (and on its first thread: ${exited})` },
    });
    expect(await pool.run(payload(fine), signal)).toEqual({ ok: true, result: { metadata: { done: true } } });
  });

  it('an error an earlier task left behind fails not the task it falls on: that one runs again on a fresh thread', async () => {
    // The sloppy step returns, then its promise rejects on the thread while the next task runs there.
    const sloppy = stepModule(
      'sloppy',
      "setTimeout(() => Promise.reject(new Error('late rejection from sloppy')), 150); return { metadata: { sloppy: true } };",
    );
    const slow = stepModule(
      'slow',
      'await new Promise((r) => setTimeout(r, 400)); return { metadata: { slow: true } };',
    );
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    expect(await pool.run(payload(sloppy), signal)).toEqual({
      ok: true,
      result: { metadata: { sloppy: true } },
    });
    expect(await pool.run(payload(slow), signal)).toEqual({ ok: true, result: { metadata: { slow: true } } });
  });

  it('warm() starts a thread that imports the module; threads started later for queued work import it too', async () => {
    const warmed = stepModule('warmed', 'return { metadata: { ran: true } };');
    const barrier = stepModule(
      'barrier',
      `const flag = new Int32Array(ctx.params.sab);
       Atomics.add(flag, 0, 1); Atomics.notify(flag, 0);
       while (Atomics.load(flag, 0) < 2) Atomics.wait(flag, 0, 1, 20000);`,
    );
    pool = new StepWorkerPool(2);
    pool.warm(warmed);
    pool.warm(warmed);
    const lines = () => readFileSafe(path.join(dir, 'warmed.imports.log')).trim().split('\n').filter(Boolean);
    // No task was submitted: only warm() makes a thread import the module.
    while (lines().length < 1) await new Promise((r) => setImmediate(r));
    // Two tasks at once need a second thread; it learns the warmed module when it starts.
    const sab = new SharedArrayBuffer(4);
    const signal = new AbortController().signal;
    const both = await Promise.all([
      pool.run(payload(barrier, { sab }), signal),
      pool.run(payload(barrier, { sab }), signal),
    ]);
    expect(both.every((r) => r.ok)).toBe(true);
    while (lines().length < 2) await new Promise((r) => setImmediate(r));
    expect(new Set(importsOf('warmed')).size).toBe(2);
    expect(await pool.run(payload(warmed), signal)).toEqual({
      ok: true,
      result: { metadata: { ran: true } },
    });
    expect(importsOf('warmed')).toHaveLength(2);
    expect(importsOf('barrier')).toHaveLength(2);
  });

  it("a task's outputs come back hashed by the thread that wrote them (absent ones left out)", async () => {
    const writer = stepModule(
      'writer',
      `const { writeFileSync } = await import('node:fs');
       writeFileSync(ctx.outputs.a, 'alpha'.repeat(100000));`,
    );
    pool = new StepWorkerPool(1);
    const outputs = { a: path.join(dir, 'a.out'), b: path.join(dir, 'b.out') };
    const got = await pool.run({ ...payload(writer), outputs }, new AbortController().signal);
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(Object.keys(got.hashes ?? {})).toEqual([outputs.a]);
    const bytes = readFileSync(outputs.a);
    expect(got.hashes?.[outputs.a]?.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(got.hashes?.[outputs.a]?.identity.size).toBe(bytes.length);
  });

  it('prestart(n) boots threads up to the pool size, each importing the modules known so far', async () => {
    const warmed = stepModule('warmed', 'return {};');
    pool = new StepWorkerPool(3);
    pool.warm(warmed);
    pool.prestart(5);
    pool.prestart(2); // never fewer threads than there are
    const lines = () => readFileSafe(path.join(dir, 'warmed.imports.log')).trim().split('\n').filter(Boolean);
    // No task was submitted: only prestart starts the other threads, which import the warmed module.
    while (lines().length < 3) await new Promise((r) => setImmediate(r));
    expect(new Set(importsOf('warmed')).size).toBe(3);
  });

  it("sends a tiny module's next task ahead to the thread running one, rather than to another thread", async () => {
    const tid = stepModule(
      'tid',
      `const { threadId } = await import('node:worker_threads'); return { metadata: { threadId } };`,
    );
    // Tiny below 100 ms: a run slowed past a millisecond by a busy machine must not make this test fail.
    pool = new StepWorkerPool(2, undefined, 100);
    const signal = new AbortController().signal;
    expect((await pool.run(payload(tid), signal)).ok).toBe(true); // its runs are now known to be tiny
    const [a, b] = await Promise.all([pool.run(payload(tid), signal), pool.run(payload(tid), signal)]);
    const ids = [a, b].map((o) => (o.ok ? o.result?.metadata?.['threadId'] : undefined));
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
  });

  it('a task sent ahead runs after the one before it on its thread, never beside it', async () => {
    // `hold`: tiny once learnt; then one run waits for the test (a shared flag) while others are sent ahead to it.
    const hold = stepModule(
      'hold',
      `const { appendFileSync } = await import('node:fs');
       const log = ${JSON.stringify(path.join(dir, 'hold.log'))};
       appendFileSync(log, 'start ' + ctx.params.n + '\\n');
       // Waits without blocking its thread: a run sent ahead could start beside it, were runs not taken in turn.
       if (ctx.params.sab) { const f = new Int32Array(ctx.params.sab); while (Atomics.load(f, 0) === 0) await new Promise((r) => setTimeout(r, 5)); }
       appendFileSync(log, 'end ' + ctx.params.n + '\\n');`,
    );
    // Tiny below 100 ms, learnt from its runs' times: a run slowed by a busy machine does not keep it from counting
    // as tiny (then 2 would go to the idle thread, beside 1, and this test would fail).
    pool = new StepWorkerPool(2, undefined, 100);
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) expect((await pool.run(payload(hold, { n: 0 }), signal)).ok).toBe(true);
    const sab = new SharedArrayBuffer(4);
    const held = pool.run(payload(hold, { n: 1, sab }), signal);
    const ahead = pool.run(payload(hold, { n: 2 }), signal);
    while (!readFileSafe(path.join(dir, 'hold.log')).includes('start 1'))
      await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50)); // time enough for 2 to start beside 1, were it allowed to
    Atomics.store(new Int32Array(sab), 0, 1);
    expect((await held).ok && (await ahead).ok).toBe(true);
    const log = readFileSafe(path.join(dir, 'hold.log')).trim().split('\n');
    // 2 was sent ahead to 1's thread: it started after 1 ended.
    expect(log.indexOf('start 2')).toBeGreaterThan(log.indexOf('end 1'));
  });

  it('a task sent ahead and cancelled before its turn is skipped by its thread', async () => {
    const hold = stepModule(
      'hold',
      `const { appendFileSync } = await import('node:fs');
       appendFileSync(${JSON.stringify(path.join(dir, 'hold.log'))}, 'ran ' + ctx.params.n + '\\n');
       if (ctx.params.sab) { const f = new Int32Array(ctx.params.sab); while (Atomics.load(f, 0) === 0) Atomics.wait(f, 0, 0, 50); }`,
    );
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    expect((await pool.run(payload(hold, { n: 0 }), signal)).ok).toBe(true);
    const sab = new SharedArrayBuffer(4);
    const held = pool.run(payload(hold, { n: 1, sab }), signal);
    const cancel = new AbortController();
    const ahead = pool.run(payload(hold, { n: 2 }), cancel.signal);
    while (!readFileSafe(path.join(dir, 'hold.log')).includes('ran 1'))
      await new Promise((r) => setImmediate(r));
    cancel.abort();
    expect(await ahead).toEqual({ ok: false, failure: { type: 'cancelled' } });
    Atomics.store(new Int32Array(sab), 0, 1);
    expect((await held).ok).toBe(true);
    expect((await pool.run(payload(hold, { n: 3 }), signal)).ok).toBe(true);
    expect(readFileSafe(path.join(dir, 'hold.log')).trim().split('\n')).toEqual(['ran 0', 'ran 1', 'ran 3']);
  });

  it('destroy() ends queued tasks as cancelled', async () => {
    const spin = stepModule('spin', 'for (;;) {}');
    pool = new StepWorkerPool(1);
    const signal = new AbortController().signal;
    const running = pool.run(payload(spin), signal);
    const queued = pool.run(payload(spin), signal);
    await pool.destroy();
    expect(await running).toEqual({ ok: false, failure: { type: 'cancelled' } });
    expect(await queued).toEqual({ ok: false, failure: { type: 'cancelled' } });
  });
});

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('the early pool thread (bin/pipe.js boots it before the engine loads)', () => {
  it('is adopted as the pool’s first thread, and not twice', async () => {
    bootEarlyPoolThread();
    const early = (globalThis as unknown as Record<symbol, { worker: { threadId: number } } | undefined>)[
      Symbol.for('pipe.earlyPoolThread')
    ];
    expect(early).toBeDefined();
    const earlyId = early!.worker.threadId;
    pool = new StepWorkerPool(1);
    const tid = stepModule(
      'tid',
      `const { threadId } = await import('node:worker_threads'); return { metadata: { threadId } };`,
    );
    const r = await pool.run(payload(tid), new AbortController().signal);
    expect(r).toMatchObject({ ok: true, result: { metadata: { threadId: earlyId } } });
    expect(takeEarlyPoolThread(POOL_WORKER_ENTRY)).toBeUndefined();
  });

  it('is not used when it died before the pool started, nor for another entry', async () => {
    bootEarlyPoolThread();
    const early = (globalThis as unknown as Record<symbol, { worker: Worker } | undefined>)[
      Symbol.for('pipe.earlyPoolThread')
    ]!;
    expect(takeEarlyPoolThread(new URL('file:///elsewhere/pool-worker.js'))).toBeUndefined();
    await early.worker.terminate();
    await new Promise((r) => setTimeout(r, 20)); // its 'exit' event
    expect(takeEarlyPoolThread(POOL_WORKER_ENTRY)).toBeUndefined();
    pool = new StepWorkerPool(1);
    const ok = stepModule('ok', 'return { metadata: { fine: true } };');
    expect(await pool.run(payload(ok), new AbortController().signal)).toMatchObject({
      ok: true,
      result: { metadata: { fine: true } },
    });
    // A dead early thread stays in its slot until a new one is booted (bin/pipe.js boots at most one per process).
    (globalThis as unknown as Record<symbol, unknown>)[Symbol.for('pipe.earlyPoolThread')] = undefined;
  });
});

describe('a thread a step leaves blocked in a file operation', () => {
  // Found by helper-112: the task sent ahead to that thread was put back in the queue, but the thread ran it too
  // (its run message had been sent): the task ran twice at once, both writing its outputs.
  it('runs nothing more: the task sent ahead to it runs once, on another thread', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-blocked-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const runs = path.join(dir, 'runs.log');
    const mod = path.join(dir, 'm.mjs');
    writeFileSync(
      mod,
      `import fs from 'node:fs';
export default { name: 'm', version: '1', run(ctx) {
  fs.appendFileSync(${JSON.stringify(runs)}, ctx.params.id + '\\n');
  if (ctx.params.block) fs.promises.readFile(${JSON.stringify(fifo)}).catch(() => {});
} };
`,
    );
    const payload = (params: Record<string, unknown>): StepPayload => ({
      module: mod,
      params,
      inputs: {},
      outputs: {},
      env: {},
      kernelBackend: 'js',
      logFile: path.join(dir, 'logs', 't.log'),
    });
    // One thread, and tasks of this module count as tiny: the next is sent ahead to the running thread.
    const pool = new StepWorkerPool(1, undefined, 1000);
    const signal = new AbortController().signal;
    try {
      await pool.run(payload({ id: 'warm1' }), signal);
      await pool.run(payload({ id: 'warm2' }), signal);
      const [stuck, next] = await Promise.all([
        pool.run(payload({ id: 'stuck', block: true }), signal),
        pool.run(payload({ id: 'next' }), signal),
      ]);
      expect(stuck.ok).toBe(false);
      expect(next.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(
        readFileSync(runs, 'utf8')
          .split('\n')
          .filter((l) => l === 'next'),
      ).toHaveLength(1);
    } finally {
      // Unblock the read, so that the retired thread can end.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      await pool.destroy();
    }
  }, 60_000);
});

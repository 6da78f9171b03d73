/**
 * Interruptions: kill -9 mid-build (the next build completes, the cache has no corrupt entry),
 * Ctrl-C (running tasks end, temps removed, build recorded as interrupted, the next build resumes), SIGTERM and
 * SIGHUP alike,
 * and a second build in the same workspace (refused, or waits with --wait).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  alive,
  blockingCommand,
  finished,
  parseEvents,
  processEnded,
  Workspace,
  waitForFile,
} from './rig.js';

function pipeline(ws: Workspace): string {
  const block = blockingCommand(ws.path('started.pid'), ws.path('release'), 'slow');
  return `version: 1
targets:
  fast:
    inputs: [data.txt]
    command: [node, -e, "require('fs').copyFileSync(process.argv[1], process.argv[2])", "{inputs.default}", "{outputs.out}"]
    outputs: { out: out/fast.txt }
  slow:
    needs: [fast]
    command: ${JSON.stringify(block)}
    outputs: { out: out/slow.txt }
  all:
    inputs: { a: { target: fast }, b: { target: slow } }
    command: [node, -e, "const fs=require('fs');fs.writeFileSync(process.argv[1], process.argv.slice(2).map(f=>fs.readFileSync(f,'utf8')).join('|'))", "{outputs.out}", "{inputs.a}", "{inputs.b}"]
    outputs: { out: out/all.txt }
`;
}

/** A build of `all` whose slow task has started (and blocks until released): the workspace, the pipe process, its end, the task's pid. */
async function buildBlockedOnSlow() {
  const ws = new Workspace({ 'data.txt': 'd' });
  ws.write('pipe.yaml', pipeline(ws));
  const child = ws.spawn(['build', 'all', '--json']);
  const done = finished(child);
  await waitForFile(ws.path('started.pid'));
  return { ws, child, done, blocker: Number(ws.read('started.pid')) };
}

/** Resolves once `ready()` holds (polled; a missing folder counts as not ready). */
async function waitFor(ready: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (ready()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A workspace whose target `big` (built) has 16 products of 4 MB: copying them with --out takes a while. */
async function builtBigProducts(): Promise<{ ws: Workspace; names: string[] }> {
  const names = Array.from({ length: 16 }, (_, i) => `o${i}`);
  const ws = new Workspace({});
  ws.write(
    'pipe.yaml',
    `version: 1
targets:
  big:
    command: [node, -e, "const fs=require('fs');for(const f of process.argv.slice(1))fs.writeFileSync(f,Buffer.alloc(4<<20,f))", ${names.map((n) => `"{outputs.${n}}"`).join(', ')}]
    outputs: {${names.map((n) => `${n}: build/${n}.bin`).join(', ')}}
`,
  );
  expect((await ws.run(['build', 'big'])).code).toBe(0);
  return { ws, names };
}

describe('pipe build: interruptions', () => {
  it('kill -9 mid-build: the next build takes over the stale lock, keeps finished work, and the cache verifies', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    // Finished work is kept once its cache entry is stored: the engine stores it while later tasks run (a kill
    // -9 in those few milliseconds costs that task a rerun, nothing else), so the kill waits for fast's entry.
    await waitFor(() =>
      readdirSync(ws.path('.pipe/cache/ac')).some((f) => !f.startsWith('.') && f.endsWith('.json')),
    );
    child.kill('SIGKILL');
    await done;
    // The blocked command leads its own process group: the killed pipe could not stop it.
    expect(alive(blocker)).toBe(true);
    // Until a build takes the lock over, log and status tell that the record's "running" has no driver.
    expect((await ws.run(['log'])).stdout).toMatch(/\sinterrupted\?\s/);
    expect((await ws.run(['status'])).stdout).toMatch(/status\s+running \(its driver is gone/);
    // What it finished is in its task journal, which status reads while the record says "running".
    const live = JSON.parse((await ws.run(['status', '--json'])).stdout);
    expect(live).toMatchObject({ status: 'running', counts: { ran: 1 }, tasks: { fast: { state: 'ran' } } });
    // What the killed build made but did not record: why says so (not "not a product … edited since?").
    const unrecorded = await ws.run(['why', 'out/fast.txt']);
    expect(unrecorded.code).toBe(2);
    expect(unrecorded.stderr).toMatch(
      /^pipe: 'out\/fast\.txt' is an output of fast, written by build \S+, which was killed before recording it: the next pipe build records it/,
    );
    ws.remove('started.pid');
    // The next build stops it when it takes over the lock (then its own slow task waits for the release).
    const nextChild = ws.spawn(['build', 'all', '--json']);
    const nextDone = finished(nextChild);
    expect(await processEnded(blocker, 10_000)).toBe(true);
    ws.write('release', '');
    const run = await nextDone;
    const ended: Record<string, string[]> = {};
    for (const e of parseEvents(run.stdout)) if (e.event === 'task-end') (ended[e.state!] ??= []).push(e.id!);
    for (const list of Object.values(ended)) list.sort();
    const next = { run, ended };
    expect(next.run.code, next.run.stderr).toBe(0);
    expect(next.ended).toEqual({ ran: ['all', 'slow'], 'up-to-date': ['fast'] });
    expect(ws.read('out/all.txt')).toBe('d|slow');
    expect(next.run.stderr).toMatch(
      /^note: took over the lock of build (\S+) \(pid \d+, no longer running\)\nnote: stopped 1 command that build \1 left running\n$/,
    );
    // The killed build's record no longer says "running" forever.
    const killed = /took over the lock of build (\S+)/.exec(next.run.stderr)![1]!;
    const status = JSON.parse((await ws.run(['status', killed, '--json'])).stdout);
    expect(status).toMatchObject({ id: killed, status: 'interrupted' });
    expect(Date.parse(status.endedAt)).toBeGreaterThanOrEqual(Date.parse(status.startedAt));
    // …and keeps the tasks it finished (its journal folded in, then removed); fast's product is credited to it.
    expect(status).toMatchObject({ counts: { ran: 1 }, tasks: { fast: { state: 'ran' } } });
    expect(ws.exists(`.pipe/builds/${killed}.tasks.jsonl`)).toBe(false);
    expect((await ws.run(['why', 'out/fast.txt'])).stdout).toContain(`last ran in build ${killed}`);
    const verify = await ws.run(['cache', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect((await ws.run(['why', 'out/fast.txt'])).code).toBe(0);
    expect(verify.stdout).toContain('no corrupt entry');
    expect(readdirSync(ws.path('.pipe/tmp'))).toEqual([]);
  });

  it('kill -9 mid-build, then a build with nothing to do: it still takes the lock over and stops what was left', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    expect((await ws.run(['build', 'fast'])).code).toBe(0);
    const child = ws.spawn(['build', 'all', '--json']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    const blocker = Number(ws.read('started.pid'));
    child.kill('SIGKILL');
    await done;
    expect(alive(blocker)).toBe(true);
    // fast is up to date: this build has nothing to run.
    const first = await ws.run(['build', 'fast']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/note: took over the lock of build (\S+) \(pid \d+, no longer running\)/);
    expect(first.stderr).toMatch(/note: stopped 1 command that build \S+ left running/);
    expect(await processEnded(blocker, 10_000)).toBe(true);
    expect((await ws.run(['log'])).stdout).not.toMatch(/\sinterrupted\?\s/);
    // With the lock gone the next no-op is the usual one: nothing recorded.
    const builds = readdirSync(ws.path('.pipe/builds')).length;
    const again = await ws.run(['build', 'fast']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('took over');
    expect(readdirSync(ws.path('.pipe/builds')).length).toBe(builds);
  });

  it('after a kill -9 the plan names the killed build as interrupted, not "no previous build"', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    child.kill('SIGKILL');
    await done;
    const killed = JSON.parse(ws.read('.pipe/lock')).buildId as string;
    const said = (plan: string) => ({
      slow: /run\s+slow\n\s+(.*)\n/.exec(plan)?.[1],
      all: /run\s+all\n\s+(.*)\n/.exec(plan)?.[1],
    });
    const expected = {
      slow: expect.stringMatching(
        new RegExp(
          `^its last run was stopped before it finished \\(build ${killed} at .*: the build was interrupted\\)$`,
        ),
      ),
      all: expect.stringMatching(
        new RegExp(
          `^not started: its last build stopped before it \\(build ${killed} at .*: the build was interrupted\\)$`,
        ),
      ),
    };
    // Before any build takes the lock over (its record still says "running"), and after one did.
    expect(said((await ws.run(['plan', 'all'])).stdout)).toEqual(expected);
    const next = await ws.run(['build', 'fast']);
    expect(next.stderr).toMatch(/took over the lock of build/);
    expect(await processEnded(blocker, 10_000)).toBe(true);
    expect(said((await ws.run(['plan', 'all'])).stdout)).toEqual(expected);
    expect((await ws.run(['log'])).stdout).toMatch(
      /interrupted all {2}\(1 ran, 1 cancelled, 1 not started\)/,
    );
  });

  it('pipe why names the build that wrote a product it has not recorded: the running one, the killed one', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    const killed = JSON.parse(ws.read('.pipe/lock')).buildId as string;
    await waitFor(() => ws.read(`.pipe/builds/${killed}.tasks.jsonl`).includes('"id":"fast","state":"ran"'));
    const why = async () => (await ws.run(['why', 'out/fast.txt'])).stderr;
    expect(await why()).toBe(
      `pipe: 'out/fast.txt' is an output of fast, written by build ${killed}, which is still running: it records it when it ends, and pipe why explains it then\n`,
    );
    child.kill('SIGKILL');
    await done;
    // The next build takes the lock over and runs: the product is still the killed build's, not the newest build's.
    ws.remove('started.pid');
    const next = ws.spawn(['build', 'all']);
    const nextDone = finished(next);
    expect(await processEnded(blocker, 10_000)).toBe(true);
    await waitForFile(ws.path('started.pid'));
    expect(JSON.parse(ws.read('.pipe/lock')).buildId).not.toBe(killed);
    expect(await why()).toBe(
      `pipe: 'out/fast.txt' is an output of fast, written by build ${killed}, which was interrupted before recording it: the next pipe build records it, and pipe why explains it then\n`,
    );
    ws.write('release', '');
    expect((await nextDone).code).toBe(0);
    expect((await ws.run(['why', 'out/fast.txt'])).stdout).toContain('  → out/fast.txt');
  });

  it('pipe why of a product put back as a killed build left it, since remade and recorded: edited, not the killed build', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    const killed = JSON.parse(ws.read('.pipe/lock')).buildId as string;
    await waitFor(() => ws.read(`.pipe/builds/${killed}.tasks.jsonl`).includes('"id":"fast","state":"ran"'));
    const left = ws.read('out/fast.txt');
    child.kill('SIGKILL');
    await done;
    ws.write('data.txt', 'e');
    const next = await ws.run(['build', 'fast']);
    expect(next.code, next.stderr).toBe(0);
    expect(await processEnded(blocker, 10_000)).toBe(true);
    expect(ws.read('out/fast.txt')).toBe('e');
    // The newest build that wrote it wrote other bytes: these came from elsewhere.
    ws.write('out/fast.txt', left);
    const why = await ws.run(['why', 'out/fast.txt']);
    expect(why.stdout).toMatch(
      /→ out\/fast\.txt \(sha256 \w+\) — now differs \(sha256 \w+\): edited or replaced since/,
    );
  });

  it('pipe why of a product a running build remade: the running build wrote it, not an edit', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    expect((await ws.run(['build', 'fast'])).code).toBe(0);
    ws.write('data.txt', 'e');
    const child = ws.spawn(['build', 'all']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    const running = JSON.parse(ws.read('.pipe/lock')).buildId as string;
    await waitFor(() => ws.read(`.pipe/builds/${running}.tasks.jsonl`).includes('"id":"fast","state":"ran"'));
    const why = await ws.run(['why', 'out/fast.txt']);
    expect(why.stdout).toMatch(
      new RegExp(
        `→ out/fast\\.txt \\(sha256 \\w+\\) — now differs \\(sha256 \\w+\\): written by build ${running}, which is still running: it records it when it ends`,
      ),
    );
    ws.write('release', '');
    expect((await done).code).toBe(0);
  });

  it('kill -9, then its pid reused by another process: the lock is stale, pipe cancel leaves that process alone', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    child.kill('SIGKILL');
    await done;
    // After a kill -9 (or a reboot) the dead driver's pid may be given to any process: here, one started since.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const lock = JSON.parse(ws.read('.pipe/lock'));
      ws.write('.pipe/lock', JSON.stringify({ ...lock, pid: other.pid }));
      expect((await ws.run(['status'])).stdout).toMatch(/status\s+running \(its driver is gone/);
      const cancel = await ws.run(['cancel']);
      expect(cancel.stderr).toContain('its driver was gone: recorded as interrupted');
      expect(alive(other.pid!)).toBe(true);
      const next = await ws.run(['build', 'fast']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/note: took over the lock of build \S+ \(pid \d+, no longer running\)/);
      expect(await processEnded(blocker, 10_000)).toBe(true);
      expect(alive(other.pid!)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('kill -9 as soon as a build says it started: its record is there, and the next build records it interrupted', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    // The header came before the record was written: a kill then left a build that log and status never knew.
    for (let attempt = 0; attempt < 3; attempt++) {
      ws.remove('out');
      const child = ws.spawn(['build', 'fast']);
      const done = finished(child);
      const id = await new Promise<string>((resolve) =>
        child.stderr!.on('data', (chunk: Buffer) => {
          const m = /^build (\S+): /m.exec(String(chunk));
          if (m) {
            child.kill('SIGKILL');
            resolve(m[1]!);
          }
        }),
      );
      await done;
      const next = await ws.run(['build', 'fast']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain(`took over the lock of build ${id}`);
      const status = await ws.run(['status', id, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'interrupted' });
    }
  });

  it('a build that released the lock without its end record (a full disk) is recorded as interrupted by the next', async () => {
    const { ws, child, done } = await buildBlockedOnSlow();
    await waitFor(() => readdirSync(ws.path('.pipe/builds')).some((f) => f.endsWith('.tasks.jsonl')));
    child.kill('SIGKILL');
    await done;
    ws.write('release', ''); // its command ends by itself: no build takes it over below
    // What a build whose end record hit ENOSPC leaves: its record says "running", its journal, and no lock.
    ws.remove('.pipe/lock');
    const id = JSON.parse((await ws.run(['status', '--json'])).stdout).id as string;
    // fast is up to date: the next build has nothing to run.
    const next = await ws.run(['build', 'fast']);
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse((await ws.run(['status', id, '--json'])).stdout)).toMatchObject({
      status: 'interrupted',
      tasks: { fast: { state: 'ran' } },
    });
    expect((await ws.run(['log'])).stdout).not.toContain('interrupted?');
    expect(ws.exists(`.pipe/builds/${id}.tasks.jsonl`)).toBe(false);
  });

  it("the build after a kill -9 removes the partial copies the killed build's restores left in product folders", async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    expect((await ws.run(['build', 'fast'])).code).toBe(0);
    // What a build killed half-way through restoring out/fast.txt leaves: its lock and a partial copy (a dead pid's),
    // beside a user's own file that only looks alike.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const partial = `out/.tmp-${host}~${dead}~0123456789ab.0.1~fast.txt`;
    ws.write(partial, 'half');
    ws.write('out/.tmp-notes.txt', 'mine');
    ws.write(
      '.pipe/lock',
      JSON.stringify({
        pid: dead,
        host: hostname(),
        buildId: '20260101-000000-000-abcdef',
        startedAt: new Date().toISOString(),
      }),
    );
    const next = await ws.run(['build', 'fast']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('took over the lock');
    expect(ws.exists(partial)).toBe(false);
    expect(ws.read('out/.tmp-notes.txt')).toBe('mine');
  });

  it("kill -9 while --out copies the products: the next --out build removes the killed copy's partial files", async () => {
    const { ws, names } = await builtBigProducts();
    const partial = () => readdirSync(ws.path('out')).filter((f) => f.includes('tmp'));
    // The copies are staged before any is renamed: a kill as soon as the first appears lands among them (tried
    // again if this machine copied them all first).
    let left: string[] = [];
    for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) {
      ws.remove('out');
      const child = ws.spawn(['build', 'big', '--out', 'out']);
      const done = finished(child);
      let ended = false;
      void done.then(() => {
        ended = true;
      });
      await waitFor(() => ended || partial().length > 0);
      child.kill('SIGKILL');
      await done;
      left = ws.exists('out') ? partial() : [];
    }
    expect(left.length).toBeGreaterThan(0);
    const next = await ws.run(['build', 'big', '--out', 'out']);
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(ws.path('out')).sort()).toEqual(
      ['.pipe-out.json', ...names.map((n) => `${n}.bin`)].sort(),
    );
  });

  it('Ctrl-C while --out copies the products: exits 130, removes its partial copies, replaces nothing there', async () => {
    const { ws } = await builtBigProducts();
    const partial = () => readdirSync(ws.path('out')).filter((f) => f.includes('tmp'));
    // A signal as soon as the first staged copy appears lands among the copies (tried again if this machine copied
    // them all first: that build still exits 130, its copies all in place; or if it had ended before the signal, a
    // look between two polls of a loaded machine).
    let stopped: { code: number | null; stderr: string } | undefined;
    for (let attempt = 0; attempt < 5 && stopped === undefined; attempt++) {
      ws.remove('out');
      ws.write('out/o0.bin', 'an earlier copy');
      const child = ws.spawn(['build', 'big', '--out', 'out']);
      const done = finished(child);
      let ended = false;
      void done.then(() => {
        ended = true;
      });
      await waitFor(() => ended || partial().length > 0);
      const during = !ended;
      child.kill('SIGINT');
      const run = await done;
      if (!run.stderr.includes('pipe: SIGINT: stopping')) continue; // it had exited (0): the signal came too late
      expect(run.code, run.stderr).toBe(130);
      expect(partial()).toEqual([]);
      if (during && run.stderr.includes('nothing there was replaced')) stopped = run;
    }
    expect(stopped?.stderr).toContain('stopped before the copies were put in place');
    expect(readdirSync(ws.path('out'))).toEqual(['o0.bin']);
    expect(ws.read('out/o0.bin')).toBe('an earlier copy');
  });

  it('Ctrl-C cancels running tasks, removes temps, records the build as interrupted; the next build resumes', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    expect(await processEnded(blocker)).toBe(true);
    const events = parseEvents(run.stdout);
    expect(events.find((e) => e.event === 'build-end')).toMatchObject({ status: 'interrupted' });
    expect(ws.exists('out/slow.txt')).toBe(false);
    expect(readdirSync(ws.path('.pipe/tmp'))).toEqual([]);
    expect(ws.exists('.pipe/lock')).toBe(false);
    const status = JSON.parse((await ws.run(['status', '--json'])).stdout);
    expect(status).toMatchObject({
      status: 'interrupted',
      tasks: {
        fast: { state: 'ran' },
        slow: { state: 'cancelled' },
        // Not "did not succeed", which reads as a failure of slow.
        all: { state: 'skipped', error: 'upstream task slow was cancelled: the build was stopped' },
      },
    });
    // The next build says why the stopped task runs again: not "no previous build".
    const buildId = events.find((e) => e.event === 'build-end')?.buildId;
    const plan = await ws.run(['plan', 'all']);
    expect(plan.stdout).toContain(`its last run was stopped before it finished (build ${buildId} at `);
    expect(plan.stdout).toContain(': the build was interrupted)');
    expect(plan.stdout).toMatch(/run +slow\n +its last run was stopped/);
    ws.write('release', '');
    const next = await ws.build(['all']);
    expect(next.ended).toEqual({ ran: ['all', 'slow'], 'up-to-date': ['fast'] });
  });

  it('SIGTERM (a batch scheduler, kill) stops the same way and exits 143', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    child.kill('SIGTERM');
    const run = await done;
    expect(run.code).toBe(143);
    expect(run.stderr).toContain('pipe: SIGTERM: stopping (running tasks are cancelled)');
    expect(await processEnded(blocker)).toBe(true);
    expect(ws.exists('out/slow.txt')).toBe(false);
    expect(ws.exists('.pipe/lock')).toBe(false);
  });

  it('SIGHUP (the terminal or ssh session closed) stops the same way and exits 129: no command runs on', async () => {
    const { ws, child, done, blocker } = await buildBlockedOnSlow();
    child.kill('SIGHUP');
    const run = await done;
    expect(run.code).toBe(129);
    expect(run.stderr).toContain('pipe: SIGHUP: stopping (running tasks are cancelled)');
    expect(await processEnded(blocker)).toBe(true);
    expect(parseEvents(run.stdout).find((e) => e.event === 'build-end')).toMatchObject({
      status: 'interrupted',
    });
    expect(ws.exists('.pipe/lock')).toBe(false);
  });

  it('a second build in the same workspace is refused, or waits with --wait', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    const first = finished(ws.spawn(['build', 'all', '--json']));
    await waitForFile(ws.path('started.pid'));
    const refused = await ws.run(['build', 'fast']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/another build \(.*pid \d+.*\) is running in this workspace/);
    // With --json, the refusal is one `error` event (it wrote nothing on stdout).
    const refusedJson = await ws.run(['build', 'fast', '--json']);
    expect(refusedJson.code).toBe(1);
    expect(parseEvents(refusedJson.stdout)).toEqual([
      {
        event: 'error',
        exitCode: 1,
        message: expect.stringMatching(
          /another build \(.*\) is running in this workspace; wait for it or use --wait$/,
        ),
        diagnostics: [],
      },
    ]);
    const waiting = finished(ws.spawn(['build', 'all', '--wait', '--json']));
    ws.write('release', '');
    expect((await first).code).toBe(0);
    const second = await waiting;
    expect(second.code, second.stderr).toBe(0);
    expect(
      parseEvents(second.stdout)
        .filter((e) => e.event === 'task-end')
        .map((e) => e.state),
    ).toEqual(['up-to-date', 'up-to-date', 'up-to-date']);
  });

  it('a build that waits with --wait says for which build, at once (not a silent pause)', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    const first = finished(ws.spawn(['build', 'all', '--json']));
    await waitForFile(ws.path('started.pid'));
    const child = ws.spawn(['build', 'all', '--wait']);
    let stderr = '';
    const said = new Promise<void>((resolve) =>
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += String(chunk);
        if (stderr.includes('\n')) resolve();
      }),
    );
    const waiting = finished(child);
    await said; // while the first build still holds the lock: it is released only below
    expect(stderr).toMatch(
      /^pipe: waiting for build \d{8}-\d{6}-\d{3}-[0-9a-f]{6} \(pid \d+ on .+\) to finish\n/,
    );
    ws.write('release', '');
    expect((await first).code).toBe(0);
    expect((await waiting).code).toBe(0);
  });

  it('Ctrl-C while a build waits with --wait: it exits 130 saying it was stopped, the first build goes on', async () => {
    const ws = new Workspace({ 'data.txt': 'd' });
    ws.write('pipe.yaml', pipeline(ws));
    const first = finished(ws.spawn(['build', 'all', '--json']));
    await waitForFile(ws.path('started.pid'));
    const child = ws.spawn(['build', 'all', '--wait', '120']);
    let stderr = '';
    const said = new Promise<void>((resolve) =>
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += String(chunk);
        if (stderr.includes('waiting for build')) resolve();
      }),
    );
    const waiting = finished(child);
    let stopped: Awaited<typeof waiting>;
    try {
      await said;
      child.kill('SIGINT');
      stopped = await waiting;
    } finally {
      ws.write('release', ''); // the first build ends whatever happened (a failed test leaves nothing running)
    }
    expect(stopped.code).toBe(130);
    // Not "it still was after 120 s": it waited a moment, and was stopped.
    expect(stopped.stderr).not.toContain('still was after');
    expect(stopped.stderr).toMatch(
      /another build \(.*\) is running in this workspace; stopped while waiting for it\n$/,
    );
    expect((await first).code).toBe(0);
    expect(ws.read('out/all.txt')).toBe('d|slow');
  });
});

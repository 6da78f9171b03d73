/**
 * The tasks of a fan-out that a build never started (it stopped at a failure without -k, or was interrupted) are
 * not "new items added to the foreach" at the next plan or build: nothing was added; the last build stopped
 * before it got to them, and the reason says so. Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { blockingCommand, finished, parseEvents, Workspace, waitForFile } from './rig.js';

describe('a fan-out a build stopped before it got to all its tasks', () => {
  it('after a failure without -k, the tasks not started are not called new items', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    foreach: [a, b, c, d, e]
    command: [sh, -c, 'test "$1" != c && echo "$1" > "$2"', sh, "{item}", "{outputs.out}"]
    outputs: {out: "o/{item}.txt"}
`,
    });
    const first = await ws.build(['t'], ['-j', '1']);
    expect(first.end).toMatchObject({ status: 'failed' });
    const notStarted = first.ended['not-started'] ?? [];
    expect(notStarted.length).toBeGreaterThan(0);
    expect((first.ended['ran'] ?? []).length).toBeGreaterThan(0);

    const plan = await ws.run(['plan', 't']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toContain('new item');
    for (const id of notStarted)
      expect(plan.stdout).toContain(
        `run         ${id}\n              not started: its last build stopped before it (build ${first.end?.buildId} at `,
      );
    expect(plan.stdout).toContain(': another task failed)');
    // The end line calls them as it calls those an interrupted build never started (below).
    const again = await ws.run(['build', 't', '-j', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ failed: [^\n]*\d+ not started \(/);
    expect(again.stderr).not.toContain('not-started');

    ws.write('pipe.yaml', ws.read('pipe.yaml').replace('!= c', '!= zz'));
    const next = await ws.run(['build', 't', '-j', '1']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('new item');
  });

  it('after Ctrl-C, the tasks the build had not started are not called new items', async () => {
    const ws = blockedFanOut();
    // t[b] blocks until released: stopped while it runs, the build leaves the tasks queued behind it (-j 1) unstarted.
    const child = ws.spawn(['build', 't', '--json', '-j', '1']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    const events = parseEvents(run.stdout);
    const buildId = events.find((e) => e.event === 'build-end')?.buildId;
    const cancelled = events
      .filter((e) => e.event === 'task-end' && e.state === 'cancelled')
      .map((e) => e.id!)
      .filter((id) => id !== 't[b]');
    // t[c] waited for the slot (-j 1): without it the loop below would assert nothing.
    expect(cancelled).toEqual(['t[c]']);
    const ran = events.filter((e) => e.event === 'task-end' && e.state === 'ran').map((e) => e.id!);
    expect(ran).toContain('first');

    const plan = await ws.run(['plan', 't']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toContain('new item');
    expect(plan.stdout).toContain(
      `run         t[b]\n              its last run was stopped before it finished (build ${buildId} at `,
    );
    for (const id of cancelled)
      expect(plan.stdout).toContain(
        `run         ${id}\n              not started: its last build stopped before it (build ${buildId} at `,
      );
  });

  it("the interrupted build's end line tells the tasks it never started from the one it stopped", async () => {
    const ws = blockedFanOut();
    const child = ws.spawn(['build', 't', '-j', '1']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    // first and t[a] ran, t[b] was stopped while it ran, t[c] waited for the slot: not "2 cancelled".
    expect(run.stderr).toMatch(/ interrupted: 2 ran, 1 cancelled, 1 not started \(/);
    // pipe log and pipe status count that build as its end line did (they said '2 cancelled').
    const log = await ws.run(['log']);
    expect(log.stdout).toMatch(/ interrupted +t {2}\(2 ran, 1 cancelled, 1 not started\)\n/);
    const status = await ws.run(['status']);
    expect(status.stdout).toContain('counts    2 ran, 1 cancelled, 1 not started\n');
  });
});

/** `first`, then t[a], t[b], t[c] (-j 1 runs them in that order); t[b] blocks until `release` is written. */
function blockedFanOut(): Workspace {
  const ws = new Workspace({});
  const block = blockingCommand(ws.path('started.pid'), ws.path('release'), 'b');
  ws.write(
    'pipe.yaml',
    `version: 1
targets:
  first:
    command: [sh, -c, 'echo a > "$1"', sh, "{outputs.out}"]
    outputs: {out: o/first.txt}
  t:
    foreach: [a, b, c]
    needs: [first]
    command: [sh, -c, 'i="$1"; shift; if [ "$i" = b ]; then exec "$@"; fi; echo x > "$4"', sh, "{item}", ${block.map((a) => JSON.stringify(a)).join(', ')}]
    outputs: {out: "o/{item}.txt"}
`,
  );
  return ws;
}

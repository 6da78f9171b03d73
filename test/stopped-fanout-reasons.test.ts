/**
 * The tasks of a fan-out that a build never started (it stopped at a failure without -k, or was interrupted) are
 * not "new items added to the foreach" at the next plan or build: nothing was added; the last build stopped
 * before it got to them, and the reason says so. Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { blockingCommand, finished, parseEvents, Workspace, waitForFile } from './rig.js';

describe('a fan-out a build stopped before it got to all its tasks', () => {
  it('after a failure without -k, the tasks not started are not called new items', async () => {
    // Every second task run fails, whichever item it is (-j 1 runs the items in no order the test relies on).
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    foreach: [a, b, c, d, e]
    command: [sh, -c, 'n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count; [ $((n % 2)) -eq 1 ] && echo "$1" > "$2"', sh, "{item}", "{outputs.out}"]
    outputs: {out: "o/{item}.txt"}
`,
    });
    const first = await ws.build(['t'], ['-j', '1']);
    expect(first.end).toMatchObject({ status: 'failed' });
    const notStarted = first.ended['not-started'] ?? [];
    expect(notStarted).toHaveLength(3);
    expect(first.ended['ran']).toHaveLength(1);

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
    const endLine = /build \S+ failed: ([^\n]*) \(/.exec(again.stderr)?.[1] ?? '';
    expect(endLine.split(', ').sort()).toEqual(['1 failed', '1 ran', '1 up-to-date', '2 not started']);
    expect(again.stderr).not.toContain('not-started');

    ws.write('pipe.yaml', ws.read('pipe.yaml').replace('[ $((n % 2)) -eq 1 ] && ', ''));
    const next = await ws.run(['build', 't', '-j', '1']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('new item');
  });

  it('after Ctrl-C, the tasks the build had not started are not called new items', async () => {
    const ws = blockedFanOut();
    const child = ws.spawn(['build', 't', '--json', '-j', '1']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    const events = parseEvents(run.stdout);
    const buildId = events.find((e) => e.event === 'build-end')?.buildId;
    const ran = events.filter((e) => e.event === 'task-end' && e.state === 'ran').map((e) => e.id!);
    expect(ran).toEqual(['first']);
    const cancelled = events
      .filter((e) => e.event === 'task-end' && e.state === 'cancelled')
      .map((e) => e.id!);
    expect(cancelled.sort()).toEqual(['t[a]', 't[b]', 't[c]']);

    const plan = await ws.run(['plan', 't']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toContain('new item');
    // The one that ran when Ctrl-C came was stopped; the two waiting for the slot were not started.
    const told = (text: string) =>
      plan.stdout.match(new RegExp(`\\n +${text} \\(build ${buildId} at `, 'g'))?.length ?? 0;
    expect(told('its last run was stopped before it finished')).toBe(1);
    expect(told('not started: its last build stopped before it')).toBe(2);
  });

  it("the interrupted build's end line tells the tasks it never started from the one it stopped", async () => {
    const ws = blockedFanOut();
    const child = ws.spawn(['build', 't', '-j', '1']);
    const done = finished(child);
    await waitForFile(ws.path('started.pid'));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    // first ran, one item was stopped while it ran, two waited for the slot: not "3 cancelled".
    expect(run.stderr).toMatch(/ interrupted: 1 ran, 1 cancelled, 2 not started \(/);
    // pipe log and pipe status count that build as its end line did (they said '3 cancelled').
    const log = await ws.run(['log']);
    expect(log.stdout).toMatch(/ interrupted +t {2}\(1 ran, 1 cancelled, 2 not started\)\n/);
    const status = await ws.run(['status']);
    expect(status.stdout).toContain('counts    1 ran, 1 cancelled, 2 not started\n');
  });
});

/**
 * `first`, then the items a, b, c one at a time (-j 1, in no order the test relies on): each blocks until `release`
 * is written, so the first to start holds the slot and the two others wait for it.
 */
function blockedFanOut(): Workspace {
  const ws = new Workspace({});
  const block = blockingCommand(ws.path('started.pid'), ws.path('release'), 'x');
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
    command: ${JSON.stringify(block)}
    outputs: {out: "o/{item}.txt"}
`,
  );
  return ws;
}

import type { Plan, PlannedTask } from '@pipe/core';
import { describe, expect, it } from 'vitest';
import { planToJson, planToText } from '../src/plan-text.js';

function blocked(id: string, upstream: string[]): PlannedTask {
  return {
    task: { id, target: id, deps: upstream, inputs: {}, outputs: {}, params: {} },
    decision: { action: 'blocked', upstream },
  } as PlannedTask;
}

describe('planToText', () => {
  it('names five upstream tasks of a gather and counts the rest (a 2,000-item gather was one 20 KB line)', () => {
    const items = Array.from({ length: 2000 }, (_, i) => `cp[f${i}]`);
    const few = ['a', 'b'];
    const plan: Plan = {
      order: ['sum', 'pair'],
      tasks: new Map([
        ['sum', blocked('sum', items)],
        ['pair', blocked('pair', few)],
      ]),
      pending: [],
      items: new Map(),
    };
    const text = planToText(plan, false);
    expect(text).toContain(
      'maybe       sum\n              runs if its upstream outputs change (cp[f0], cp[f1], cp[f2], cp[f3], cp[f4] and 1995 more)\n',
    );
    expect(text).toContain('runs if its upstream outputs change (a, b)\n');
  });
});

function planned(id: string, target: string, decision: PlannedTask['decision']): PlannedTask {
  return { task: { id, target, deps: [], inputs: {}, outputs: {}, params: {} }, decision } as PlannedTask;
}

describe('planToText groups a fan-out', () => {
  // Editing the script 2,000 per-file tasks run printed 4,000 lines, the same reason 2,000 times.
  const reason = {
    type: 'input-changed',
    input: 'script',
    path: 'scripts/calib.py',
    old: '8d3aac28065390c6',
    new: '54ae9aaff83843c3',
  };
  const ids = Array.from({ length: 2000 }, (_, i) => `calib[f${i}]`);
  const tasks = new Map<string, PlannedTask>(
    ids.map((id) => [id, planned(id, 'calib', { action: 'run', key: 'k', reasons: [reason] } as never)]),
  );
  // One item whose own file changed too: its reasons differ, so it is listed on its own.
  tasks.set(
    'calib[f7]',
    planned('calib[f7]', 'calib', {
      action: 'run',
      key: 'k',
      reasons: [
        reason,
        {
          type: 'input-changed',
          input: 'raw',
          path: 'data/f7.csv',
          old: '2184b725aec5d00d',
          new: 'efc1fb15c5ec5b81',
        },
      ],
    } as never),
  );
  tasks.set('merge', planned('merge', 'merge', { action: 'blocked', upstream: ids } as never));
  const nights = Array.from({ length: 8 }, (_, i) => `stack[n${i}]`);
  for (const [i, id] of nights.entries())
    tasks.set(id, planned(id, 'stack', { action: 'blocked', upstream: [ids[i]!] } as never));
  const plan: Plan = { order: [...ids, 'merge', ...nights], tasks, pending: [], items: new Map() };

  it("prints a target's tasks with the same action and reasons once, with their count", () => {
    const text = planToText(plan, false);
    expect(text).toContain(
      'run         calib: 1999 tasks (calib[f0], calib[f1], calib[f2], calib[f3], calib[f4] and 1994 more; pipe plan -a lists each)\n' +
        '              input changed: scripts/calib.py 8d3aac280653 → 54ae9aaff838\n',
    );
    expect(text).toContain('run         calib[f7]\n');
    expect(text).toContain('maybe       merge\n');
    expect(text).toContain(
      'maybe       stack: 8 tasks (stack[n0], stack[n1], stack[n2], stack[n3], stack[n4] and 3 more; pipe plan -a lists each)\n' +
        '              runs if its upstream outputs change (calib[f0], calib[f1], calib[f2], calib[f3], calib[f4] and 3 more)\n',
    );
    expect(text.split('\n').length).toBeLessThan(20);
    expect(text).toContain('plan: 2000 to run, 0 to restore, 9 maybe, 0 up to date\n');
  });

  it('lists each task with --all', () => {
    const text = planToText(plan, true);
    expect(text).toContain(
      'run         calib[f1999]\n              input changed: scripts/calib.py 8d3aac280653 → 54ae9aaff838\n',
    );
    expect(text).toContain('maybe       stack[n7]\n');
    expect(text).not.toContain('tasks (');
  });
});

describe("planToText: a task's many changed inputs", () => {
  it('lists five and counts the rest (a gather of 500 files moved elsewhere listed 502 lines)', () => {
    const reasons = [
      { type: 'param-changed', key: 'sigma', old: 3, new: 2 },
      ...Array.from({ length: 500 }, (_, i) => ({
        type: 'input-changed',
        input: 'cal',
        path: `build/cal/a${i}.csv`,
        old: '8d3aac28065390c6',
        new: null,
      })),
      { type: 'input-changed', input: 'cal', path: 'build/cal/b.csv', old: null, new: '8d3aac28065390c6' },
      {
        type: 'input-changed',
        input: 'cal',
        path: 'build/cal/c.csv',
        old: '8d3aac28065390c6',
        new: '54ae9aaff83843c3',
      },
    ];
    const plan: Plan = {
      order: ['catalog'],
      tasks: new Map([
        ['catalog', planned('catalog', 'catalog', { action: 'run', key: 'k', reasons } as never)],
      ]),
      pending: [],
      items: new Map(),
    };
    const text = planToText(plan, false);
    expect(text).toBe(
      [
        'run         catalog',
        '              param changed: sigma 3 → 2',
        ...Array.from({ length: 5 }, (_, i) => `              input removed: build/cal/a${i}.csv (cal)`),
        '              and 497 more inputs (1 added, 495 removed, 1 changed; pipe plan --json lists each)',
        'plan: 1 to run, 0 to restore, 0 maybe, 0 up to date',
        '',
      ].join('\n'),
    );
  });
});

describe('planToText: new items of a fan-out', () => {
  const reason = (i: number) => ({
    type: 'new-item',
    target: 'calib',
    item: `f${i}`,
    foreach: 'glob',
    path: `data/f${i}.csv`,
  });
  const plan = (n: number): Plan => {
    const ids = Array.from({ length: n }, (_, i) => `calib[f${i}]`);
    return {
      order: ids,
      tasks: new Map(
        ids.map((id, i) => [
          id,
          planned(id, 'calib', { action: 'run', key: 'k', reasons: [reason(i)] } as never),
        ]),
      ),
      pending: [],
      items: new Map(),
    };
  };

  it('names the file of one new item', () => {
    expect(planToText(plan(1), false)).toBe(
      [
        'run         calib[f0]',
        "              new item: data/f0.csv added to the foreach of 'calib'",
        'plan: 1 to run, 0 to restore, 0 maybe, 0 up to date',
        '',
      ].join('\n'),
    );
  });

  it('makes 500 new items one entry (each named its own file, and had an entry of its own)', () => {
    expect(planToText(plan(500), false)).toBe(
      [
        'run         calib: 500 tasks (calib[f0], calib[f1], calib[f2], calib[f3], calib[f4] and 495 more; pipe plan -a lists each)',
        "              new items: files added to the foreach of 'calib'",
        'plan: 500 to run, 0 to restore, 0 maybe, 0 up to date',
        '',
      ].join('\n'),
    );
    expect(planToText(plan(500), true)).toContain(
      "run         calib[f499]\n              new item: data/f499.csv added to the foreach of 'calib'\n",
    );
  });
});

describe('planToText: tasks no longer in the pipeline', () => {
  const departed = [
    { id: 'calib[f1]', removed: ['out/f1.csv', 'out/f1.png'], kept: [] },
    ...Array.from({ length: 7 }, (_, i) => ({
      id: `conv[r${i}]`,
      removed: i === 6 ? [] : [`out/conv/r${i}.fits`],
      kept: i === 6 ? ['out/conv/r6.fits'] : [],
    })),
    { id: 'stack[n1]', removed: [], kept: ['out/stack/n1.fits'] },
  ];
  const plan: Plan = { order: [], tasks: new Map(), pending: [], items: new Map(), departed };

  it('says what a build removes and what it leaves, more than five of a target as one entry', () => {
    expect(planToText(plan, false)).toBe(
      [
        'departed    calib[f1]',
        '              no longer in the pipeline: a build that succeeds removes its 2 outputs from the workspace (the cache keeps them): out/f1.csv, out/f1.png',
        'departed    conv: 7 tasks (conv[r0], conv[r1], conv[r2], conv[r3], conv[r4] and 2 more; pipe plan -a lists each)',
        '              no longer in the pipeline: a build that succeeds removes their 6 outputs from the workspace (the cache keeps them): out/conv/r0.fits, out/conv/r1.fits, out/conv/r2.fits, out/conv/r3.fits, out/conv/r4.fits and 1 more',
        '              and leaves 1 output in place (edited since, or not in the cache): out/conv/r6.fits',
        'departed    stack[n1]',
        '              no longer in the pipeline: a build leaves its output in place (edited since, or not in the cache): out/stack/n1.fits',
        'plan: 0 to run, 0 to restore, 0 maybe, 0 up to date, 9 departed',
        '',
      ].join('\n'),
    );
    expect(planToText(plan, true)).toContain(
      'departed    conv[r5]\n              no longer in the pipeline: a build that succeeds removes its output from the workspace (the cache keeps it): out/conv/r5.fits\n',
    );
  });

  it('with no output of its own left (its path template edited): its record is forgotten, no file removed', () => {
    // Not "no output to remove": the files it wrote may well be there, left where they are.
    const edited: Plan = { ...plan, departed: [{ id: 'calib[f2]', removed: [], kept: [] }] };
    expect(planToText(edited, false)).toContain(
      'departed    calib[f2]\n              no longer in the pipeline: a build that succeeds forgets its record and removes no file (its recorded outputs are gone, or no longer its own)\n',
    );
  });

  it('are listed under --json', () => {
    expect(planToJson(plan).departed).toEqual(departed);
    expect(planToJson({ ...plan, departed: undefined }).departed).toEqual([]);
  });
});

/**
 * Planner structure tests for a fan-out that gains an item: the new item's tasks say which item is new and where it
 * comes from (a glob, a list, an upstream target), not "no previous build", which stays the reason of a target's
 * first build. Nothing runs: the workspace is virtual (planner-fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ForeachSpec, Task } from '../src/model/types.js';
import { planGraph } from '../src/plan/planner.js';
import { renderAlikeReason, renderReason } from '../src/plan/reasons.js';
import {
  commandTarget,
  emptyState,
  fakeBuild,
  graphOf,
  pipelineOf,
  type StateData,
  stepsFor,
  task,
  VirtualWorkspace,
} from './planner-fixture.js';

/** each[i] over `items` (a file in/i.txt each) → next[i] (per item) → gather over next. */
function fanOut(foreach: ForeachSpec, items: string[]) {
  const pipeline = pipelineOf([
    commandTarget('each', { foreach }),
    commandTarget('next', { foreach }),
    commandTarget('gather'),
  ]);
  const tasks: Task[] = items.flatMap((i) => [
    task(`each[${i}]`, 'each', {
      files: [`in/${i}.txt`],
      outputs: { out: `out/each/${i}` },
      item: { id: i, files: foreach.kind === 'glob' ? [`in/${i}.txt`] : [] },
    }),
    task(`next[${i}]`, 'next', {
      from: [[`each[${i}]`, `out/each/${i}`]],
      outputs: { out: `out/next/${i}` },
      item: { id: i, files: foreach.kind === 'glob' ? [`in/${i}.txt`] : [] },
    }),
  ]);
  tasks.push(
    task('gather', 'gather', {
      from: items.map((i): [string, string] => [`next[${i}]`, `out/next/${i}`]),
      outputs: { out: 'out/g' },
    }),
  );
  return { pipeline, graph: graphOf(tasks) };
}

const copy = (_t: Task, inputs: string[]) => inputs.join('+');

/** Every task's action and reasons, as `pipe plan` (explaining) decides them. */
async function explained(p: ReturnType<typeof fanOut>, ws: VirtualWorkspace, state: StateData) {
  const plan = await planGraph({
    pipeline: p.pipeline,
    graph: p.graph,
    state,
    io: ws,
    steps: stepsFor(p.pipeline),
    explain: true,
  });
  const lines: string[] = [];
  for (const id of plan.order) {
    const d = plan.tasks.get(id)!.decision;
    const reasons =
      d.action === 'run' || d.action === 'restore' || d.action === 'blocked' ? d.reasons : undefined;
    if (d.action !== 'up-to-date')
      lines.push(`${d.action} ${id}: ${(reasons ?? []).map(renderReason).join('; ')}`);
  }
  return { plan, lines };
}

/** A workspace built with items a and b, then given c. */
async function grown(foreach: ForeachSpec) {
  const ws = new VirtualWorkspace();
  for (const i of ['a', 'b', 'c']) ws.write(`in/${i}.txt`, i);
  const state = emptyState();
  const before = fanOut(foreach, ['a', 'b']);
  await fakeBuild(ws, before.pipeline, before.graph, state, copy);
  return explained(fanOut(foreach, ['a', 'b', 'c']), ws, state);
}

describe('a fan-out that gains an item', () => {
  it('a first build is a first build: every task says "no previous build"', async () => {
    const ws = new VirtualWorkspace();
    for (const i of ['a', 'b']) ws.write(`in/${i}.txt`, i);
    const { lines } = await explained(
      fanOut({ kind: 'glob', pattern: 'in/*.txt' }, ['a', 'b']),
      ws,
      emptyState(),
    );
    expect(lines).toEqual([
      'run each[a]: no previous build',
      'run each[b]: no previous build',
      'blocked next[a]: no previous build',
      'blocked next[b]: no previous build',
      'blocked gather: no previous build',
    ]);
  });

  it('a file added to a glob: its tasks name the file and the target, the gather the input it gains', async () => {
    const { plan, lines } = await grown({ kind: 'glob', pattern: 'in/*.txt' });
    expect(lines).toEqual([
      "run each[c]: new item: in/c.txt added to the foreach of 'each'",
      "blocked next[c]: new item: in/c.txt added to the foreach of 'next'",
      'blocked gather: input added: out/next/c (up)',
    ]);
    const d = plan.tasks.get('each[c]')!.decision;
    // The typed reason, as `pipe plan --json` carries it.
    expect(d.action === 'run' && d.reasons).toEqual([
      { type: 'new-item', target: 'each', item: 'c', foreach: 'glob', path: 'in/c.txt' },
    ]);
    // As an entry for many tasks alike says it: without which item.
    expect(d.action === 'run' && d.reasons.map(renderAlikeReason)).toEqual([
      "new items: files added to the foreach of 'each'",
    ]);
  });

  it('an entry added to a list, and an item an upstream target emits, say so', async () => {
    expect(
      (await grown({ kind: 'list', items: ['a', 'b', 'c'].map((id) => ({ id, value: id })) })).lines[0],
    ).toBe("run each[c]: new item: 'c' added to the foreach list of 'each'");
    expect((await grown({ kind: 'items', target: 'runs' })).lines[0]).toBe(
      "run each[c]: new item: 'c' added to the foreach of 'each' (emitted by 'runs')",
    );
  });

  it('an item whose last run failed says that, new or not', async () => {
    const ws = new VirtualWorkspace();
    for (const i of ['a', 'b', 'c']) ws.write(`in/${i}.txt`, i);
    const state = emptyState();
    const before = fanOut({ kind: 'glob', pattern: 'in/*.txt' }, ['a', 'b']);
    await fakeBuild(ws, before.pipeline, before.graph, state, copy);
    state.lastFailure = (id) =>
      id === 'each[c]' ? { build: '20260101-000000-000-abcdef', error: 'boom' } : undefined;
    const { lines } = await explained(
      fanOut({ kind: 'glob', pattern: 'in/*.txt' }, ['a', 'b', 'c']),
      ws,
      state,
    );
    expect(lines[0]).toBe('run each[c]: its last run failed (build 20260101-000000-000-abcdef: boom)');
  });
});

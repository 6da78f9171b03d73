/**
 * The planner's `clean` hint (the CLI's no-op snapshot vouching for tasks whose files are unchanged): a
 * vouched task with up-to-date upstream is up to date as recorded, without reading a stamp or a hash;
 * everything else is planned as without the hint.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Task } from '../src/model/types.js';
import type { PlanIO } from '../src/plan/decide.js';
import { planGraph } from '../src/plan/planner.js';
import { loadState, saveState } from '../src/state/state-file.js';
import {
  commandTarget,
  emptyState,
  fakeBuild,
  graphOf,
  pipelineOf,
  stepsFor,
  task,
  VirtualWorkspace,
} from './planner-fixture.js';

function diamond() {
  const pipeline = pipelineOf([commandTarget('each'), commandTarget('gather')]);
  const tasks: Task[] = [
    task('each[a]', 'each', { files: ['a.txt'], outputs: { out: 'out/a' } }),
    task('each[b]', 'each', { files: ['b.txt'], outputs: { out: 'out/b' } }),
    task('gather', 'gather', {
      from: [
        ['each[a]', 'out/a'],
        ['each[b]', 'out/b'],
      ],
      outputs: { out: 'out/g' },
    }),
  ];
  return { pipeline, graph: graphOf(tasks) };
}

/** The workspace as PlanIO, recording which paths were stamped or hashed. */
function watched(ws: VirtualWorkspace): { io: PlanIO; read: string[] } {
  const read: string[] = [];
  return {
    read,
    io: {
      inputHash: (p) => {
        read.push(p);
        return ws.inputHash(p);
      },
      stamp: (p) => {
        read.push(p);
        return ws.stamp(p);
      },
      productSha256: (p) => {
        read.push(p);
        return ws.productSha256(p);
      },
      manifest: (k) => ws.manifest(k),
      env: (n) => ws.env(n),
    },
  };
}

async function built() {
  const ws = new VirtualWorkspace();
  ws.write('a.txt', 'a');
  ws.write('b.txt', 'b');
  const p = diamond();
  const state = emptyState();
  await fakeBuild(ws, p.pipeline, p.graph, state, (_t, inputs) => inputs.join('+'));
  return { ws, p, state };
}

describe('planner: clean hint', () => {
  it('takes vouched tasks as recorded without reading them, and plans the rest in full', async () => {
    const { ws, p, state } = await built();
    ws.write('a.txt', 'A');
    const { io, read } = watched(ws);
    const plan = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state,
      io,
      steps: stepsFor(p.pipeline),
      clean: (t) => t.id !== 'each[a]',
    });
    const actions = plan.order.map((id) => `${plan.tasks.get(id)!.decision.action} ${id}`);
    expect(actions).toEqual(['run each[a]', 'up-to-date each[b]', 'blocked gather']);
    const b = plan.tasks.get('each[b]')!.decision;
    expect(b).toMatchObject({
      key: state.tasks.get('each[b]')!.key,
      outputs: state.tasks.get('each[b]')!.outputs,
    });
    expect(read.some((r) => r.endsWith('b.txt') || r.endsWith('out/b'))).toBe(false);
  });

  it('leaves the records of vouched tasks unparsed unless a task downstream asks for their outputs', async () => {
    const { ws, p, state } = await built();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pipe-clean-')), '.pipe', 'state.json');
    await saveState(file, state);
    ws.write('a.txt', 'A');
    const plan = async (explain: boolean) => {
      const { data } = loadState(file);
      const planned = await planGraph({
        pipeline: p.pipeline,
        graph: p.graph,
        state: data,
        io: ws,
        steps: stepsFor(p.pipeline),
        clean: (t) => t.id !== 'each[a]',
        explain,
      });
      return { planned, data };
    };
    const quiet = await plan(false);
    expect(quiet.planned.tasks.get('gather')!.decision.action).toBe('blocked');
    expect(quiet.data.tasks.isParsed('each[b]')).toBe(false);
    // Read when asked for: the record's.
    const b = quiet.planned.tasks.get('each[b]')!.decision;
    expect(b).toMatchObject({ action: 'up-to-date', key: state.tasks.get('each[b]')!.key });
    expect(b.action === 'up-to-date' && b.outputs).toEqual(state.tasks.get('each[b]')!.outputs);
    // A plan that explains the blocked gather reads its upstream's recorded outputs.
    const explained = await plan(true);
    expect(explained.data.tasks.isParsed('each[b]')).toBe(true);
  });

  it('does not vouch past an upstream that is not up to date as recorded, a forced target, or a task without record', async () => {
    const { ws, p, state } = await built();
    ws.write('b.txt', 'B');
    const plan = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state,
      io: ws,
      steps: stepsFor(p.pipeline),
      clean: () => true, // a wrong hint: the planner trusts it (the CLI vouches only for unchanged files)
    });
    expect(plan.tasks.get('gather')!.decision.action).toBe('up-to-date');
    // With each[b] not vouched (it changed), gather is not vouched for either: it waits for each[b].
    const honest = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state,
      io: ws,
      steps: stepsFor(p.pipeline),
      clean: (t) => t.id !== 'each[b]',
    });
    expect(honest.order.map((id) => honest.tasks.get(id)!.decision.action)).toEqual([
      'up-to-date',
      'run',
      'blocked',
    ]);
    const forced = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state,
      io: ws,
      steps: stepsFor(p.pipeline),
      force: new Set(['each']),
      clean: () => true,
    });
    expect(forced.tasks.get('each[a]')!.decision.action).toBe('run');
    const fresh = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state: emptyState(),
      io: ws,
      steps: stepsFor(p.pipeline),
      clean: () => true,
    });
    // Without a record nothing is vouched for: planned in full (here: the cache's outputs are adopted).
    expect(fresh.tasks.get('each[a]')!.decision).toMatchObject({ action: 'up-to-date', adopted: true });
  });
});

/**
 * Planner structure tests: a pipeline and a workspace state → exactly which tasks run and why.
 * Nothing runs: the workspace is virtual (planner-fixture.ts) and the "builds" are the fake runner.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task, TaskGraph } from '../src/model/types.js';
import { planGraph, topoOrder } from '../src/plan/planner.js';
import { renderReason } from '../src/plan/reasons.js';
import {
  commandTarget,
  emptyState,
  fakeBuild,
  graphOf,
  pipelineOf,
  ROOT,
  stepsFor,
  task,
  VirtualWorkspace,
} from './planner-fixture.js';

/** raw a.txt, b.txt → per-file tasks → gather → final. */
function diamond() {
  const pipeline = pipelineOf([commandTarget('each'), commandTarget('gather'), commandTarget('final')]);
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
    task('final', 'final', { from: [['gather', 'out/g']], outputs: { out: 'out/f' } }),
  ];
  return { pipeline, graph: graphOf(tasks) };
}

const upper = (_t: Task, inputs: string[]) => inputs.join('+').toUpperCase();

async function summary(
  ws: VirtualWorkspace,
  p: ReturnType<typeof diamond>,
  state = emptyState(),
  force?: Set<string>,
) {
  const plan = await planGraph({
    pipeline: p.pipeline,
    graph: p.graph,
    state,
    io: ws,
    steps: stepsFor(p.pipeline),
    ...(force ? { force } : {}),
  });
  return plan.order.map((id) => {
    const d = plan.tasks.get(id)!.decision;
    const why =
      d.action === 'run' || d.action === 'restore'
        ? d.reasons.map(renderReason)
        : d.action === 'blocked'
          ? [`after ${d.upstream.join(',')}`]
          : [];
    return `${d.action} ${id}${why.length ? `: ${why.join('; ')}` : ''}`;
  });
}

describe('planner', () => {
  it('initially stale: raw-input tasks run, the rest wait on them', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    expect(await summary(ws, diamond())).toEqual([
      'run each[a]: no previous build',
      'run each[b]: no previous build',
      'blocked gather: after each[a],each[b]',
      'blocked final: after gather',
    ]);
  });

  it('a task with no record whose last run was cancelled says so, and why: its build interrupted, or another task failed', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const state = emptyState();
    state.lastFailure = (id) =>
      id === 'each[a]'
        ? {
            build: '20260101-000000-000-abcdef',
            at: '2026-01-01T00:00:09.000Z',
            stopped: { interrupted: true },
          }
        : { build: '20260101-000000-000-abcdef', stopped: { interrupted: false } };
    expect((await summary(ws, diamond(), state)).slice(0, 2)).toEqual([
      'run each[a]: its last run was stopped before it finished (build 20260101-000000-000-abcdef at 2026-01-01 00:00:09 UTC: the build was interrupted)',
      'run each[b]: its last run was stopped before it finished (build 20260101-000000-000-abcdef: another task failed)',
    ]);
  });

  it('a task a build never started says whether the build stopped before it or skipped it (with -k it went on)', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const state = emptyState();
    state.lastFailure = (id) =>
      id === 'each[a]'
        ? { build: '20260101-000000-000-abcdef', stopped: { interrupted: false, started: false } }
        : {
            build: '20260101-000000-000-abcdef',
            stopped: { interrupted: false, started: false, skipped: 'upstream task up did not succeed' },
          };
    expect((await summary(ws, diamond(), state)).slice(0, 2)).toEqual([
      'run each[a]: not started: its last build stopped before it (build 20260101-000000-000-abcdef: another task failed)',
      'run each[b]: not started: its last build skipped it (build 20260101-000000-000-abcdef: upstream task up did not succeed)',
    ]);
  });

  it('a task with no record whose last run failed says so, not "no previous build"; one that never ran here does not', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const state = emptyState();
    state.lastFailure = (id) =>
      id === 'each[a]'
        ? { build: '20260101-000000-000-abcdef', at: '2026-01-01T00:00:09.000Z', error: 'boom' }
        : undefined;
    const p = diamond();
    expect(await summary(ws, p, state)).toEqual([
      'run each[a]: its last run failed (build 20260101-000000-000-abcdef at 2026-01-01 00:00:09 UTC: boom)',
      'run each[b]: no previous build',
      'blocked gather: after each[a],each[b]',
      'blocked final: after gather',
    ]);
    const plan = await planGraph({ ...p, state, io: ws, steps: stepsFor(p.pipeline) });
    const decision = plan.tasks.get('each[a]')!.decision;
    expect(decision.action === 'run' && decision.reasons).toEqual([
      {
        type: 'last-run-failed',
        build: '20260101-000000-000-abcdef',
        at: '2026-01-01T00:00:09.000Z',
        error: 'boom',
      },
    ]);
  });

  it('after a build nothing runs, and no product is hashed (stamps match)', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    expect(await fakeBuild(ws, p.pipeline, p.graph, state, upper)).toEqual([
      'each[a]',
      'each[b]',
      'gather',
      'final',
    ]);
    expect(await summary(ws, p, state)).toEqual([
      'up-to-date each[a]',
      'up-to-date each[b]',
      'up-to-date gather',
      'up-to-date final',
    ]);
    expect(ws.hashedProducts).toEqual([]);
  });

  it('a content change runs the task and blocks exactly its dependants, naming old and new hash', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    const old = ws.inputHash(`${ROOT}/a.txt`)!;
    ws.write('a.txt', 'A');
    const lines = await summary(ws, p, state);
    expect(lines).toEqual([
      `run each[a]: input changed: a.txt ${old.slice(0, 12)} → ${ws.inputHash(`${ROOT}/a.txt`)!.slice(0, 12)}`,
      'up-to-date each[b]',
      'blocked gather: after each[a]',
      'blocked final: after gather',
    ]);
  });

  it('identical upstream output stops the cascade (restat)', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    ws.write('a.txt', 'A'); // upper-cases to the same output
    expect(await fakeBuild(ws, p.pipeline, p.graph, state, upper)).toEqual(['each[a]']);
  });

  it('an mtime-only change (touch) runs nothing', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    ws.touch('a.txt');
    ws.touch('out/g');
    expect((await summary(ws, p, state)).every((l) => l.startsWith('up-to-date'))).toBe(true);
    expect(ws.hashedProducts).toEqual([`${ROOT}/out/g`]);
  });

  it('a deleted product is restored from the cache; a modified one with no cache entry runs', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    ws.remove('out/g');
    expect(await summary(ws, p, state)).toEqual([
      'up-to-date each[a]',
      'up-to-date each[b]',
      'restore gather: output missing: out/g',
      'up-to-date final',
    ]);
    ws.manifests.clear();
    expect((await summary(ws, p, state)).slice(2)).toEqual([
      'run gather: output missing: out/g',
      'blocked final: after gather',
    ]);
    ws.write('out/g', ws.files.get(`${ROOT}/out/f`)!.content.toLowerCase());
    ws.write('out/f', 'edited by hand');
    expect((await summary(ws, p, state)).slice(2)).toEqual([
      'run gather: output modified in the workspace: out/g',
      'blocked final: after gather',
    ]);
  });

  it('a plan that explains says which blocked tasks changed on their own (they run whatever upstream makes)', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    ws.write('a.txt', 'a2');
    p.graph.tasks.get('final')!.params = { radius: 0.2 };
    const plan = (explain: boolean) =>
      planGraph({
        pipeline: p.pipeline,
        graph: p.graph,
        state,
        io: ws,
        steps: stepsFor(p.pipeline),
        explain,
      });
    const explained = await plan(true);
    const gather = explained.tasks.get('gather')!.decision;
    const final = explained.tasks.get('final')!.decision;
    // gather's own share is unchanged: it waits on each[a]; final's parameter changed: it runs in any case.
    expect(gather).toEqual({ action: 'blocked', upstream: ['each[a]'] });
    expect(final.action === 'blocked' && final.reasons?.map(renderReason)).toEqual([
      'param changed: radius null → 0.2',
    ]);
    // A build does not ask (it decides blocked tasks once their upstream settles).
    expect((await plan(false)).tasks.get('final')!.decision).toEqual({
      action: 'blocked',
      upstream: ['gather'],
    });
  });

  it('a gather that gains an upstream task new since the last build is run, not maybe: the key holds its paths', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    // b.txt renamed c.txt: each[b] leaves, each[c] (never built) comes; gather's input list changes.
    ws.remove('b.txt');
    ws.write('c.txt', 'b');
    p.graph.tasks.delete('each[b]');
    p.graph.tasks.set('each[c]', task('each[c]', 'each', { files: ['c.txt'], outputs: { out: 'out/c' } }));
    p.graph.tasks.set(
      'gather',
      task('gather', 'gather', {
        from: [
          ['each[a]', 'out/a'],
          ['each[c]', 'out/c'],
        ],
        outputs: { out: 'out/g' },
      }),
    );
    const plan = await planGraph({
      pipeline: p.pipeline,
      graph: p.graph,
      state,
      io: ws,
      steps: stepsFor(p.pipeline),
      explain: true,
    });
    const gather = plan.tasks.get('gather')!.decision;
    expect(gather.action === 'blocked' && gather.reasons?.map(renderReason)).toEqual([
      'input removed: out/b (up)',
      'input added: out/c (up)',
    ]);
    // final reads gather's output by the same path: it runs only if gather's bytes change.
    expect(plan.tasks.get('final')!.decision).toEqual({ action: 'blocked', upstream: ['gather'] });
  });

  it('param, command and env changes name the key with old and new values', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    const pipeline = pipelineOf([commandTarget('t', { env: ['TOKEN'] })]);
    const graph = graphOf([
      task('t', 't', { files: ['a.txt'], outputs: { o: 'o' }, params: { geom: { width: 2 } } }),
    ]);
    const state = emptyState();
    await fakeBuild(ws, pipeline, graph, state, upper);
    graph.tasks.get('t')!.params = { geom: { width: 3 } };
    pipeline.targets.get('t')!.command = ['node', 'other'];
    ws.envVars.TOKEN = 'secret';
    const plan = await planGraph({ pipeline, graph, state, io: ws, steps: stepsFor(pipeline) });
    const d = plan.tasks.get('t')!.decision;
    expect(d.action === 'run' && d.reasons.map(renderReason)).toEqual([
      'command changed: ["node","t"] → ["node","other"]',
      'param changed: geom.width 2 → 3',
      'environment variable changed: TOKEN',
    ]);
    expect(JSON.stringify(d)).not.toContain('secret');
  });

  it('step code and kernel changes are reasons; a missing raw input is reported, not run', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    const pipeline = pipelineOf([commandTarget('t')]);
    const graph = graphOf([task('t', 't', { files: ['a.txt'], outputs: { o: 'o' } })]);
    const state = emptyState();
    const v1 = {
      name: 's',
      version: '1',
      code: 'c1'.repeat(32),
      kernels: [{ name: 'k', sourceHash: 'h1', compiler: 'asc', backend: 'wasm' }],
    };
    await fakeBuild(ws, pipeline, graph, state, upper, new Map([['t', v1]]));
    const v2 = { ...v1, code: 'c2'.repeat(32), kernels: [{ ...v1.kernels[0]!, backend: 'native' }] };
    const plan = await planGraph({ pipeline, graph, state, io: ws, steps: new Map([['t', v2]]) });
    const d = plan.tasks.get('t')!.decision;
    expect(
      d.action === 'run' && d.reasons.map((r) => r.type + (r.type === 'code-changed' ? `:${r.what}` : '')),
    ).toEqual(['code-changed:step', 'code-changed:kernel']);
    ws.remove('a.txt');
    const missing = await planGraph({ pipeline, graph, state, io: ws, steps: new Map([['t', v2]]) });
    expect(missing.tasks.get('t')!.decision).toEqual({
      action: 'missing-input',
      input: 'src',
      path: 'a.txt',
    });
  });

  it('--force runs the forced target even when up to date', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, upper);
    expect(await summary(ws, p, state, new Set(['gather']))).toEqual([
      'up-to-date each[a]',
      'up-to-date each[b]',
      'run gather: forced (--force)',
      'blocked final: after gather',
    ]);
  });

  it('a reverted change is restored from the cache instead of run', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const p = diamond();
    const state = emptyState();
    await fakeBuild(ws, p.pipeline, p.graph, state, (_t, i) => i.join('+'));
    ws.write('a.txt', 'x');
    await fakeBuild(ws, p.pipeline, p.graph, state, (_t, i) => i.join('+'));
    ws.write('a.txt', 'a');
    expect(await fakeBuild(ws, p.pipeline, p.graph, state, (_t, i) => i.join('+'))).toEqual([]);
    expect(ws.files.get(`${ROOT}/out/f`)!.content).toBe('a+b');
  });

  /** One command task over `files`, built once, then edited: the reasons a plan gives for running it again. */
  async function reasonsAfter(files: string[], outputs: Record<string, string>, edit: (t: Task) => void) {
    const ws = new VirtualWorkspace();
    for (const f of files) ws.write(f, f);
    const pipeline = pipelineOf([commandTarget('t')]);
    const graph = graphOf([task('t', 't', { files, outputs })]);
    const state = emptyState();
    await fakeBuild(ws, pipeline, graph, state, upper);
    edit(graph.tasks.get('t')!);
    const plan = await planGraph({ pipeline, graph, state, io: ws, steps: stepsFor(pipeline) });
    const d = plan.tasks.get('t')!.decision;
    return d.action === 'run' ? d.reasons.map(renderReason) : d.action;
  }

  it("reordering an input's files changes the key: the step receives them in that order", async () => {
    const reasons = await reasonsAfter(['a.txt', 'b.txt'], { o: 'o' }, (t) => {
      t.inputs = Object.fromEntries(Object.entries(t.inputs).map(([k, v]) => [k, [...v].reverse()]));
    });
    expect(reasons).toEqual(['input order changed: src (its files reach the step in another order)']);
  });

  it('renaming an output reruns the task (its step sees the path: a .gz suffix, a format), naming both paths', async () => {
    const reasons = await reasonsAfter(['a.txt'], { o: 'out/result.txt' }, (t) => {
      t.outputs = { o: `${ROOT}/out/result.json` };
    });
    expect(reasons).toEqual(['output path changed: o out/result.txt → out/result.json']);
  });

  it('decisions and keys do not depend on the order tasks and dependencies are declared in', async () => {
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const base = diamond();
    const state = emptyState();
    await fakeBuild(ws, base.pipeline, base.graph, state, upper);
    ws.write('b.txt', 'B2');
    const reference = await planGraph({
      pipeline: base.pipeline,
      graph: base.graph,
      state,
      io: ws,
      steps: stepsFor(base.pipeline),
    });
    const describe = (plan: typeof reference) =>
      [...plan.tasks.entries()]
        .map(([id, p]) => `${id}:${p.decision.action}:${'key' in p.decision ? p.decision.key : ''}`)
        .sort();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), async (seed) => {
        const shuffle = <T>(xs: T[]) =>
          xs
            .map((x, i) => [seed[i % seed.length]! + i * 0.001, x] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, x]) => x);
        // (An input's files keep their order: the step receives them in it, so it is part of the key.)
        const tasks = shuffle([...base.graph.tasks.values()]).map((t) => ({
          ...t,
          deps: shuffle([...t.deps]),
        }));
        const graph: TaskGraph = { tasks: new Map(tasks.map((t) => [t.id, t])), pending: [] };
        const plan = await planGraph({
          pipeline: base.pipeline,
          graph,
          state,
          io: ws,
          steps: stepsFor(base.pipeline),
        });
        expect(describe(plan)).toEqual(describe(reference));
      }),
      { numRuns: 25 },
    );
  });

  it('topoOrder rejects a cycle', () => {
    const a = task('a', 'x', { from: [['b', 'b']] });
    const b = task('b', 'x', { from: [['a', 'a']] });
    expect(() =>
      topoOrder(
        new Map([
          ['a', a],
          ['b', b],
        ]),
      ),
    ).toThrow(/cycle/);
  });
});

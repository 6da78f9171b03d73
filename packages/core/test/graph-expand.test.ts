import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/index.js';
import {
  byTarget,
  deliveredTargets,
  expandGraph,
  itemId,
  targetsToJSON,
  toDot,
  toJSON,
  toMermaid,
} from '../src/graph/index.js';
import { outputTemplateMatcher, templateItem } from '../src/graph/items.js';
import type { Pipeline, Target } from '../src/model/types.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

async function pipelineOf(files: Record<string, string>): Promise<Pipeline> {
  const dir = makeWorkspace(files);
  dirs.push(dir);
  const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics, null, 2));
  return result.pipeline;
}

const PIPE = `
  version: 1
  targets:
    select:
      step: test.copy
      inputs: {index: data/obs-index.txt}
      outputs: {list: build/runs.json}
    reduce:
      command: [reduce, '{item}']
      foreach: {glob: 'data/runs/*.fits.gz'}
      inputs: {index: data/obs-index.txt}
      params: {obs: 'run {item}', n: 1}
      outputs: {dataset: 'build/{item}.fits', log: 'build/{item}.log'}
    fit:
      command: [fit]
      foreach: {glob: 'data/runs/*.fits.gz'}
      inputs: {dataset: {target: reduce, output: dataset, per_item: true}}
      outputs: ['build/fit/{item}.json']
    stack:
      command: [stack]
      inputs: {datasets: {target: reduce, output: dataset}}
      outputs: [build/stacked.fits]
    per_obs:
      command: [plot, '{item}']
      foreach: {items: select}
      outputs: ['build/plots/{item}.png']
    summary:
      command: [summary]
      inputs: [{target: per_obs}, {target: stack}]
      outputs: [build/summary.txt]
    colours:
      command: [c, '{item}']
      foreach: [red, green]
      needs: [stack]
      outputs: ['build/{item}.txt']
    fit_report:
      command: [report]
      inputs: {fits: {target: fit}}
      with: [stack]
      outputs: [build/fit-report.txt]
`;

const FILES = {
  'pipe.yaml': PIPE,
  'data/obs-index.txt': 'i',
  'data/runs/run_2.fits.gz': 'b',
  'data/runs/run_1.fits.gz': 'a',
};

describe('expandGraph', () => {
  it('fans a glob foreach out into sorted tasks, with {item} in outputs and params', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['reduce'] });
    const root = pipeline.root;
    expect([...graph.tasks.keys()]).toEqual(['reduce[run_1]', 'reduce[run_2]']);
    const task = graph.tasks.get('reduce[run_1]')!;
    expect(task.item).toEqual({ id: 'run_1', files: [path.join(root, 'data/runs/run_1.fits.gz')] });
    expect(task.outputs).toEqual({ dataset: `${root}/build/run_1.fits`, log: `${root}/build/run_1.log` });
    expect(task.params).toEqual({ obs: 'run run_1', n: 1 });
    expect(task.inputs).toEqual({ index: [{ path: path.join(root, 'data/obs-index.txt') }] });
    expect(task.deps).toEqual([]);
    expect(graph.pending).toEqual([]);
    expect(graph.diagnostics).toEqual([]);
  });

  it('gathers all tasks of a foreach target into one downstream task (one output selected)', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['stack'] });
    expect([...graph.tasks.keys()]).toEqual(['reduce[run_1]', 'reduce[run_2]', 'stack']);
    const stack = graph.tasks.get('stack')!;
    expect(stack.deps).toEqual(['reduce[run_1]', 'reduce[run_2]']);
    expect(stack.inputs['datasets']).toEqual([
      { path: `${pipeline.root}/build/run_1.fits`, producer: 'reduce[run_1]' },
      { path: `${pipeline.root}/build/run_2.fits`, producer: 'reduce[run_2]' },
    ]);
  });

  it("refuses an item whose id puts an output inside .pipe/, pipe's own folder; the other items expand", async () => {
    const pipeline = await pipelineOf({
      'pipe.yaml': `
  version: 1
  targets:
    select:
      step: test.copy
      inputs: {index: data/obs-index.txt}
      outputs: {list: build/runs.json}
    per_obs:
      command: [plot, '{item}']
      foreach: {items: select}
      outputs: ['{item}/cache/plot.png']
`,
      'data/obs-index.txt': 'runs',
    });
    const items = new Map([
      [
        'select',
        [
          { id: '.pipe', files: [] },
          { id: 'ok', files: [] },
        ],
      ],
    ]);
    const graph = expandGraph(pipeline, { targets: ['per_obs'], items });
    expect(graph.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        code: 'output-in-state-folder',
        message: expect.stringContaining(
          `task 'per_obs[.pipe]' (item ".pipe"): output '.pipe/cache/plot.png' of target 'per_obs' is inside .pipe/`,
        ),
      }),
    );
    expect(graph.tasks.has('per_obs[.pipe]')).toBe(false);
    expect(graph.tasks.has('per_obs[ok]')).toBe(true);
  });

  it('builds the targets `with` a requested one, in no order, and delivers their products; needs delivers none', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['fit_report'] });
    expect([...graph.tasks.keys()].sort()).toEqual([
      'fit[run_1]',
      'fit[run_2]',
      'fit_report',
      'reduce[run_1]',
      'reduce[run_2]',
      'stack',
    ]);
    // No edge between them: each waits for its own inputs only.
    expect(graph.tasks.get('fit_report')!.deps).toEqual(['fit[run_1]', 'fit[run_2]']);
    expect(graph.tasks.get('stack')!.deps).toEqual(['reduce[run_1]', 'reduce[run_2]']);
    expect(deliveredTargets(pipeline.targets, ['fit_report', 'fit_report'])).toEqual(['fit_report', 'stack']);
    expect(deliveredTargets(pipeline.targets, ['colours'])).toEqual(['colours']);
  });

  it('pairs tasks item by item with per_item', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['fit'] });
    const fit = graph.tasks.get('fit[run_2]')!;
    expect(fit.deps).toEqual(['reduce[run_2]']);
    expect(fit.inputs['dataset']).toEqual([
      { path: `${pipeline.root}/build/run_2.fits`, producer: 'reduce[run_2]' },
    ]);
  });

  it('lists dynamic fan-outs as pending (with everything downstream) until their items are known', async () => {
    const pipeline = await pipelineOf(FILES);
    const before = expandGraph(pipeline, { targets: ['summary'] });
    expect(before.pending).toEqual(['per_obs', 'summary']);
    expect([...before.tasks.keys()]).toEqual(['reduce[run_1]', 'reduce[run_2]', 'select', 'stack']);

    const items = new Map([
      [
        'select',
        [
          { id: '023523', files: [] },
          { id: '023526', files: [] },
        ],
      ],
    ]);
    const after = expandGraph(pipeline, { targets: ['summary'], items });
    expect(after.pending).toEqual([]);
    expect(after.tasks.get('per_obs[023526]')!.deps).toEqual(['select']);
    const summary = after.tasks.get('summary')!;
    expect(summary.deps).toEqual(['per_obs[023523]', 'per_obs[023526]', 'stack']);
    expect(summary.inputs['default']!.map((f) => path.relative(pipeline.root, f.path))).toEqual([
      'build/plots/023523.png',
      'build/plots/023526.png',
      'build/stacked.fits',
    ]);
  });

  it('includes only the requested targets and their dependency closure; needs order without inputs', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['colours'] });
    expect([...graph.tasks.keys()]).toEqual([
      'reduce[run_1]',
      'reduce[run_2]',
      'stack',
      'colours[red]',
      'colours[green]',
    ]);
    expect(graph.tasks.get('colours[green]')!.deps).toEqual(['stack']);
    expect(graph.tasks.get('colours[green]')!.inputs).toEqual({});
  });

  it('gives the same graph whatever the order of declarations and requests', async () => {
    const pipeline = await pipelineOf(FILES);
    const shuffled: Pipeline = { ...pipeline, targets: new Map([...pipeline.targets].reverse()) };
    const a = toJSON(expandGraph(pipeline, { targets: ['summary', 'colours', 'fit'] }));
    const b = toJSON(expandGraph(shuffled, { targets: ['fit', 'colours', 'summary'] }));
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('reports unknown targets with "did you mean", duplicate items and outputs', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['stak'] });
    expect(graph.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'unknown-target',
        message: "unknown target 'stak'",
        hint: "did you mean 'stack'?",
      },
    ]);
    // A task id or an output path (as make builds files): the target it belongs to.
    expect(expandGraph(pipeline, { targets: ['colours[red]'] }).diagnostics[0]?.hint).toBe(
      "'colours[red]' is a task of target 'colours': pipe builds targets (pipe build colours)",
    );
    expect(expandGraph(pipeline, { targets: ['build/stacked.fits'] }).diagnostics[0]?.hint).toBe(
      "'build/stacked.fits' is an output of target 'stack': pipe builds targets, not files (pipe build stack)",
    );
    expect(expandGraph(pipeline, { targets: ['build/plots/run_1.png'] }).diagnostics[0]?.hint).toContain(
      'is an output of target',
    );
    // Nothing close: the hint lists the targets there are.
    expect(expandGraph(pipeline, { targets: ['zzzzzz'] }).diagnostics[0]?.hint).toBe(
      `the pipeline's targets: ${[...pipeline.targets.keys()].sort().join(', ')}`,
    );
    const items = new Map([
      [
        'select',
        [
          { id: 'x', files: [] },
          { id: 'x', files: [] },
        ],
      ],
    ]);
    const dup = expandGraph(pipeline, { targets: ['per_obs'], items });
    expect(dup.diagnostics!.map((d) => d.code)).toEqual(['duplicate-item']);
    // Over a glob: the two files, and how a glob names its items.
    const globbed = await pipelineOf({
      'pipe.yaml': `
        version: 1
        targets:
          each: {command: [x], foreach: {glob: 'd/*'}, outputs: {o: 'out/{item}.txt'}}
      `,
      'd/a.csv': '1',
      'd/a.txt': '2',
    });
    const [d] = expandGraph(globbed, { targets: ['each'] }).diagnostics!;
    expect(d?.message).toBe("target 'each' has two items with id 'a' (d/a.csv and d/a.txt)");
    expect(d?.hint).toContain(
      "a glob's item id is the file's path below the glob's folder without its extension",
    );
  });

  it('reports two tasks writing one file with the workspace path, both output names, the target and a hint', async () => {
    // What the loader cannot decide: {item} twice over items a step emits, and one target's own items.
    const pipeline = await pipelineOf({
      'pipe.yaml': `
        version: 1
        targets:
          list: {step: test.copy, outputs: [build/list.json]}
          c: {command: [x], foreach: {items: list}, outputs: {o: 'out/{item}/{item}.txt'}}
          d: {command: [x], foreach: {items: list}, outputs: {o: 'out/{item}/a.txt'}}
          g: {command: [x], foreach: [a, x_a], outputs: {o: 'build/g/{item}.out', p: 'build/g/x_{item}.out'}}
      `,
    });
    const items = new Map([['list', [{ id: 'a', files: [] }]]]);
    const graph = expandGraph(pipeline, { targets: ['c', 'd', 'g'], items });
    const at = (d: { span?: { file: string; line: number; col: number } }) =>
      d.span && `${path.relative(pipeline.root, d.span.file)}:${d.span.line}:${d.span.col}`;
    expect(graph.diagnostics!.map((d) => [d.code, d.message, at(d), d.hint])).toEqual([
      [
        'duplicate-output',
        "tasks 'g[a]' (output 'p') and 'g[x_a]' (output 'o') both write 'build/g/x_a.out'",
        'pipe.yaml:6:3',
        "every output path belongs to one task: make the outputs of 'g' differ for every item",
      ],
      [
        'duplicate-output',
        "tasks 'c[a]' (output 'o') and 'd[a]' (output 'o') both write 'out/a/a.txt'",
        'pipe.yaml:5:3',
        "every output path belongs to one target: give the outputs of 'c' or 'd' a folder of their own",
      ],
    ]);
    expect(graph.diagnostics![0]!.related).toBeUndefined();
    expect(graph.diagnostics![1]!.related!.map((r) => [r.message, at(r)])).toEqual([
      ["target 'c' declared here", 'pipe.yaml:4:3'],
    ]);
  });

  it('renders dot, mermaid and JSON', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['summary'] });
    expect(toDot(graph)).toContain('"reduce[run_1]" -> "stack";');
    expect(toDot(graph)).toContain('"per_obs" [style=dashed, label="per_obs (pending)"];');
    expect(toMermaid(graph).split('\n').slice(0, 3)).toEqual([
      'flowchart LR',
      '  t0["reduce[run_1]"]',
      '  t1["reduce[run_2]"]',
    ]);
    expect(toMermaid(graph)).toContain('  t0 --> t3');
    expect(JSON.parse(JSON.stringify(toJSON(graph))).tasks).toHaveLength(4);
  });

  it('draws the edges into targets still pending (their tasks known once an upstream step has run)', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['summary'] });
    expect(graph.pending).toEqual(['per_obs', 'summary']);
    const dot = toDot(graph);
    expect(dot).toContain('  "select" -> "per_obs";\n');
    expect(dot).toContain('  "per_obs" -> "summary";\n');
    expect(dot).toContain('  "stack" -> "summary";\n');
    const mermaid = toMermaid(graph);
    const id = (name: string) => new RegExp(`  (\\w+)\\["${name}\\b`).exec(mermaid)![1];
    expect(mermaid).toContain(`  ${id('select')} --> ${id('per_obs')}\n`);
    expect(mermaid).toContain(`  ${id('per_obs')} --> ${id('summary')}\n`);
    expect(mermaid).toContain(`  ${id('stack')} --> ${id('summary')}\n`);
    expect(toJSON(graph).pendingFrom).toEqual({ per_obs: ['select'], summary: ['per_obs', 'stack'] });
  });

  it('writes markup characters of an item id as Mermaid entity codes, # first', async () => {
    const pipeline = await pipelineOf({
      'pipe.yaml':
        "version: 1\ntargets:\n  t:\n    foreach: ['<b>x</b>', 'a\"#&']\n    command: [x]\n    outputs: [\"o/{item}\"]\n",
    });
    const mermaid = toMermaid(expandGraph(pipeline, { targets: ['t'] }));
    expect(mermaid).toContain('["t[#lt;b#gt;x#lt;/b#gt;]"]');
    expect(mermaid).toContain('["t[a#quot;#35;#amp;]"]');
  });

  it('draws one node per target with --by-target: a fan-out as one node with its count (2,000 tasks drew 2,000 boxes)', async () => {
    const pipeline = await pipelineOf(FILES);
    const graph = expandGraph(pipeline, { targets: ['summary', 'fit_report'] });
    const { graph: targets, labels } = byTarget(graph);
    const dot = toDot(targets, labels);
    expect(dot).toContain('  "reduce" [label="reduce (2 tasks)"];\n');
    expect(dot).toContain('  "stack";\n');
    expect(dot).toContain('  "fit" [label="fit (2 tasks)"];\n');
    // Each edge once, between targets; none from a task id.
    expect(dot.match(/"reduce" -> "stack";/g)).toHaveLength(1);
    expect(dot).toContain('  "reduce" -> "fit";\n');
    expect(dot).toContain('  "fit" -> "fit_report";\n');
    expect(dot).toContain('  "select" -> "per_obs";\n');
    expect(dot).not.toContain('[run_1]');
    const mermaid = toMermaid(targets, labels);
    expect(mermaid).toContain('["reduce (2 tasks)"]');
    expect(mermaid).not.toContain('[run_1]');
    expect(targetsToJSON(graph).targets).toEqual(
      expect.arrayContaining([
        { name: 'reduce', tasks: 2, deps: [] },
        { name: 'fit', tasks: 2, deps: ['reduce'] },
        { name: 'stack', tasks: 1, deps: ['reduce'] },
      ]),
    );
  });

  it('derives item ids from paths', () => {
    expect(itemId('hess_dl3_dr1_obs_id_023523.fits.gz')).toBe('hess_dl3_dr1_obs_id_023523');
    expect(itemId('sub/run.1.fits')).toBe('sub/run.1');
    expect(itemId('README')).toBe('README');
  });

  it('finds the item for which an output template names a path: a non-empty id, the same at each {item}', () => {
    expect(templateItem('build/{item}.out', 'build/x.out')).toBe('x');
    expect(templateItem('build/{item}.out', 'build/a/b.out')).toBe('a/b');
    expect(templateItem('build/x.out', 'build/x.out')).toBe('');
    // No empty id, and the id does not overlap the text around it.
    expect(templateItem('build/{item}.out', 'build/.out')).toBeUndefined();
    expect(templateItem('ab{item}ba', 'aba')).toBeUndefined();
    expect(templateItem('{item}/{item}.fits', 'r1/r1.fits')).toBe('r1');
    expect(templateItem('{item}/{item}.fits', 'r1/r2.fits')).toBeUndefined();
    expect(templateItem('a.{item}+(x)', 'a.1+(x)')).toBe('1');
    const isOutput = outputTemplateMatcher(['out/{item}/{item}.txt', 'out/all.txt']);
    expect(['out/a/a.txt', 'out/a/b.txt', 'out/all.txt'].map(isOutput)).toEqual([true, false, true]);
  });
});

describe('expandGraph at scale', () => {
  it('expands 100,000 items → 100 groups → one final task in linear time', () => {
    const n = 100_000;
    const target = (t: Partial<Target> & { name: string }): Target => ({
      step: 'command',
      command: ['x'],
      inputs: {},
      params: {},
      outputs: {},
      needs: [],
      with: [],
      env: [],
      resources: {},
      ...t,
    });
    const ids = Array.from({ length: n }, (_, i) => `r${i}`);
    const groups = Array.from({ length: 100 }, (_, i) => `g${i}`);
    const targets = new Map<string, Target>([
      [
        'reduce',
        target({
          name: 'reduce',
          foreach: { kind: 'list', items: ids.map((id) => ({ id, value: id })) },
          outputs: { out: 'build/{item}.fits' },
        }),
      ],
      [
        'group',
        target({
          name: 'group',
          foreach: { kind: 'list', items: groups.map((id) => ({ id, value: id })) },
          inputs: { all: [{ kind: 'target', target: 'reduce' }] },
          outputs: { out: 'build/g/{item}.fits' },
        }),
      ],
      [
        'final',
        target({
          name: 'final',
          inputs: { groups: [{ kind: 'target', target: 'group' }] },
          outputs: { out: 'build/final.fits' },
        }),
      ],
    ]);
    const pipeline: Pipeline = {
      file: '/w/pipe.yaml',
      root: '/w',
      targets,
      sourceFiles: [],
      defaults: { resources: {} },
    };
    const started = performance.now();
    const graph = expandGraph(pipeline, { targets: ['final'] });
    const ms = performance.now() - started;
    expect(graph.tasks.size).toBe(n + 100 + 1);
    expect(graph.tasks.get('group[g7]')!.deps).toHaveLength(n);
    expect(graph.tasks.get('final')!.deps).toHaveLength(100);
    // Linear: ~0.3 s idle, ~1-2 s on a loaded shared 2-core machine; a quadratic step (10^10) would take minutes.
    expect(ms).toBeLessThan(10_000);
  });
});

/**
 * A parameter sweep: a `foreach` list of numbers (or booleans) whose value a param written as exactly "{item}" gets,
 * typed, so that a step validating a number takes it; each item's params validated as its task gets them, and a
 * bad value reported at its place in the list.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline, renderDiagnostic } from '../src/config/index.js';
import { expandGraph } from '../src/graph/index.js';
import type { Diagnostic, Pipeline } from '../src/model/types.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

async function load(yaml: string) {
  const dir = makeWorkspace({ 'pipe.yaml': yaml });
  dirs.push(dir);
  return { dir, result: await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir }) };
}

async function pipelineOf(yaml: string): Promise<Pipeline> {
  const { result } = await load(yaml);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.pipeline;
}

async function errorsOf(yaml: string): Promise<{ dir: string; errors: Diagnostic[] }> {
  const { dir, result } = await load(yaml);
  if (result.ok) throw new Error('expected the pipeline to be rejected');
  return { dir, errors: result.diagnostics.filter((d) => d.severity === 'error') };
}

const at = (d: Diagnostic) => `${d.span?.line}:${d.span?.col}`;

describe('foreach over a list of numbers', () => {
  it('gives a param written "{item}" the number, and "{item} deg" the text', async () => {
    const pipeline = await pipelineOf(`
      version: 1
      targets:
        scan:
          step: test.scale
          foreach: [0.1, 0.25, 2]
          params: {factor: "{item}", label: "{item} deg", nested: ["{item}"]}
          outputs: {out: "out/r{item}.txt"}
    `);
    const graph = expandGraph(pipeline, { targets: ['scan'] });
    expect(graph.diagnostics).toEqual([]);
    const task = graph.tasks.get('scan[0.25]')!;
    // validateParams saw the number (test.scale refuses a string) and normalised it (unit added).
    expect(task.params).toEqual({ factor: 0.25, label: '0.25 deg', nested: [0.25], unit: 'deg' });
    expect(task.item).toEqual({ id: '0.25', files: [], data: 0.25 });
    expect(task.outputs['out']).toBe(path.join(pipeline.root, 'out/r0.25.txt'));
    expect([...graph.tasks.keys()]).toEqual(['scan[0.1]', 'scan[0.25]', 'scan[2]']);
  });

  it('names each item as written: 0.10, 1e-3, 023523 and True keep their text', async () => {
    const pipeline = await pipelineOf(`
      version: 1
      targets:
        ids:
          command: [echo, "{item}", "{params.v}"]
          foreach: [0.10, 1e-3, 023523, True, -2, "x"]
          params: {v: "{item}"}
          outputs: {out: "out/{item}.txt"}
    `);
    const graph = expandGraph(pipeline, { targets: ['ids'] });
    const tasks = [...graph.tasks.values()];
    expect(tasks.map((t) => [t.id, t.params['v'], t.item?.data])).toEqual([
      ['ids[0.10]', 0.1, 0.1],
      ['ids[1e-3]', 0.001, 0.001],
      ['ids[023523]', 23523, 23523],
      ['ids[True]', true, true],
      ['ids[-2]', -2, -2],
      // A string item is its id, as before: no data (its tasks keep their keys).
      ['ids[x]', 'x', undefined],
    ]);
  });

  it('reports a value the step refuses at its place in the list, every one at once', async () => {
    const { dir, errors } = await errorsOf(`
      version: 1
      targets:
        scan:
          step: test.scale
          foreach:
            - 0.1
            - -0.2
            - 0.5
            - 0
          params: {factor: "{item}"}
          outputs: {out: "out/r{item}.txt"}
    `);
    expect(errors.map((d) => [d.code, at(d), d.message])).toEqual([
      [
        'invalid-param',
        '7:9',
        "param 'factor' of target 'scan' (step 'test.scale') for foreach item '-0.2': factor must be positive",
      ],
      [
        'invalid-param',
        '9:9',
        "param 'factor' of target 'scan' (step 'test.scale') for foreach item '0': factor must be positive",
      ],
    ]);
    // The param the item went into is the related place.
    expect(errors[0]!.related?.map((r) => [r.message, `${r.span?.line}:${r.span?.col}`])).toEqual([
      ["param 'factor' written here", '10:22'],
    ]);
    expect(renderDiagnostic(errors[0]!, { cwd: dir })).toContain('    - -0.2\n');
  });

  it('reports an issue every item has once, where the param is written', async () => {
    const { errors } = await errorsOf(`
      version: 1
      targets:
        scan:
          step: test.scale
          foreach: [0.1, 0.2]
          params: {factor: "{item} deg", window: {size: 1.5}}
          outputs: {out: "out/r{item}.txt"}
    `);
    expect(errors.map((d) => [at(d), d.message])).toEqual([
      ['6:22', "param 'factor' of target 'scan' (step 'test.scale'): factor must be a number"],
      ['6:51', "param 'window.size' of target 'scan' (step 'test.scale'): window.size must be an integer"],
    ]);
  });

  it('refuses a value listed twice (0.1 and 0.10), and a null or a map, each at its place', async () => {
    const { errors } = await errorsOf(`
      version: 1
      targets:
        scan:
          command: [echo, "{item}"]
          foreach: [0.1, 0.10, true, TRUE, ~, {a: 1}]
          outputs: {out: "out/r{item}.txt"}
    `);
    expect(errors.map((d) => [d.code, at(d), d.message])).toEqual([
      [
        'wrong-type',
        '5:38',
        "'foreach.4' of target 'scan': a foreach item is a string, a number or a boolean",
      ],
      [
        'wrong-type',
        '5:41',
        "'foreach.5' of target 'scan': a foreach item is a string, a number or a boolean",
      ],
    ]);
    const dup = await errorsOf(`
      version: 1
      targets:
        scan:
          command: [echo, "{item}"]
          foreach: [0.1, 0.10, true, TRUE, "0.1"]
          outputs: {out: "out/r{item}.txt"}
    `);
    expect(dup.errors.map((d) => [d.code, at(d), d.message])).toEqual([
      [
        'duplicate-item',
        '5:20',
        "foreach item '0.10' of target 'scan' is listed twice (as '0.1'): both are the number 0.1",
      ],
      [
        'duplicate-item',
        '5:32',
        "foreach item 'TRUE' of target 'scan' is listed twice (as 'true'): both are the boolean true",
      ],
      // The string "0.1" names the same task as the number 0.1.
      ['duplicate-item', '5:38', "foreach item '0.1' of target 'scan' is listed twice"],
    ]);
    expect(dup.errors[0]!.related?.map((r) => `${r.span?.line}:${r.span?.col}`)).toEqual(['5:15']);
  });

  it('keeps a string list and a glob as they were: "{item}" is the id, validated once as written', async () => {
    const pipeline = await pipelineOf(`
      version: 1
      targets:
        named:
          step: test.copy
          foreach: ["0.5", b]
          params: {v: "{item}"}
          outputs: {out: "out/{item}.txt"}
    `);
    const graph = expandGraph(pipeline, { targets: ['named'] });
    expect([...graph.tasks.values()].map((t) => [t.params, t.item])).toEqual([
      [{ v: '0.5' }, { id: '0.5', files: [] }],
      [{ v: 'b' }, { id: 'b', files: [] }],
    ]);
  });
});

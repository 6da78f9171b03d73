// The engine's generic hook for config-dependent graphs: a config schema that exports `targets(config)` expands a
// config into targets, which replace the written templates it names (and written targets reading config values
// the config lacks) and are validated like written ones, with errors at file:line:col of the config. No domain code:
// a toy schema and step.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStepRegistry, expandGraph, type LoadResult, loadPipeline } from '@pipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCHEMA = `
export default {
  name: 'test.jobs',
  validate: () => [],
  targets(config) {
    if (!config || !Array.isArray(config.jobs)) return undefined;
    return {
      targets: config.jobs.map((job, i) => ({
        name: job.name,
        at: ['jobs', i],
        target: {
          step: 'test.check',
          params: { opts: { $config: [['defaults'], ['jobs', i, 'opts']] } },
          outputs: job.bad ? 42 : { out: 'out/' + job.name + '.txt' },
        },
      })),
      // pipe.yaml's templates (unless the config says otherwise): \`downstream\` reads no config value.
      replaces: config.replaces ?? ['templated', 'downstream'],
    };
  },
};
`;

const STEP = `
export default {
  name: 'test.check',
  version: '1',
  validateParams(p) {
    const n = p?.opts?.n;
    return typeof n === 'number' && n >= 0
      ? { ok: true, value: p }
      : { ok: false, issues: [{ path: ['opts', 'n'], message: 'n must be a number >= 0' }] };
  },
  run() {},
};
`;

const PIPE = `version: 1
config: {file: params.yaml, schema: test.jobs}
targets:
  templated:
    command: [node, -e, '0', '{params.n}']
    params: {n: '\${config.defaults.n}'}
    outputs: {out: out/templated.txt}
  independent:
    command: [node, -e, '0']
    outputs: {out: out/independent.txt}
  downstream:
    command: [node, -e, '0']
    inputs: {from: {target: templated}}
    outputs: {out: out/downstream.txt}
`;

describe('targets generated from the config (core hook)', () => {
  let ws: string;
  const registry = createStepRegistry();

  beforeAll(() => {
    ws = mkdtempSync(path.join(tmpdir(), 'pipe-generate-'));
    writeFileSync(path.join(ws, 'schema.mjs'), SCHEMA);
    writeFileSync(path.join(ws, 'check.mjs'), STEP);
    writeFileSync(path.join(ws, 'pipe.yaml'), PIPE);
    registry.registerConfigSchema('test.jobs', path.join(ws, 'schema.mjs'));
    registry.register('test.check', path.join(ws, 'check.mjs'));
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  async function load(config: string): Promise<LoadResult> {
    writeFileSync(path.join(ws, 'params.yaml'), config);
    return loadPipeline(path.join(ws, 'pipe.yaml'), { registry, cwd: ws, env: {} });
  }

  it('keeps the written targets when the schema does not expand the config', async () => {
    const result = await load('defaults: {n: 1}\n');
    expect(result.ok && [...result.pipeline.targets.keys()].sort()).toEqual([
      'downstream',
      'independent',
      'templated',
    ]);
  });

  it('replaces the templates it names, keeps the others, merges config subtrees (later wins)', async () => {
    const result = await load(
      ['defaults: {n: 1, mode: fast}', 'jobs:', '  - {name: a}', '  - {name: b, opts: {n: 2}}', ''].join(
        '\n',
      ),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const { targets } = result.pipeline;
    expect([...targets.keys()].sort()).toEqual(['a', 'b', 'independent']);
    expect(targets.get('a')!.params).toEqual({ opts: { n: 1, mode: 'fast' } });
    expect(targets.get('b')!.params).toEqual({ opts: { n: 2, mode: 'fast' } });
    // The generated target points at its config entry.
    expect(targets.get('b')!.span).toMatchObject({ file: path.join(ws, 'params.yaml'), line: 4 });
    const graph = expandGraph(result.pipeline, { targets: ['a', 'b'] });
    expect([...graph.tasks.keys()].sort()).toEqual(['a', 'b']);
    expect(graph.tasks.get('b')!.outputs['out']).toBe(path.join(ws, 'out/b.txt'));
  });

  it("reports a step's param issue at the config value it came from (the override or the default)", async () => {
    const text = ['defaults: {n: -1}', 'jobs:', '  - {name: a}', '  - {name: b, opts: {n: -5}}', ''].join(
      '\n',
    );
    const result = await load(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => [d.code, d.span?.line, d.span?.col])).toEqual([
      ['invalid-param', 1, 15],
      ['invalid-param', 4, 25],
    ]);
  });

  it('reports a generated target of the wrong shape at its config entry', async () => {
    const result = await load(
      ['defaults: {n: 1}', 'jobs:', '  - {name: a}', '  - {name: c, bad: true}', ''].join('\n'),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({
      code: 'invalid-generated-target',
      span: { line: 4, col: 5 },
    });
  });

  it('keeps a written target that reads values the config has; replaces, and names, one reading what it lacks', async () => {
    // Named by none, reading defaults.n, which the config has: `templated` stays, beside the generated `a`.
    const kept = await load(['defaults: {n: 1}', 'replaces: []', 'jobs:', '  - {name: a}', ''].join('\n'));
    if (!kept.ok) throw new Error(JSON.stringify(kept.diagnostics));
    expect([...kept.pipeline.targets.keys()].sort()).toEqual(['a', 'downstream', 'independent', 'templated']);
    // A config without defaults.n: `templated` cannot be built over it and is replaced; what reads it says why.
    const lacking = await load(
      ['defaults: {m: 1}', 'replaces: []', 'jobs:', '  - {name: a, opts: {n: 2}}', ''].join('\n'),
    );
    expect(lacking.ok).toBe(false);
    if (lacking.ok) return;
    expect(lacking.diagnostics.map((d) => [d.code, d.message, d.span?.file, d.span?.line, d.hint])).toEqual([
      [
        'unknown-target',
        "input 'from' reads from unknown target 'templated'",
        path.join(ws, 'pipe.yaml'),
        13,
        "'templated' is written in the pipeline, but this config replaces it: it reads ${config.defaults.n}, which this config, whose targets are generated from it, does not have",
      ],
    ]);
  });

  it('a generated target may not take the name of a target that stays', async () => {
    const result = await load(['defaults: {n: 1}', 'jobs:', '  - {name: independent}', ''].join('\n'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => d.code)).toEqual(['duplicate-target']);
  });
});

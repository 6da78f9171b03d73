/**
 * --param values applied to a cached load (builds/param-overrides.ts): whenever it answers, the pipeline is the
 * one the loader builds with the same overrides; whatever it cannot vouch for (an invalid value, a key read by an
 * input path or inside a string, a value YAML reads in a way it does not) is left to the loader, whose
 * diagnostics then stand as they are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyConfigOverrides, graphWithParams, readScalar } from '../src/builds/param-overrides.js';
import { loadPipeline } from '../src/config/index.js';
import { expandGraph } from '../src/graph/index.js';
import type { Pipeline } from '../src/model/types.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const PIPE = `
  version: 1
  config: {file: params.yaml, schema: test.analysis}
  targets:
    stack:
      step: test.scale
      inputs: {data: "\${config.data_dir}/a.txt"}
      params: {factor: "\${config.factor}", geom: "\${config.geom}", label: "map of \${config.source.name}"}
      outputs: {out: build/stack.txt}
    plain:
      step: test.copy
      params: {mode: "\${config.mode}"}
      outputs: {out: build/plain.txt}
    each:
      step: test.copy
      foreach: [x, y]
      params: {mode: "\${config.mode}", tag: "t-{item}"}
      outputs: {out: "build/each/{item}.txt"}
`;
const PARAMS = `
  data_dir: data
  factor: 2
  mode: fast
  geom: {binsz: 0.02, width: [5, 5]}
  source: {name: Crab}
`;

function workspace(params = PARAMS): string {
  const dir = makeWorkspace({ 'pipe.yaml': PIPE, 'params.yaml': params, 'data/a.txt': 'a' });
  dirs.push(dir);
  return dir;
}

async function load(dir: string, paramOverrides: Record<string, string> = {}) {
  return loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir, paramOverrides, env: {} });
}

/** The pipeline's targets as plain data (spans included), to compare two loads. */
const plain = (p: Pipeline) => JSON.parse(JSON.stringify({ ...p, targets: [...p.targets] }));

/** Apply `overrides` to the load made with `baseOverrides`; also load with `overrides`, to compare. */
async function both(dir: string, baseOverrides: Record<string, string>, overrides: Record<string, string>) {
  const base = await load(dir, baseOverrides);
  if (!base.ok) throw new Error(JSON.stringify(base.diagnostics));
  if (!base.overrideBase) throw new Error('the load kept no override base');
  const applied = await applyConfigOverrides(base.pipeline, base.overrideBase, overrides, fixtureRegistry());
  const full = await load(dir, overrides);
  return { applied, full };
}

describe('--param applied to a cached load', () => {
  it('gives the pipeline the loader gives, re-validating (and normalising) only the params it reaches', async () => {
    const dir = workspace();
    for (const overrides of [
      { 'config.factor': '3' },
      { 'config.geom.binsz': '0.05' },
      { 'config.geom.width.1': '7', 'config.mode': 'slow' },
      { 'config.mode': '2.50' }, // replaces a string: stays the text, as the loader keeps it
      { 'config.mode': 'null' },
      { 'config.factor': '4', 'config.geom.binsz': '.5' },
    ]) {
      const { applied, full } = await both(dir, {}, overrides);
      if (!full.ok) throw new Error(JSON.stringify(full.diagnostics));
      expect(applied, JSON.stringify(overrides)).toBeDefined();
      expect(plain(applied!.pipeline)).toEqual(plain(full.pipeline));
    }
    const { applied } = await both(dir, {}, { 'config.mode': 'slow' });
    expect(applied!.changed).toEqual(['plain', 'each']);
    // test.scale normalises (adds unit): the re-validated params are the step's, as the loader keeps them.
    expect(
      (await both(dir, {}, { 'config.factor': '3' })).applied!.pipeline.targets.get('stack')!.params,
    ).toEqual(expect.objectContaining({ factor: 3, unit: 'deg' }));
  });

  it('starts from a load that had overrides: changed, dropped and added keys give what the loader gives', async () => {
    const dir = workspace();
    for (const overrides of [{}, { 'config.factor': '5' }, { 'config.mode': 'x' }]) {
      const { applied, full } = await both(
        dir,
        { 'config.factor': '3', 'config.geom.binsz': '0.1' },
        overrides,
      );
      if (!full.ok) throw new Error(JSON.stringify(full.diagnostics));
      expect(applied, JSON.stringify(overrides)).toBeDefined();
      expect(plain(applied!.pipeline)).toEqual(plain(full.pipeline));
      // The base it hands on is the one that load keeps, so the next change starts from the right params.
      if (!full.overrideBase) throw new Error('the load kept no override base');
      expect(applied!.base).toEqual(full.overrideBase);
    }
  });

  it('leaves an invalid value to the loader, which reports it as before', async () => {
    const dir = workspace();
    // The config schema refuses it…
    const bySchema = await both(dir, {}, { 'config.geom.binsz': '-1' });
    expect(bySchema.applied).toBeUndefined();
    expect(bySchema.full.ok).toBe(false);
    // …or the step's validateParams does.
    const byStep = await both(dir, {}, { 'config.factor': '-2' });
    expect(byStep.applied).toBeUndefined();
    if (byStep.full.ok) throw new Error('expected an error');
    expect(byStep.full.diagnostics.map((d) => d.message)).toEqual([
      expect.stringContaining('(value from --param config.factor=-2)'),
    ]);
  });

  it('leaves to the loader keys read by input paths or inside strings, other keys, and values YAML must read', async () => {
    const dir = workspace();
    for (const overrides of [
      { 'config.data_dir': 'other' }, // an input path
      { 'config.source.name': 'PKS' }, // inside a longer string
      { 'config.geom': '1' }, // a map, not a scalar
      { 'config.nothing': '1' }, // not in the file
      { 'stack.factor': '3' }, // a target's param
      { factor: '3' }, // without config.
      { 'config.factor': '0x10' }, // YAML's hex
      { 'config.factor': '[1, 2]' },
      { 'config.factor': "'3'" },
    ]) {
      const { applied } = await both(dir, {}, overrides);
      expect(applied, JSON.stringify(overrides)).toBeUndefined();
    }
  });

  it('keeps no override base for a config with aliases, or a load with a target param override', async () => {
    const aliased = workspace(`${PARAMS}\n  other: &g {binsz: 0.1}\n  again: *g\n`);
    const a = await load(aliased);
    expect(a.ok && a.overrideBase).toBeFalsy();
    const dir = workspace();
    const b = await load(dir, { 'plain.mode': 'slow' });
    expect(b.ok).toBe(true);
    expect(b.ok && b.overrideBase).toBeFalsy();
    const c = await load(dir);
    expect(c.ok && c.overrideBase).toBeTruthy();
  });
});

describe('--param on a target param written as ${config.…}', () => {
  it('takes the type the config value has, as the same value given to the config key does', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        config: params.yaml
        targets:
          t:
            step: test.copy
            params: {n: "\${config.n}", s: "\${config.s}"}
            outputs: {out: build/t.txt}
      `,
      'params.yaml': 'n: 5\ns: text\n',
    });
    dirs.push(dir);
    const params = async (overrides: Record<string, string>) => {
      const got = await load(dir, overrides);
      if (!got.ok) throw new Error(JSON.stringify(got.diagnostics));
      return got.pipeline.targets.get('t')!.params;
    };
    expect(await params({ 't.n': '7', 't.s': '2.50' })).toEqual({ n: 7, s: '2.50' });
    expect(await params({ 'config.n': '7', 'config.s': '2.50' })).toEqual({ n: 7, s: '2.50' });
  });
});

describe('--param on a sweep (a foreach list with {item} in validated params)', () => {
  it('is left to the loader: each item holds params its step validated, which a patched target would not change', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        config: params.yaml
        targets:
          scan:
            step: test.scale
            foreach: [1, 2]
            params: {factor: 2, label: "{item}", window: {size: "\${config.size}"}}
            outputs: {out: "build/{item}.txt"}
      `,
      'params.yaml': 'size: 3\n',
    });
    dirs.push(dir);
    const base = await load(dir);
    if (!base.ok || !base.overrideBase) throw new Error('expected a load with an override base');
    expect(
      await applyConfigOverrides(base.pipeline, base.overrideBase, { 'config.size': '5' }, fixtureRegistry()),
    ).toBeUndefined();
    const full = await load(dir, { 'config.size': '5' });
    if (!full.ok) throw new Error(JSON.stringify(full.diagnostics));
    const task = expandGraph(full.pipeline, { targets: ['scan'] }).tasks.get('scan[2]')!;
    expect(task.params).toEqual({ factor: 2, label: 2, window: { size: 5 }, unit: 'deg' });
  });
});

describe('the task graph of a cached load with other params', () => {
  it('is the graph expansion gives, but for a target whose params hold {item} (expanded again)', async () => {
    const dir = workspace();
    const targets = ['stack', 'plain', 'each'];
    const { applied, full } = await both(dir, {}, { 'config.mode': 'slow', 'config.factor': '3' });
    if (!full.ok || !applied) throw new Error('expected both loads');
    const base = await load(dir);
    if (!base.ok) throw new Error('expected a load');
    const before = expandGraph(base.pipeline, { targets });
    const expanded = expandGraph(full.pipeline, { targets });
    // 'each' substitutes {item} in its params: not patched.
    expect(graphWithParams(before, applied.pipeline, applied.changed)).toBeUndefined();
    const without = applied.changed.filter((t) => t !== 'each');
    const patched = graphWithParams(
      expandGraph(base.pipeline, { targets: ['stack', 'plain'] }),
      applied.pipeline,
      without,
    );
    expect(patched).toEqual(expandGraph(full.pipeline, { targets: ['stack', 'plain'] }));
    expect(patched!.tasks.get('stack')!.params).toEqual(expanded.tasks.get('stack')!.params);
    expect(patched!.tasks.get('stack')!.params['factor']).toBe(3);
  });
});

describe('readScalar', () => {
  it('reads what it answers for exactly as YAML does, and answers for the usual command-line values', () => {
    const corpus = [
      '0.13 deg',
      '1.0 TeV',
      '3',
      '-3',
      '+3',
      '03',
      '0.5',
      '.5',
      '5.',
      '-0.25',
      '1e3',
      '1E-3',
      '0x1f',
      '0o17',
      '.inf',
      '-.inf',
      '.nan',
      'true',
      'True',
      'TRUE',
      'tRue',
      'false',
      'null',
      'Null',
      'NULL',
      '~',
      'yes',
      'no',
      'on',
      'off',
      'icrs',
      'galactic',
      'fov_background',
      'a b c',
      'a  b',
      ' a',
      'a ',
      '- a',
      '-',
      '--',
      '---',
      '...',
      'a: b',
      'a #b',
      '#a',
      '[1]',
      '{a: 1}',
      "'q'",
      '"q"',
      '&a x',
      '*a',
      '!tag x',
      '%x',
      '@x',
      '`x`',
      '|',
      '>',
      'a,b',
      '?',
      'x?',
      '123456789012345678901',
      '1_000',
      '2024-01-01',
      '12:30',
      '/abs/path',
      'rel/path.fits',
      '$GAMMAPY_DATA/x',
      '-1 deg',
      '0.1deg',
      '',
      'a\tb',
      'é',
    ];
    let answered = 0;
    for (const raw of corpus) {
      const read = readScalar(raw);
      if (!read) continue;
      answered++;
      const yaml = raw === '' ? '' : parse(raw);
      expect(read.value, JSON.stringify(raw)).toEqual(yaml);
    }
    expect(answered).toBeGreaterThan(25);
    for (const raw of ['0.13 deg', '3', '0.5', 'true', 'icrs', 'null', '-1 deg', 'rel/path.fits'])
      expect(readScalar(raw), raw).toBeDefined();
  });
});

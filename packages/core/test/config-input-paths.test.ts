import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/index.js';
import { matchFiles } from '../src/graph/items.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

function workspace(files: Record<string, string>): string {
  const dir = makeWorkspace(files);
  dirs.push(dir);
  return dir;
}

/** The workspace's pipeline, loaded with an empty environment. */
const load = (dir: string) => loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir, env: {} });

/** A pipeline of one target `select` whose inputs (YAML lines under `inputs:`) read conf/analysis.yaml's values. */
const selectPipeline = (inputs: string[]) => `
  version: 1
  config: conf/analysis.yaml
  targets:
    select:
      step: test.copy
      inputs:
${inputs.map((line) => `        ${line}`).join('\n')}
      outputs: [out/obs.json]
`;

const PIPE = `
  version: 1
  config: conf/analysis.yaml
  vars: {DATA: ./shipped}
  targets:
    select:
      step: test.copy
      inputs:
        index: \${config.observations.datastore}/index.fits
        mask: \${config.background.exclusion?}
      outputs: [out/obs.json]
`;

function filesFor(analysis: string): Record<string, string> {
  return {
    'pipe.yaml': PIPE,
    'conf/analysis.yaml': analysis,
    'shipped/store/index.fits': 'x',
    'elsewhere/store/index.fits': 'y',
    'conf/mask.fits': 'm',
  };
}

describe('input paths from the config file and the environment', () => {
  it('expands ${config.x}, then $VAR from vars: (relative to the root file); optional inputs may be absent', async () => {
    const dir = workspace(filesFor('observations: {datastore: $DATA/store}\n'));
    const result = await load(dir);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const inputs = result.pipeline.targets.get('select')!.inputs;
    expect(inputs['index']).toEqual([
      expect.objectContaining({ kind: 'file', pattern: 'shipped/store/index.fits' }),
    ]);
    expect(inputs['mask']).toEqual([]);
  });

  it('lets the environment win over vars:, and resolves config-relative paths against the config file', async () => {
    const dir = workspace(
      filesFor('observations: {datastore: $DATA/store}\nbackground: {exclusion: mask.fits}\n'),
    );
    const result = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      env: { DATA: `${dir}/elsewhere` },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const inputs = result.pipeline.targets.get('select')!.inputs;
    expect(inputs['index']).toEqual([expect.objectContaining({ pattern: 'elsewhere/store/index.fits' })]);
    expect(inputs['mask']).toEqual([expect.objectContaining({ pattern: 'conf/mask.fits' })]);
  });

  it('reads a relative path in an environment variable from where the command was started, as a shell user means it', async () => {
    const dir = workspace(filesFor('observations: {datastore: $DATA/store}\n'));
    // Started in <dir>/shipped with DATA=../elsewhere: <dir>/elsewhere, not <dir>/conf/../elsewhere by the config file.
    const result = await loadPipeline(`${dir}/pipe.yaml`, {
      registry: fixtureRegistry(),
      cwd: `${dir}/shipped`,
      env: { DATA: '../elsewhere' },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const inputs = result.pipeline.targets.get('select')!.inputs;
    expect(inputs['index']).toEqual([expect.objectContaining({ pattern: 'elsewhere/store/index.fits' })]);
    // A variable inside a path is a name, not a folder of its own.
    const inner = workspace({
      ...filesFor('observations: {datastore: shipped/$NAME}\n'),
      'conf/shipped/store/index.fits': 'z',
    });
    const named = await loadPipeline(`${inner}/pipe.yaml`, {
      registry: fixtureRegistry(),
      cwd: `${inner}/elsewhere`,
      env: { NAME: 'store' },
    });
    if (!named.ok) throw new Error(JSON.stringify(named.diagnostics));
    expect(named.pipeline.targets.get('select')!.inputs['index']).toEqual([
      expect.objectContaining({ pattern: 'conf/shipped/store/index.fits' }),
    ]);
  });

  it('points a missing file named by the config into the config file', async () => {
    const dir = workspace(filesFor('observations:\n  datastore: $DATA/nowhere\n'));
    const result = await load(dir);
    // A missing input stops only the commands that need its target: deferred to them.
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const missing = result.pipeline.deferred?.find((d) => d.code === 'missing-input');
    expect(missing?.span).toMatchObject({ file: `${dir}/conf/analysis.yaml`, line: 2, col: 14 });
  });

  it('refuses a {params.x} placeholder in an input path (not substituted there), once', async () => {
    const dir = workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  t:\n    params: {name: a}\n    inputs: {x: "raw/{params.name}.txt"}\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    outputs: {o: out/t.txt}\n',
    });
    const result = await load(dir);
    if (result.ok) throw new Error('expected the placeholder to be refused');
    expect(result.diagnostics.map((d) => [d.code, d.span?.line, d.message])).toEqual([
      [
        'input-placeholder',
        5,
        "input path 'raw/{params.name}.txt' contains '{params.name}': an input path takes {item}, ${config.a.b} and $NAME, no other placeholder",
      ],
    ]);
  });

  it("refuses Snakemake's {wildcards.x} in an input path at load, with {item} as the way, not as a missing file", async () => {
    const dir = workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  t:\n    inputs: {x: "data/{wildcards.sample}.txt"}\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    outputs: {o: out/t.txt}\n',
    });
    const result = await load(dir);
    if (result.ok) throw new Error('expected the wildcard to be refused');
    expect(
      result.diagnostics.map((d) => [d.code, `${d.span?.line}:${d.span?.col}`, d.message, d.hint]),
    ).toEqual([
      [
        'input-placeholder',
        '4:17',
        "input path 'data/{wildcards.sample}.txt' contains '{wildcards.sample}': pipe has no wildcards but a foreach target's {item}",
        `write {item} where '{wildcards.sample}' is, in a target that fans out (foreach: {glob: "data/*.txt"}, a list, or {items: T})`,
      ],
    ]);
  });

  it('says once that an absolute data-store folder does not exist, as written, for both of its index globs', async () => {
    const store = '/nonexistent-pipe-test/hess-dl3-dr2';
    const dir = workspace({
      'pipe.yaml': selectPipeline([
        "index: ['${config.observations.datastore}/hdu-index.fits*', '${config.observations.datastore}/obs-index.fits*']",
      ]),
      'conf/analysis.yaml': `observations: {datastore: ${store}}\n`,
    });
    const result = await load(dir);
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const missing = (result.pipeline.deferred ?? []).filter((d) => d.code === 'missing-input');
    expect(missing.map((d) => [d.span?.line, d.span?.col, d.hint])).toEqual([
      [1, 27, `the path is this value of analysis.yaml; the folder '${store}' does not exist`],
    ]);
    // Written relative (to the config file), reaching out of the workspace: said so, the folder shown whole.
    writeFileSync(`${dir}/conf/analysis.yaml`, 'observations: {datastore: ../../nowhere-pipe-test/store}\n');
    const relative = await load(dir);
    if (!relative.ok) throw new Error(JSON.stringify(relative.diagnostics));
    expect(relative.pipeline.deferred?.map((d) => d.hint)).toEqual([
      `the path is this value of analysis.yaml: relative to that file, with $NAME from the environment (else the root pipe.yaml's vars:); the folder '${path.resolve(dir, '../nowhere-pipe-test/store')}' does not exist`,
    ]);
  });

  it('says what is at an input path that is a symlink loop (statSync threw ELOOP: a stack trace, exit 70)', async () => {
    const dir = workspace(
      filesFor('observations: {datastore: $DATA/store}\nbackground: {exclusion: loop.fits}\n'),
    );
    symlinkSync('loop.fits', `${dir}/conf/loop.fits`);
    const result = await load(dir);
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const missing = result.pipeline.deferred?.find((d) => d.code === 'missing-input');
    expect(missing?.message).toBe(
      "input 'mask' of target 'select': file 'conf/loop.fits' is unusable: a loop of symbolic links",
    );
    expect(missing?.span).toMatchObject({ file: `${dir}/conf/analysis.yaml`, line: 2 });
  });

  it('takes config values and variables as literal paths in a glob: a store in "LST-1 (2021) {a}" is found', async () => {
    const store = 'LST-1 (2021) {a}/dl3 [x]';
    const dir = workspace({
      'pipe.yaml': selectPipeline([
        'index: ${config.observations.datastore}/index.fits*',
        'mask: ${config.background.exclusion}',
      ]),
      'conf/analysis.yaml': `observations: {datastore: '../${store}'}\nbackground: {exclusion: 'mask (1).fits'}\n`,
      [`${store}/index.fits.gz`]: 'x',
      'conf/mask (1).fits': 'm',
    });
    const result = await load(dir);
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    // before: 'glob … matches no file' ('(2021)' an extglob group, '{a}' a brace list, '[x]' a class)
    expect((result.pipeline.deferred ?? []).map((d) => d.message)).toEqual([]);
    const inputs = result.pipeline.targets.get('select')!.inputs;
    expect(matchFiles(inputs['index']![0]!.pattern as string, dir)).toEqual([
      `${dir}/${store}/index.fits.gz`,
    ]);
    expect(matchFiles(inputs['mask']![0]!.pattern as string, dir)).toEqual([`${dir}/conf/mask (1).fits`]);
  });

  it('reports an unset variable with a hint, and an unknown config key with did-you-mean', async () => {
    const dir = workspace({ ...filesFor('observations: {datastor: x, datastore: $NOPE/store}\n') });
    const result = await load(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const unset = result.diagnostics.find((d) => d.code === 'unset-variable');
    expect(unset?.message).toContain('$NOPE');
    expect(unset?.hint).toContain("'vars:'");
    // Said once: the path with '$NOPE' left in it is not checked as a file as well.
    expect(result.diagnostics.filter((d) => d.message.includes('$NOPE')).map((d) => d.code)).toEqual([
      'unset-variable',
    ]);
    // Once too for a value two inputs read (a data store's two index files: it was said twice, at the same place).
    const two = workspace({
      'pipe.yaml': selectPipeline([
        'index: ${config.observations.datastore}/hdu-index.fits*',
        'obs: ${config.observations.datastore}/obs-index.fits*',
      ]),
      'conf/analysis.yaml': 'observations: {datastore: $NOPE/store}\n',
    });
    const twice = await load(two);
    expect(twice.ok).toBe(false);
    if (twice.ok) return;
    expect(twice.diagnostics.map((d) => [d.code, d.span?.line, d.span?.col])).toEqual([
      ['unset-variable', 1, 27],
    ]);
  });

  // Found by `GAMMAPY_DATA= pipe build excess_map` (an export of a variable that was not set): the store was looked for
  // at /hess-dl3-dr1, "glob '/hess-dl3-dr1/hdu-index.fits*' matches no file", with no word of the variable.
  it('a variable set to an empty value that starts an input path is said, with the default it hides', async () => {
    const dir = workspace(filesFor('observations: {datastore: $DATA/store}\n'));
    const result = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      env: { DATA: '' },
    });
    // Deferred, as a missing input is, to the commands that need the target.
    const said = result.ok ? (result.pipeline.deferred ?? []) : result.diagnostics;
    expect(said.map((d) => [d.code, d.target, d.span?.line, d.message, d.hint])).toEqual([
      [
        'empty-variable',
        'select',
        1,
        "input path '$DATA/store/index.fits' starts with $DATA, which is set to an empty value in the environment",
        `set DATA to its folder, or unset it (unset DATA) to use the root pipe.yaml's default, ${dir}/shipped`,
      ],
    ]);
    // Inside a path, an empty variable is an empty name part, as the shell has it.
    const inside = workspace({ ...filesFor('observations: {datastore: ../shipped$DATA/store}\n') });
    const loaded = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: inside,
      env: { DATA: '' },
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    expect(loaded.pipeline.deferred ?? []).toEqual([]);
  });

  // Found by `DATA= pipe plan other` with a fan-out over "$DATA/*.txt": the empty variable was deferred to the target,
  // but its foreach glob was also said to name "a config value that is unset" (none is), an error of every command.
  it('a foreach glob starting with an empty or unset variable: that said alone, deferred when empty', async () => {
    const files = {
      'pipe.yaml': `
        version: 1
        vars: { DATA: data }
        targets:
          fan:
            foreach: { glob: "$DATA/*.txt" }
            step: test.copy
            inputs: { src: "$DATA/{item}.txt" }
            outputs: ["out/{item}.txt"]
          other:
            step: test.copy
            outputs: [out/other.txt]
      `,
      'data/a.txt': 'a',
    };
    const dir = workspace(files);
    const empty = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      env: { DATA: '' },
    });
    if (!empty.ok) throw new Error(JSON.stringify(empty.diagnostics));
    expect((empty.pipeline.deferred ?? []).map((d) => [d.code, d.target, d.span?.line])).toEqual([
      ['empty-variable', 'fan', 5],
      ['empty-variable', 'fan', 7],
    ]);
    // Unset, with no default: the variable, once per place, and no second error at the glob.
    const unset = workspace({
      ...files,
      'pipe.yaml': files['pipe.yaml'].replace('vars: { DATA: data }', ''),
    });
    const said = await load(unset);
    expect(said.ok).toBe(false);
    if (said.ok) return;
    expect(said.diagnostics.map((d) => [d.code, d.span?.line])).toEqual([
      ['unset-variable', 5],
      ['unset-variable', 7],
    ]);
  });

  it('$$ in an input path is a literal $ (Outer$Inner.class, $price.csv); a lone $NAME is still a variable', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          t:
            step: test.copy
            inputs: { a: "data/$$price.csv", b: "classes/Outer$$Inner.class", c: "$HERE/x.txt" }
            outputs: [out/t.txt]
      `,
      'data/$price.csv': 'p',
      'classes/Outer$Inner.class': 'c',
      'here/x.txt': 'x',
    });
    const result = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      env: { HERE: 'here' },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.pipeline.deferred ?? []).toEqual([]);
    const inputs = result.pipeline.targets.get('t')!.inputs;
    expect(matchFiles(inputs['a']![0]!.pattern as string, dir)).toEqual([`${dir}/data/$price.csv`]);
    expect(matchFiles(inputs['b']![0]!.pattern as string, dir)).toEqual([`${dir}/classes/Outer$Inner.class`]);
    expect(matchFiles(inputs['c']![0]!.pattern as string, dir)).toEqual([`${dir}/here/x.txt`]);
  });
});

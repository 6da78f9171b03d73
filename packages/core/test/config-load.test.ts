import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline, locateParam } from '../src/config/index.js';
import type { Pipeline } from '../src/model/types.js';
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

async function load(
  dir: string,
  options: { configFile?: string; paramOverrides?: Record<string, string> } = {},
): Promise<Pipeline> {
  const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir, ...options });
  if (!result.ok)
    throw new Error(`expected a valid pipeline, got:\n${JSON.stringify(result.diagnostics, null, 2)}`);
  return result.pipeline;
}

const GOOD = {
  'pipe.yaml': `
    version: 1
    include: [pipelines/*.yaml]
    config: {file: analysis.yaml, schema: test.analysis}
    defaults:
      executor: local
      resources: {cpus: 1, mem: 2G}
    targets:
      runs:
        step: test.copy
        foreach: {glob: data/*.fits.gz}
        inputs: {events: 'data/{item}.fits.gz'}
        outputs: {dataset: 'build/runs/{item}.fits'}
        resources: {mem: 4G, time: '01:30:00'}
      stack:
        resources: {mem: 2048, time: 30}
        step: test.scale
        inputs:
          datasets: {target: runs}
        params:
          factor: 2
          geom: \${config.geom}
          label: 'map of \${config.source.name}'
        outputs: {stacked: build/stacked.fits}
  `,
  'pipelines/plot.yaml': `
    targets:
      plot:
        command: [python, '{inputs.script}', '{inputs.map}', -o, '{outputs.png}']
        inputs: {map: build/stacked.fits, script: plot.py}
        outputs: {png: build/plot.png}
        env: [MPLBACKEND]
        needs: [runs]
  `,
  'pipelines/plot.py': 'print(1)\n',
  'analysis.yaml': `
    source: {name: Crab, ra: 83.63}
    geom:
      binsz: 0.02
      width: [5, 5]
  `,
  'data/run1.fits.gz': 'x',
  'data/run2.fits.gz': 'y',
};

describe('loadPipeline: valid pipelines', () => {
  it('loads targets from the root file and its includes, with defaults applied', async () => {
    const dir = workspace(GOOD);
    const pipeline = await load(dir);
    expect([...pipeline.targets.keys()].sort()).toEqual(['plot', 'runs', 'stack']);
    expect(pipeline.root).toBe(dir);
    expect(pipeline.sourceFiles).toEqual([
      path.join(dir, 'pipe.yaml'),
      path.join(dir, 'pipelines/plot.yaml'),
      path.join(dir, 'analysis.yaml'),
    ]);
    const runs = pipeline.targets.get('runs')!;
    expect(runs.foreach).toMatchObject({ kind: 'glob', pattern: 'data/*.fits.gz' });
    expect(runs.resources).toEqual({ cpus: 1, mem: '4G', time: '01:30:00' });
    // Plain numbers, as Snakemake users write them: megabytes and minutes.
    expect(pipeline.targets.get('stack')!.resources).toEqual({ cpus: 1, mem: '2048', time: '30' });
    // The file's default stays the pipeline's (`--executor` overrides it); the target has none of its own.
    expect(runs.executor).toBeUndefined();
    expect(pipeline.defaults.executor).toBe('local');
    expect(runs.stepModule).toMatch(/steps\/copy\.mjs$/);
    expect(runs.span).toMatchObject({ file: path.join(dir, 'pipe.yaml'), line: 8, col: 3 });
  });

  it("'default:' (one name or a list) is the targets of a command that names none; absent, there are none", async () => {
    const targets = 'targets:\n  a: {command: [x], outputs: [a]}\n  b: {command: [y], outputs: [b]}\n';
    expect(
      (await load(workspace({ 'pipe.yaml': `version: 1\ndefault: b\n${targets}` }))).defaultTargets,
    ).toEqual(['b']);
    const listed = await load(workspace({ 'pipe.yaml': `version: 1\ndefault: [b, a]\n${targets}` }));
    expect(listed.defaultTargets).toEqual(['b', 'a']);
    expect((await load(workspace({ 'pipe.yaml': `version: 1\n${targets}` }))).defaultTargets).toBeUndefined();
  });

  it('substitutes ${config...} subtrees and string parts, and keeps the step-normalised params', async () => {
    const pipeline = await load(workspace(GOOD));
    expect(pipeline.targets.get('stack')!.params).toEqual({
      factor: 2,
      geom: { binsz: 0.02, width: [5, 5] },
      label: 'map of Crab',
      unit: 'deg', // added by the step's validateParams
    });
    expect(pipeline.config).toEqual({
      file: path.join(pipeline.root, 'analysis.yaml'),
      schema: 'test.analysis',
    });
  });

  it("'${config.a.b?}' as a whole params value is null when the config leaves the key out", async () => {
    // A gammapy config without an excess_map section is gammapy's defaults; `${config.excess_map}` made it an
    // error pointing into pipe.yaml ("the config file has no key 'excess_map' at the top level").
    const files = {
      ...GOOD,
      'pipe.yaml': (GOOD['pipe.yaml'] as string)
        .replace('geom: ${config.geom}', "geom: '${config.geom?}'\n          extra: '${config.extra?}'")
        .replace("label: 'map of ${config.source.name}'", "label: '${config.source.name?}'"),
    };
    const params = (await load(workspace(files))).targets.get('stack')!.params;
    expect(params).toEqual({
      factor: 2,
      geom: { binsz: 0.02, width: [5, 5] },
      extra: null,
      label: 'Crab',
      unit: 'deg',
    });
  });

  it('locateParam: where a param value was set (config file, pipeline file, --param), for a step that blames it', async () => {
    const dir = workspace(GOOD);
    const at = (file: string, line: string, text: string) => {
      const lines = readFileSync(path.join(dir, file), 'utf8').split('\n');
      const row = lines.findIndex((l) => l.includes(line));
      return `set at ${file}:${row + 1}:${lines[row]!.indexOf(text, lines[row]!.indexOf(line)) + 1}`;
    };
    const options = { registry: fixtureRegistry(), cwd: dir };
    // From the config file through ${config.geom}: the list element itself.
    expect(await locateParam('pipe.yaml', options, 'stack', ['geom', 'width', 1])).toBe(
      at('analysis.yaml', 'width: [5, 5]', '5]'),
    );
    // Written in pipe.yaml.
    expect(await locateParam('pipe.yaml', options, 'stack', ['factor'])).toBe(
      at('pipe.yaml', 'factor: 2', '2'),
    );
    // A path below a value that has no origin of its own: its nearest ancestor's.
    expect(await locateParam('pipe.yaml', options, 'stack', ['factor', 'x'])).toBe(
      at('pipe.yaml', 'factor: 2', '2'),
    );
    // Set on the command line.
    expect(
      await locateParam('pipe.yaml', { ...options, paramOverrides: { 'stack.factor': '3' } }, 'stack', [
        'factor',
      ]),
    ).toBe('set by --param stack.factor=3');
    // Unknown target: nothing to say.
    expect(await locateParam('pipe.yaml', options, 'nope', ['factor'])).toBeUndefined();
  });

  it('makes command steps from `command:` and resolves inputs relative to the declaring file', async () => {
    const pipeline = await load(workspace(GOOD));
    const plot = pipeline.targets.get('plot')!;
    expect(plot.step).toBe('command');
    expect(plot.stepModule).toBeUndefined();
    expect(plot.command).toEqual(['python', '{inputs.script}', '{inputs.map}', '-o', '{outputs.png}']);
    // `map` names the output of `stack` by its workspace path; `script` is relative to pipelines/plot.yaml.
    expect(plot.inputs['map']).toMatchObject([{ kind: 'target', target: 'stack', output: 'stacked' }]);
    expect(plot.inputs['script']).toMatchObject([{ kind: 'file', pattern: 'pipelines/plot.py' }]);
    expect(plot.env).toEqual(['MPLBACKEND']);
    expect(plot.needs).toEqual(['runs']);
  });

  it('turns a file input that is another target’s output into a dependency on it', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [touch, '{outputs.out}'], outputs: {out: build/a.txt}}
          b:
            command: [cat, '{inputs.src}']
            inputs: {src: build/a.txt}
            outputs: [build/b.txt]
      `,
    });
    const pipeline = await load(dir);
    expect(pipeline.targets.get('b')!.inputs['src']).toMatchObject([
      { kind: 'target', target: 'a', output: 'out' },
    ]);
    expect(pipeline.targets.get('b')!.outputs).toEqual({ '0': 'build/b.txt' });
  });

  it('applies --param overrides to the config file and to target params, parsed as YAML', async () => {
    const dir = workspace(GOOD);
    const pipeline = await load(dir, {
      paramOverrides: { 'geom.binsz': '0.05', 'stack.factor': '3', 'source.name': 'PKS 2155' },
    });
    const stack = pipeline.targets.get('stack')!;
    expect(stack.params['factor']).toBe(3);
    expect(stack.params['geom']).toEqual({ binsz: 0.05, width: [5, 5] });
    expect(stack.params['label']).toBe('map of PKS 2155');
    // An empty value is the empty string, not YAML's null (which a label would show as 'null').
    const empty = await load(dir, { paramOverrides: { 'source.name': '' } });
    expect(empty.targets.get('stack')!.params['label']).toBe('map of ');
  });

  it('keeps the text of a --param value that replaces a string; numbers, null and lists elsewhere as YAML reads them', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          fit: {command: [x], params: {version: '1.10', tag: v, n: 1, opt: 'on', list: [a]}, outputs: [build/fit.txt]}
      `,
    });
    const pipeline = await load(dir, {
      paramOverrides: {
        'fit.version': '2.50',
        'fit.tag': 'null',
        'fit.n': '2.50',
        'fit.opt': 'true',
        'fit.list': '[b, 3]',
      },
    });
    expect(pipeline.targets.get('fit')!.params).toEqual({
      version: '2.50',
      tag: null,
      n: 2.5,
      opt: 'true',
      list: ['b', 3],
    });
  });

  it('reads a --param value over a whole "{item}" as YAML: the item stands for a typed value, not text', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          scan: {foreach: [0.05, 0.1], command: [x], params: {r: "{item}", label: "r{item}"}, outputs: ["out/{item}.txt"]}
      `,
    });
    const pipeline = await load(dir, { paramOverrides: { 'scan.r': '0.25', 'scan.label': '7' } });
    // The whole placeholder gets the number; the longer string was text, and its override stays text.
    expect(pipeline.targets.get('scan')!.params).toEqual({ r: 0.25, label: '7' });
  });

  it('reaches a target named config with --param config.p when the pipeline has no config file', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          config: {command: [x], params: {p: 1}, outputs: [build/c.txt]}
      `,
    });
    const pipeline = await load(dir, { paramOverrides: { 'config.p': '4' } });
    expect(pipeline.targets.get('config')!.params).toEqual({ p: 4 });
  });

  it('sends --param T.p to the longest target name that starts the key and has the param (names may hold dots)', async () => {
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          fit.v2: {command: [x], params: {p: 1}, outputs: [build/fit2.txt]}
          fit: {command: [x], params: {v2: {q: 1}, p: 1}, outputs: [build/fit.txt]}
      `,
    });
    const pipeline = await load(dir, {
      paramOverrides: { 'fit.v2.p': '9', 'fit.v2.q': '5', 'fit.p': '7' },
    });
    expect(pipeline.targets.get('fit.v2')!.params).toEqual({ p: 9 });
    expect(pipeline.targets.get('fit')!.params).toEqual({ v2: { q: 5 }, p: 7 });
  });

  it('sets config keys the file leaves out with an explicit config. prefix when the config has a schema', async () => {
    const dir = workspace(GOOD);
    const pipeline = await load(dir, {
      paramOverrides: { 'config.geom.frame': 'galactic', 'config.geom.axes.energy.nbins': '4' },
    });
    expect(pipeline.targets.get('stack')!.params['geom']).toEqual({
      binsz: 0.02,
      width: [5, 5],
      frame: 'galactic',
      axes: { energy: { nbins: 4 } },
    });
    // The schema checks what was created, and its error names the override.
    const bad = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      paramOverrides: { 'config.geom.binsz': '-1', 'config.geom.other': '1' },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.diagnostics.map((d) => d.message)).toContainEqual(
        expect.stringContaining('(value from --param config.geom.binsz=-1)'),
      );
    // Without the prefix a missing key stays an error (it could be a target's param mistyped).
    const missing = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: dir,
      paramOverrides: { 'geom.frame': 'galactic' },
    });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.diagnostics[0]!.message).toMatch(/no config key 'geom.frame'/);
  });

  it('reads another parameter file with configFile (pipe build --config)', async () => {
    const dir = workspace({ ...GOOD, 'other.yaml': 'source: {name: Vela}\ngeom: {binsz: 0.1}\n' });
    const pipeline = await load(dir, { configFile: 'other.yaml' });
    expect(pipeline.targets.get('stack')!.params['geom']).toEqual({ binsz: 0.1 });
    expect(pipeline.sourceFiles).toContain(path.join(dir, 'other.yaml'));
  });

  it('warns, without failing, about a target without outputs', async () => {
    const dir = workspace({ 'pipe.yaml': 'version: 1\ntargets:\n  hello: {command: [echo, hi]}\n' });
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.warnings.map((w) => w.code)).toEqual(['no-outputs']);
  });

  it('does not warn about a step without outputs whose items another target fans out over', async () => {
    // Its product is the item list, which the cache keeps and restores (another workspace sharing the cache
    // expands the fan-out without running it): "nothing to cache or restore" would be false.
    const dir = workspace({
      'pipe.yaml': `
        version: 1
        targets:
          select: {step: ./steps/select.mjs}
          fit:
            step: ./steps/select.mjs
            foreach: {items: select}
            outputs: {fit: "fits/{item}.json"}
      `,
      'steps/select.mjs':
        "export default {name: 'x.select', version: '1', async run() { return {items: []}; }};\n",
    });
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.warnings).toEqual([]);
  });
});

describe('the example of src/config/README.md', () => {
  it('loads as written (a documented example that does not parse is worse than none)', async () => {
    const readme = readFileSync(new URL('../src/config/README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(yaml).toBeDefined();
    const dir = workspace({
      'pipe.yaml': yaml!,
      'analysis.yaml': 'detector: {gain: 1.5}\n',
      'data/runs/r1.csv': 'x\n1\n',
      'scripts/calibrate.py': '',
      'scripts/plot.py': '',
      'steps/merge.js': "export default { name: 'example.merge', version: '1', run() {} };\n",
      'package.json': '{"type": "module"}\n',
    });
    const pipeline = await load(dir);
    expect([...pipeline.targets.keys()].sort()).toEqual(['calibrate', 'merge', 'plot']);
    expect(pipeline.defaults.executor).toBe('local');
    expect(pipeline.defaultTargets).toEqual(['merge']);
    // The file's default executor is not copied into targets: `--executor` may still override it.
    expect(pipeline.targets.get('calibrate')!.executor).toBeUndefined();
  });
});

describe('what a step module declares', () => {
  const stepWith = (extra: string) => ({
    'pipe.yaml':
      'version: 1\ntargets:\n  t:\n    step: ./steps/s.mjs\n    params: {a: 1}\n    outputs: {o: build/o.txt}\n',
    'steps/s.mjs': `export default { name: 's', version: '1', ${extra} run() {} };\n`,
  });

  it('refuses a kernel name @pipe/kernels does not have, suggesting the close one', async () => {
    const dir = workspace(stepWith("kernels: ['correlateDisc', 'cashStatistics'],"));
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(false);
    const d = !result.ok ? result.diagnostics.find((x) => x.code === 'unknown-kernel') : undefined;
    expect(d?.message).toContain("'correlateDisc'");
    expect(d?.hint).toContain("'correlateDisk'");
    expect(await load(workspace(stepWith("kernels: ['correlateDisk', 'sampleNearest'],")))).toBeDefined();
    // A name every object has is no kernel either (helper-131: it passed, then the build crashed).
    const proto = await loadPipeline('pipe.yaml', {
      registry: fixtureRegistry(),
      cwd: workspace(stepWith("kernels: ['correlateDisk', 'toString'],")),
    });
    expect(!proto.ok && proto.diagnostics.map((x) => x.code)).toEqual(['unknown-kernel']);
  });

  it('says where validateParams threw', async () => {
    const dir = workspace(stepWith('validateParams(p) {\n  return p.missing.x;\n},'));
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(false);
    const message = !result.ok ? result.diagnostics[0]!.message : '';
    expect(message).toMatch(/threw while validating params .*\(at .*steps\/s\.mjs:2:\d+\)/);
  });
});

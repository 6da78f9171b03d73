/**
 * `pipe graph` and `pipe why` read the pipeline as build and plan do (--config FILE, --param key=value),
 * the build header names a kernel backend only when a step uses kernels, and a state journal torn by a
 * crash is read up to its last whole line. Runs the real binary.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.suffix',
  version: '1',
  run(ctx) {
    writeFileSync(ctx.outputs.out, readFileSync(ctx.inputs.src[0], 'utf8') + ctx.params.suffix);
  },
};
`;

const PIPELINE = `version: 1
config: conf.yaml
targets:
  each:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    step: ./steps/suffix.mjs
    params: { suffix: "\${config.suffix}" }
    outputs: { out: "out/{item}.txt" }
`;

const temp = tempWorkspaces('pipe-opts-');

function workspace(): string {
  return temp.workspace({
    'pipe.yaml': PIPELINE,
    'conf.yaml': 'suffix: "."\n',
    'configs/loud.yaml': 'suffix: "!"\n',
    'configs/broken.yaml': 'suffix: [\n',
    'steps/suffix.mjs': STEP,
    'data/a.txt': 'alpha',
    'data/b.txt': 'beta',
  });
}

function pipe(root: string, args: string[]) {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function suffixes(stdout: string): string[] {
  const graph = JSON.parse(stdout) as { tasks: Array<{ id: string; params: { suffix: string } }> };
  return graph.tasks.map((t) => `${t.id}=${t.params.suffix}`).sort();
}

describe('pipe graph and pipe why take --config and --param', () => {
  it('graphs the pipeline under the given parameter file and overrides', () => {
    const root = workspace();
    const plain = pipe(root, ['graph', 'each', '--format', 'json']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(suffixes(plain.stdout)).toEqual(['each[a]=.', 'each[b]=.']);

    const loud = pipe(root, ['graph', 'each', '--format', 'json', '--config', 'configs/loud.yaml']);
    expect(loud.code, loud.stderr).toBe(0);
    expect(suffixes(loud.stdout)).toEqual(['each[a]=!', 'each[b]=!']);

    const param = pipe(root, ['graph', 'each', '--format', 'json', '--param', 'config.suffix=plus']);
    expect(param.code, param.stderr).toBe(0);
    expect(suffixes(param.stdout)).toEqual(['each[a]=plus', 'each[b]=plus']);

    // A broken parameter file is reported with its place, as build reports it.
    const broken = pipe(root, ['graph', 'each', '--config', 'configs/broken.yaml']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml');
  });

  it('explains a product under a parameter file, and refuses a broken one', () => {
    const root = workspace();
    const built = pipe(root, ['build', 'each', '--config', 'configs/loud.yaml']);
    expect(built.code, built.stderr).toBe(0);
    const why = pipe(root, [
      'why',
      'out/a.txt',
      '--config',
      'configs/loud.yaml',
      '--param',
      'config.suffix=!',
    ]);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain('each[a]');
    expect(why.stdout).toContain('"suffix":"!"');
    const broken = pipe(root, ['why', 'out/a.txt', '--config', 'configs/broken.yaml']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml');
  });
});

describe('the build header', () => {
  it('names no kernel backend when no step uses kernels', () => {
    const root = workspace();
    const built = pipe(root, ['build', 'each']);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/build \S+: each — 2 tasks planned\n/);
    expect(built.stderr).not.toContain('kernels');
  });
});

describe('the state journal through the CLI', () => {
  it('appends a build to the journal, and after a torn append builds again from the whole lines', () => {
    const root = workspace();
    expect(pipe(root, ['build', 'each']).code).toBe(0);
    const journal = path.join(root, '.pipe', 'state.journal');
    const header = readFileSync(journal, 'utf8');
    expect(header).toMatch(/^pipe-state-journal 1 [0-9a-f]+\n$/);

    writeFileSync(path.join(root, 'data/a.txt'), 'ALPHA');
    const changed = pipe(root, ['build', 'each']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/ran +each\[a\]/);
    const appended = readFileSync(journal, 'utf8');
    expect(appended.startsWith(header)).toBe(true);
    expect(appended.slice(header.length)).toContain('"each[a]"');
    expect(appended.slice(header.length)).not.toContain('"each[b]"');

    // kill -9 mid-append: half of the last line is on disk. That build's record of each[a] is lost, no more.
    writeFileSync(
      journal,
      appended.slice(0, header.length + Math.floor((appended.length - header.length) / 2)),
    );
    const plan = pipe(root, ['plan', 'each', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const tasks = (JSON.parse(plan.stdout) as { tasks: Array<{ id: string; action: string }> }).tasks;
    expect(tasks.find((t) => t.id === 'each[b]')?.action).toBe('up-to-date');
    // each[a]'s product (and its cache entry) are in place: it is adopted, not run, and recorded again.
    expect(tasks.map((t) => t.id).sort()).toEqual(['each[a]', 'each[b]']);

    const again = pipe(root, ['build', 'each']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'out/a.txt'), 'utf8')).toBe('ALPHA.');
    const healed = readFileSync(journal, 'utf8');
    expect(healed.endsWith('\n')).toBe(true);
    const lines = healed.split('\n').filter(Boolean).slice(1);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(healed).toContain('"each[a]"');
    const after = pipe(root, ['plan', 'each']);
    expect(after.stdout).toContain('plan: 0 to run, 0 to restore, 0 maybe, 2 up to date');
  });
});

describe('pipe --version', () => {
  it("prints pipe's version and exits 0, outside any workspace", () => {
    const dir = temp.dir();
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(process.execPath, [PIPE_BIN, flag], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(0);
      // The core package's version, then (built from a git checkout) the commit: 0.1.0+g8bcfe01b740b[.modified].
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+(\+g[0-9a-f]{12}(\.modified)?)?$/);
    }
  });
});

describe('pipe build --force T', () => {
  it('warns when T is not part of the build (or no target), rather than forcing nothing silently', () => {
    const root = workspace();
    writeFileSync(
      path.join(root, 'pipe.yaml'),
      `${PIPELINE}  other:
    step: ./steps/suffix.mjs
    inputs: { src: data/a.txt }
    params: { suffix: "?" }
    outputs: { out: "out/other.txt" }
`,
    );
    const notBuilt = pipe(root, ['build', 'each', '--force', 'other']);
    expect(notBuilt.code).toBe(0);
    expect(notBuilt.stderr).toContain(
      "warning: --force other: 'other' is not part of this build (each); nothing of it runs",
    );
    // A target that does not exist is a usage error, as in `pipe build nope`: a typo must not rebuild nothing.
    const unknown = pipe(root, ['build', 'each', '--force', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("pipe: --force nope: no target 'nope'");
    expect(pipe(root, ['build', 'each', '--force', 'eahc']).stderr).toContain(
      "pipe: --force eahc: no target 'eahc'; did you mean 'each'?",
    );
    expect(pipe(root, ['build', 'each', '--force', 'each']).stderr).not.toContain('warning: --force');
    // -j takes a whole number of tasks, 1 or more.
    for (const j of ['abc', '0', '-3']) {
      const bad = pipe(root, ['build', 'each', '-j', j]);
      expect(bad.code, j).toBe(2);
      expect(bad.stderr).toContain('a whole number of tasks, 1 or more');
    }
    // watch --debounce takes whole milliseconds ('2s' was read as 2, 'abc' as none).
    for (const d of ['2s', 'abc', '0']) {
      const bad = pipe(root, ['watch', 'each', '--debounce', d]);
      expect(bad.code, d).toBe(2);
      expect(bad.stderr).toContain('a whole number of milliseconds, 1 or more');
    }
    // --wait takes seconds, or nothing.
    const wait = pipe(root, ['build', 'each', '--wait=abc']);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain('a number of seconds');
    // `--force T` before the targets takes T as its value: the usage error says how to write it.
    const swallowed = pipe(root, ['build', '--force', 'each']);
    expect(swallowed.code).toBe(2);
    expect(swallowed.stderr).toContain(
      "hint: --force takes an optional target, so 'each' was read as its value; write the targets first: pipe build each --force",
    );
  });
});

describe('the pipeline file a command finds', () => {
  it('in the folder of an included pipe.yaml (no version:), the root that includes it', () => {
    const root = workspace();
    writeFileSync(
      path.join(root, 'pipe.yaml'),
      PIPELINE.replace('targets:', 'include: [sub/pipe.yaml]\ntargets:'),
    );
    mkdirSync(path.join(root, 'sub'));
    writeFileSync(
      path.join(root, 'sub/pipe.yaml'),
      'targets:\n  extra:\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    inputs: {src: ../data/a.txt}\n    outputs: {out: out/extra.txt}\n',
    );
    const r = pipe(path.join(root, 'sub'), ['build', 'extra', 'each']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'out/extra.txt'), 'utf8')).toBe('alpha');
    // A lone pipe.yaml without version: (no root above it) is still the file, and its load says what it lacks.
    const lone = temp.dir();
    writeFileSync(path.join(lone, 'pipe.yaml'), 'targets: {}\n');
    const bad = pipe(lone, ['plan', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipe.yaml:1:1: error: the root pipeline');
  });
});

describe('a step module node cannot import', () => {
  it('a .ts step: the error at its line, and a hint to compile it', () => {
    const root = workspace();
    writeFileSync(
      path.join(root, 'pipe.yaml'),
      'version: 1\ntargets:\n  a:\n    step: ./steps/x.ts\n    outputs: {o: out.txt}\n',
    );
    writeFileSync(
      path.join(root, 'steps/x.ts'),
      "export default { name: 'x', version: '1', run(): void {} };\n",
    );
    const r = pipe(root, ['build', 'a']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipe.yaml:4:11: error: step');
    expect(r.stderr).toContain(
      'hint: node runs JavaScript: compile the step to .js (tsc), or write it as an .mjs module',
    );
  });
});

describe('no pipeline file', () => {
  it("-C to a folder that does not exist says so (exit 2), and does not build its parent's pipeline", () => {
    const dir = workspace();
    const gone = path.join(dir, 'no-such-folder');
    for (const cmd of [['build', 'each'], ['log'], ['watch', 'each']]) {
      const r = spawnSync(process.execPath, [PIPE_BIN, '-C', gone, ...cmd], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`pipe: ${gone}: no such folder (-C, or the current folder)`);
    }
  });
});

describe('pipe build --help', () => {
  it("says -j's default, one task per CPU (make runs one, Snakemake asks for --cores)", () => {
    const help = spawnSync(process.execPath, [PIPE_BIN, 'build', '--help'], { encoding: 'utf8' });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      '-j, --jobs <n> run at most n tasks at once (default: one per CPU)',
    );
  });
});

// Found by helper-142, reading each command's help as a newcomer: compare's arguments were only "a directory, a
// workspace, or a build id" (last, a prefix and a build record file work too, as docs/ci-regression.md says), log
// --json said "print JSON" for JSON lines, cache --cache-dir gave no default, and why's argument no description.
describe('the help of compare, log, cache and why', () => {
  const helpOf = (...cmd: string[]) =>
    spawnSync(process.execPath, [PIPE_BIN, ...cmd, '--help'], { encoding: 'utf8' }).stdout.replace(
      /\s+/g,
      ' ',
    );

  it('names every form a compared set may take, and the defaults and formats', () => {
    expect(helpOf('compare')).toContain(
      'ref reference products: a directory (--out), a workspace, a build of this workspace (id, unique prefix or last) or a build record file (.pipe/builds/<id>.json)',
    );
    expect(helpOf('log')).toContain('--json print one JSON object per build, a line each');
    // The README's tour runs three builds and pipe log lists two: the up-to-date one is not recorded.
    expect(helpOf('log')).toContain(
      'list builds of this workspace (one that found everything up to date is not recorded)',
    );
    expect(helpOf('cache')).toContain(
      '--cache-dir <dir> cache directory (default: $PIPE_CACHE_DIR or .pipe/cache)',
    );
    expect(helpOf('why')).toContain('product-or-target a product file (or a --out copy of one), or a target');
    // --param's keys: a newcomer could not tell report.title=… or config.a.b=… from "override a parameter".
    for (const cmd of ['build', 'plan', 'watch', 'why', 'graph'])
      expect(helpOf(cmd)).toContain(
        "--param <key=value> override a parameter: TARGET.NAME=value (a target's params), or config.KEY.PATH=value (a config file's value); the value is read as YAML (repeatable)",
      );
  });
});

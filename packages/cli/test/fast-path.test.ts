/**
 * The no-op fast path: the real `pipe` binary builds a temp workspace and writes the snapshot; the fast
 * path (called here in-process, as bin/pipe.js calls it) answers only while nothing the build depended on
 * changed, and the full path then behaves exactly as before (a touched file reruns nothing).
 * File ages are set with utimes (the racily-clean rule refuses files modified in the last 100 ms).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFastArgv } from '../src/fast-path/argv.js';
import { tryFastPath } from '../src/fast-path/entry.js';
import { listJson, snapshotDir } from '../src/fast-path/snapshot.js';
import { age, PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.join',
  version: '1',
  run(ctx) {
    const text = ctx.inputs.src.map((f) => readFileSync(f, 'utf8')).join('');
    writeFileSync(ctx.outputs.out, text + ctx.params.suffix);
  },
};
`;

const PIPELINE = `version: 1
config: conf.yaml
targets:
  each:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    step: ./steps/join.mjs
    params: { suffix: "\${config.suffix}" }
    outputs: { out: "out/{item}.txt" }
  all:
    inputs: { src: { target: each } }
    step: ./steps/join.mjs
    params: { suffix: "!" }
    env: [FAST_PATH_TEST_VAR]
    outputs: { out: out/all.txt }
  report:
    inputs: { src: { target: all } }
    step: ./steps/report.mjs
    outputs: { summary: out/report/summary.json }
`;

const REPORT_STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.report',
  version: '1',
  run(ctx) {
    const text = readFileSync(ctx.inputs.src[0], 'utf8');
    writeFileSync(ctx.outputs.summary, JSON.stringify({ length: text.length, last_char: text.slice(-1) }));
  },
};
`;

const temp = tempWorkspaces('pipe-fast-');

function workspace(): string {
  return temp.workspace({
    'pipe.yaml': PIPELINE,
    'conf.yaml': 'suffix: "."\n',
    'steps/join.mjs': STEP,
    'steps/report.mjs': REPORT_STEP,
    'data/a.txt': 'alpha',
    'data/b.txt': 'beta',
    'data/c.txt': 'gamma',
  });
}

const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  CI: 'true',
  FAST_PATH_TEST_VAR: 'one',
  ...extra,
});

/** The full path (the binary with the fast path off). */
function full(root: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: root,
    env: { ...env(extra), PIPE_FAST_PATH: '0' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ran: r.stderr.match(/^ran +\S+/gm) ?? [] };
}

/** The binary as users run it (fast path on: a declined check hands its hint to the planner). */
function pipe(root: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: root,
    env: env(extra),
    encoding: 'utf8',
  });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    ran: (r.stderr.match(/^ran +\S+/gm) ?? []).sort(),
  };
}

/** The fast path in-process: its exit code (undefined: declined) and output. */
function fast(root: string, args: string[], extra: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const r = tryFastPath(['node', 'pipe', ...args], {
    env: env(extra),
    cwd: root,
    startedAt: Date.now(),
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code: r.code, why: r.check, stdout, stderr };
}

/**
 * Target `all` runs a variant of the join step: `before` runs first, and with `futureMs` its output is dated that far
 * ahead (racily clean, and never settled, when the build's snapshot stamps it however slow the machine).
 */
function variantForAll(root: string, options: { before?: string; futureMs?: number }): void {
  let text = STEP.replace("name: 'test.join'", "name: 'test.variant'").replace(
    "import { readFileSync, writeFileSync } from 'node:fs';",
    "import { readFileSync, utimesSync, writeFileSync } from 'node:fs';",
  );
  if (options.before) text = text.replace('run(ctx) {', `run(ctx) {\n    ${options.before}`);
  if (options.futureMs)
    text = text.replace(
      'writeFileSync(ctx.outputs.out, text + ctx.params.suffix);',
      `writeFileSync(ctx.outputs.out, text + ctx.params.suffix);\n    const t = (Date.now() + ${options.futureMs}) / 1000;\n    utimesSync(ctx.outputs.out, t, t);`,
    );
  writeFileSync(path.join(root, 'steps/variant.mjs'), text);
  writeFileSync(
    path.join(root, 'pipe.yaml'),
    PIPELINE.replace(
      'step: ./steps/join.mjs\n    params: { suffix: "!" }',
      'step: ./steps/variant.mjs\n    params: { suffix: "!" }',
    ),
  );
}

/** Build until settled: cold build, then (files aged) a build that adopts the new stamps and writes the snapshot. */
function settled(root: string): void {
  expect(full(root, ['build', 'all']).code).toBe(0);
  age(root);
  const adopt = full(root, ['build', 'all']);
  expect(adopt.code).toBe(0);
  expect(adopt.ran).toEqual([]);
  expect(existsSync(snapshotDir(root))).toBe(true);
}

describe('no-op fast path', () => {
  it('answers an unchanged build and plan exactly as the full path does', () => {
    const root = workspace();
    settled(root);
    const f = fast(root, ['build', 'all', '-j', '2']);
    expect(f.code).toBe(0);
    const slow = full(root, ['build', 'all', '-j', '2']);
    const line = (s: string) => s.replace(/\(\d+\.\d+ s\)/, '(T)');
    expect(line(f.stderr)).toBe(line(slow.stderr));
    // No build id: a build with nothing to do writes no record, and `pipe log` would not know the id.
    expect(f.stderr).toMatch(/^up to date: 4 tasks, nothing to do \(\d+\.\d\d s\)\n$/);
    expect(f.stdout).toBe(slow.stdout);
    const p = fast(root, ['plan', 'all']);
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(full(root, ['plan', 'all']).stdout);
    expect(p.stdout).toBe('plan: 0 to run, 0 to restore, 0 maybe, 4 up to date\n');
    expect(fast(root, ['build', '-n', 'all']).stdout).toBe(p.stdout);
    // The binary itself takes the fast path (same answer, nothing rebuilt).
    const bin = spawnSync(process.execPath, [PIPE_BIN, 'build', 'all'], {
      cwd: root,
      env: env(),
      encoding: 'utf8',
    });
    expect(bin.status).toBe(0);
    expect(line(bin.stderr)).toBe(line(f.stderr));
  });

  it('prints the summary of the requested targets as the full build does', () => {
    const root = workspace();
    expect(full(root, ['build', 'report']).code).toBe(0);
    age(root);
    expect(full(root, ['build', 'report']).ran).toEqual([]);
    const f = fast(root, ['build', 'report']);
    expect(f.code).toBe(0);
    expect(f.stdout).toBe('report: out/report/\n  length: 18\n  last char: !\n');
    expect(f.stdout).toBe(full(root, ['build', 'report']).stdout);
  });

  it("answers a command naming no target for the pipeline's default, with its summary; a new default misses", () => {
    const root = workspace();
    const file = path.join(root, 'pipe.yaml');
    writeFileSync(file, PIPELINE.replace('targets:\n', 'default: [report]\ntargets:\n'));
    expect(full(root, ['build']).code).toBe(0);
    age(root);
    expect(full(root, ['build']).ran).toEqual([]);
    const f = fast(root, ['build']);
    expect(f.code).toBe(0);
    expect(f.stderr).toMatch(/^up to date: 5 tasks, nothing to do/);
    expect(f.stdout).toBe('report: out/report/\n  length: 18\n  last char: !\n');
    expect(f.stdout).toBe(full(root, ['build']).stdout);
    expect(fast(root, ['plan']).stdout).toBe('plan: 0 to run, 0 to restore, 0 maybe, 5 up to date\n');
    // The default is read from pipe.yaml, whose stamp the snapshot holds: another default is not answered from it.
    writeFileSync(file, PIPELINE.replace('targets:\n', 'default: [all]\ntargets:\n'));
    expect(fast(root, ['build']).code).toBeUndefined();
  });

  it('replays what up-to-date tasks warned about when they ran, as the full path does; a plan does not', () => {
    const root = workspace();
    const warning = REPORT_STEP.replace(
      'const text =',
      "ctx.log.warn('the text is short');\n    const text =",
    );
    writeFileSync(path.join(root, 'steps/report.mjs'), warning);
    expect(full(root, ['build', 'report']).stderr).toContain('warning: report: the text is short\n');
    age(root);
    const replay = 'warning: report (up to date; its last run warned): the text is short\n';
    const adopt = full(root, ['build', 'report']);
    expect(adopt.ran).toEqual([]);
    expect(adopt.stderr).toContain(replay);
    const f = fast(root, ['build', 'report']);
    expect(f.code).toBe(0);
    expect(f.stderr).toContain(replay);
    const line = (s: string) => s.replace(/\(\d+\.\d+ s\)/, '(T)');
    expect(line(f.stderr)).toBe(line(full(root, ['build', 'report']).stderr));
    expect(fast(root, ['plan', 'report']).stderr).toBe('');
    // Run again without the warning: nothing is replayed any more.
    writeFileSync(path.join(root, 'steps/report.mjs'), REPORT_STEP);
    expect(full(root, ['build', 'report']).ran).toEqual(['ran       report']);
    age(root);
    expect(full(root, ['build', 'report']).stderr).not.toContain('warning');
    expect(fast(root, ['build', 'report']).stderr).not.toContain('warning');
  });

  it('declines a touched-but-identical input; the full build reruns nothing and re-arms it', () => {
    const root = workspace();
    settled(root);
    const t = Date.now() / 1000 - 30;
    utimesSync(path.join(root, 'data/b.txt'), t, t);
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'changed' });
    const rebuilt = full(root, ['build', 'all']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBe(0);
  });

  it('declines a content change; the full build runs exactly the dependants', () => {
    const root = workspace();
    settled(root);
    writeFileSync(path.join(root, 'data/b.txt'), 'BETA');
    expect(fast(root, ['build', 'all']).code).toBeUndefined();
    expect(fast(root, ['plan', 'all']).code).toBeUndefined();
    const t = Date.now() / 1000 - 30;
    utimesSync(path.join(root, 'data/b.txt'), t, t); // edited a while ago: not racily clean
    const rebuilt = full(root, ['build', 'all']);
    expect(rebuilt.ran.sort()).toEqual(['ran       all', 'ran       each[b]']);
    // That build's snapshot answers the next no-op at once: the outputs it wrote are re-hashed, not refused.
    expect(fast(root, ['build', 'all']).code).toBe(0);
    // Unless an input it read was racily clean then (here: dated in the future).
    const future = Date.now() / 1000 + 3600;
    writeFileSync(path.join(root, 'data/c.txt'), 'GAMMA');
    utimesSync(path.join(root, 'data/c.txt'), future, future);
    expect(full(root, ['build', 'all']).ran.sort()).toEqual(['ran       all', 'ran       each[c]']);
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'racy' });
  });

  it('declines a changed config file, step file, deleted output, or a new input file', () => {
    const root = workspace();
    settled(root);
    const edits: Array<[string, () => void]> = [
      ['config', () => writeFileSync(path.join(root, 'conf.yaml'), 'suffix: "?"\n')],
      ['step', () => writeFileSync(path.join(root, 'steps/join.mjs'), `${STEP}// edited\n`)],
      ['output', () => rmSync(path.join(root, 'out/a.txt'))],
      ['new input', () => writeFileSync(path.join(root, 'data/d.txt'), 'delta')],
    ];
    for (const [what, edit] of edits) {
      edit();
      expect(fast(root, ['build', 'all']).code, what).toBeUndefined();
      const rebuilt = full(root, ['build', 'all']);
      expect(rebuilt.code, what).toBe(0);
      age(root);
      expect(full(root, ['build', 'all']).ran, what).toEqual([]);
      expect(fast(root, ['build', 'all']).code, what).toBe(0);
    }
    // What each full build did: the config reran every `each`, the step everything, a deleted output was
    // restored from the cache, the new input added one task.
    expect(readFileSync(path.join(root, 'out/all.txt'), 'utf8')).toBe('alpha?beta?gamma?delta?!');
  });

  it('declines other options, parameters, kernels, --force and a changed environment', () => {
    const root = workspace();
    settled(root);
    expect(fast(root, ['build', 'all', '--param', 'x=1']).why).toMatchObject({ why: 'absent' });
    expect(fast(root, ['build', 'all', '--kernels', 'js']).why).toMatchObject({ why: 'absent' });
    expect(fast(root, ['build', 'all', '--config', 'conf.yaml']).why).toMatchObject({ why: 'absent' });
    expect(fast(root, ['build', 'each']).why).toMatchObject({ why: 'absent' });
    for (const extra of [
      ['--force'],
      ['--force', 'all'],
      ['--json'],
      ['--wait'],
      ['--out', 'x'],
      ['--executor', 'process'],
    ])
      expect(fast(root, ['build', 'all', ...extra]).why, extra.join(' ')).toBe('argv');
    expect(fast(root, ['build', 'all'], { FAST_PATH_TEST_VAR: 'two' }).why).toMatchObject({ why: 'env' });
    expect(fast(root, ['build', 'all'], { PIPE_KERNELS: 'js' }).why).toMatchObject({ why: 'env' });
    expect(fast(root, ['build', 'all']).code).toBe(0);
    // The declared variable enters the key of `all`: the full build reruns it.
    expect(full(root, ['build', 'all'], { FAST_PATH_TEST_VAR: 'two' }).ran).toEqual(['ran       all']);
  });

  it('never writes the values of environment variables (tokens) under .pipe, yet declines when they change', () => {
    const root = workspace();
    const secrets = { PIPE_REMOTE_CACHE_TOKEN: 'TOKSECRET987', FAST_PATH_TEST_VAR: 'VARSECRET123' };
    expect(full(root, ['build', 'all'], secrets).code).toBe(0);
    age(root);
    expect(full(root, ['build', 'all'], secrets).code).toBe(0);
    expect(fast(root, ['build', 'all'], secrets).code).toBe(0);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
      );
    const written = files(path.join(root, '.pipe'));
    expect(written.some((f) => f.endsWith('.snap'))).toBe(true);
    expect(written.some((f) => f.endsWith('pipeline.cache'))).toBe(true);
    for (const f of written) {
      const bytes = readFileSync(f, 'latin1');
      expect(bytes, f).not.toContain('TOKSECRET987');
      expect(bytes, f).not.toContain('VARSECRET123');
    }
    expect(fast(root, ['build', 'all'], { ...secrets, PIPE_REMOTE_CACHE_TOKEN: 'other' }).why).toMatchObject({
      why: 'env',
    });
    expect(fast(root, ['build', 'all'], { ...secrets, FAST_PATH_TEST_VAR: 'other' }).why).toMatchObject({
      why: 'env',
    });
  });

  it('writes no snapshot over a racily clean file, and declines a corrupt one', () => {
    const root = workspace();
    expect(full(root, ['build', 'all']).code).toBe(0);
    age(root);
    // An input dated in the future is always racily clean: its hash is never memoised, no snapshot is made.
    const future = Date.now() / 1000 + 3600;
    utimesSync(path.join(root, 'data/a.txt'), future, future);
    expect(full(root, ['build', 'all']).ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBeUndefined();
    age(root);
    expect(full(root, ['build', 'all']).ran).toEqual([]);
    const [snap] = readdirSync(snapshotDir(root));
    const file = path.join(snapshotDir(root), snap!);
    expect(statSync(file).size).toBeGreaterThan(0);
    writeFileSync(file, '{"format":"pipe-noop-snapshot"');
    expect(fast(root, ['build', 'all']).why).toMatchObject({ why: 'corrupt' });
    expect(full(root, ['build', 'all']).ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBe(0);
  });

  it('never vouches for a workspace-wide file edited while the build ran, even with its old mtime and size', () => {
    const root = workspace();
    const marker = path.join(root, 'edit-conf');
    // `all` runs after every `each`, and rewrites the config as `cp -p` would (same size, mtime put back): only the
    // ctime tells. The build took the workspace-wide stamps while its first task ran, before this edit.
    variantForAll(root, {
      before: `const fs = process.getBuiltinModule('node:fs');
    if (fs.existsSync(${JSON.stringify(marker)})) {
      fs.rmSync(${JSON.stringify(marker)});
      const conf = ${JSON.stringify(path.join(root, 'conf.yaml'))};
      const st = fs.statSync(conf);
      fs.writeFileSync(conf, 'suffix: "?"\\n');
      fs.utimesSync(conf, st.atime, st.mtime);
    }`,
    });
    settled(root);
    writeFileSync(path.join(root, 'data/b.txt'), 'BETA');
    age(root);
    writeFileSync(marker, '');
    expect(full(root, ['build', 'all']).ran.sort()).toEqual(['ran       all', 'ran       each[b]']);
    expect(existsSync(marker)).toBe(false);
    expect(fast(root, ['build', 'all']).code).toBeUndefined();
    expect(full(root, ['build', 'all']).ran).toHaveLength(4);
    expect(readFileSync(path.join(root, 'out/all.txt'), 'utf8')).toBe('alpha?BETA?gamma?!');
  });

  it('after changes, builds planned from the snapshot hint run exactly what changed', () => {
    const root = workspace();
    settled(root);
    writeFileSync(path.join(root, 'data/b.txt'), 'BETA');
    const cleanNow = () => {
      const why = fast(root, ['build', 'all']).why;
      const hint = typeof why === 'object' && !why.ok ? why.hint?.settle() : undefined;
      return hint ? [...hint.clean].sort() : undefined;
    };
    // Vouched for: every task whose files are unchanged (the planner still waits for changed upstream).
    expect(cleanNow()).toEqual(['all', 'each[a]', 'each[c]']);
    expect(pipe(root, ['plan', 'all']).stdout).toMatch(/^run +each\[b\]\n(.*\n)*maybe +all\n/);
    expect(pipe(root, ['build', 'all']).ran).toEqual(['ran       all', 'ran       each[b]']);
    // The snapshot written after that build vouches for all but a, which changed (the fresh outputs of b and
    // all are racily clean: their bytes are checked against their records instead).
    writeFileSync(path.join(root, 'data/a.txt'), 'ALPHA');
    expect(cleanNow()).toEqual(['all', 'each[b]', 'each[c]']);
    expect(pipe(root, ['build', 'all']).ran).toEqual(['ran       all', 'ran       each[a]']);
    const t = Date.now() / 1000 - 30;
    utimesSync(path.join(root, 'data/c.txt'), t, t);
    utimesSync(path.join(root, 'out/b.txt'), t, t);
    // A plan records nothing: each[b], up to date only by adopting its touched output's new stamp, keeps
    // its old record and is not vouched for; each[c] (touched input, same hash, same record) is.
    expect(pipe(root, ['plan', 'all']).stdout).toBe('plan: 0 to run, 0 to restore, 0 maybe, 4 up to date\n');
    expect(cleanNow()).toEqual(['all', 'each[a]', 'each[c]']);
    expect(pipe(root, ['build', 'all']).ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBe(0);
    writeFileSync(path.join(root, 'data/c.txt'), 'GAMMA');
    rmSync(path.join(root, 'out/a.txt'));
    const last = pipe(root, ['build', 'all']);
    expect(last.ran).toEqual(['ran       all', 'ran       each[c]']);
    expect(last.stderr).toMatch(/restored +each\[a\]/);
    expect(readFileSync(path.join(root, 'out/all.txt'), 'utf8')).toBe('ALPHA.BETA.GAMMA.!');
    // A workspace-wide change (the config) gives no hint: everything its key reads reruns.
    writeFileSync(path.join(root, 'conf.yaml'), 'suffix: "?"\n');
    expect(pipe(root, ['build', 'all']).ran).toHaveLength(4);
  });

  it('a build that runs tasks writes the pipeline cache of its command (while they run), a failed one too', () => {
    const root = workspace();
    age(root);
    const cached = () => {
      // The entry is the first line (its graphs' tasks follow, one a line).
      const entry = JSON.parse(
        readFileSync(path.join(root, '.pipe/pipeline.cache'), 'utf8').split('\n')[0]!,
      ) as {
        pipeline: { targets: Array<[string, { params: Record<string, unknown> }]> };
      };
      return new Map(entry.pipeline.targets).get('each')?.params;
    };
    const built = full(root, ['build', 'all', '--param', 'config.suffix=X']);
    expect(built.code).toBe(0);
    expect(built.ran).toHaveLength(4);
    expect(cached()).toEqual({ suffix: 'X' });
    writeFileSync(
      path.join(root, 'steps/join.mjs'),
      STEP.replace('run(ctx) {', "run(ctx) {\n    throw new Error('no');"),
    );
    age(root);
    const failed = full(root, ['build', 'all', '--param', 'config.suffix=Y']);
    expect(failed.code).not.toBe(0);
    expect(cached()).toEqual({ suffix: 'Y' });
  });

  it('answers right after a cold build of a dynamic fan-out (its items known only once their source ran)', () => {
    const root = workspace();
    writeFileSync(
      path.join(root, 'steps/list.mjs'),
      `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.list',
  version: '1',
  run(ctx) {
    const names = readFileSync(ctx.inputs.src[0], 'utf8').trim().split(',');
    writeFileSync(ctx.outputs.out, names.join('\\n'));
    return { items: names.map((id) => ({ id, files: [], data: id })) };
  },
};
`,
    );
    mkdirSync(path.join(root, 'lists'));
    writeFileSync(path.join(root, 'lists/names.txt'), 'x,y');
    writeFileSync(
      path.join(root, 'pipe.yaml'),
      `${PIPELINE}  list:
    inputs: { src: lists/names.txt }
    step: ./steps/list.mjs
    outputs: { out: out/list.txt }
  per_name:
    foreach: { items: list }
    inputs: { src: data/a.txt }
    step: ./steps/join.mjs
    params: { suffix: "{item}" }
    outputs: { out: "out/per/{item}.txt" }
`,
    );
    age(root);
    // The cold build plans per_name as pending (no items yet): it still records the snapshot of the settled graph.
    const cold = full(root, ['build', 'per_name']);
    expect(cold.code).toBe(0);
    expect(cold.ran.sort()).toEqual(['ran       list', 'ran       per_name[x]', 'ran       per_name[y]']);
    const f = fast(root, ['build', 'per_name']);
    expect(f.code).toBe(0);
    expect(f.stderr).toMatch(/^up to date: 3 tasks, nothing to do/);
    // The item source's input is stamped: a new item declines, and the full build runs exactly the new item.
    writeFileSync(path.join(root, 'lists/names.txt'), 'x,y,z');
    const t = Date.now() / 1000 - 30;
    utimesSync(path.join(root, 'lists/names.txt'), t, t);
    expect(fast(root, ['build', 'per_name']).code).toBeUndefined();
    expect(pipe(root, ['build', 'per_name']).ran).toEqual(['ran       list', 'ran       per_name[z]']);
    expect(fast(root, ['build', 'per_name']).code).toBe(0);
  });

  it('re-hashes a racily clean output instead of declining, and declines once its bytes changed', () => {
    const root = workspace();
    settled(root);
    // An output dated in the future stays racily clean; its task record takes the new stamp (same bytes).
    const future = Date.now() / 1000 + 3600;
    const out = path.join(root, 'out/a.txt');
    utimesSync(out, future, future);
    expect(full(root, ['build', 'all']).ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBe(0);
    // Same size, same mtime, same inode, other bytes: the ctime tells (no tool can set it back), before the hash.
    writeFileSync(out, readFileSync(out, 'utf8').toUpperCase());
    utimesSync(out, future, future);
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'changed' });
  });

  it('hashes a large racily clean output in chunks: a byte changed past the first chunk declines', () => {
    const root = workspace();
    // 9 MiB: three reads of the check's 4 MiB chunk, the last one partial.
    writeFileSync(path.join(root, 'data/a.txt'), Buffer.alloc(9 << 20, 'x'));
    settled(root);
    const future = Date.now() / 1000 + 3600;
    const out = path.join(root, 'out/a.txt');
    utimesSync(out, future, future);
    expect(full(root, ['build', 'all']).ran).toEqual([]);
    expect(fast(root, ['build', 'all']).code).toBe(0);
    const bytes = readFileSync(out);
    bytes[(8 << 20) + 12345] = 0x79;
    writeFileSync(out, bytes);
    utimesSync(out, future, future);
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'changed' });
  });

  it('re-dates a snapshot once its racily clean outputs are verified and old: later no-ops trust their stamps', async () => {
    const root = workspace();
    // The output of `all` is dated 1 s ahead: racily clean and kept with its hash in the build's snapshot.
    variantForAll(root, { futureMs: 1000 });
    age(root);
    // A build that wrote outputs records its snapshot: those outputs are racily clean in it (hashed on each check).
    expect(full(root, ['build', 'all']).code).toBe(0);
    const header = () =>
      JSON.parse(
        readFileSync(path.join(snapshotDir(root), readdirSync(snapshotDir(root))[0]!), 'utf8').split(
          '\n',
        )[0]!,
      );
    const recorded = header().checkedAt;
    await new Promise((r) => setTimeout(r, 1250));
    expect(fast(root, ['build', 'all']).code).toBe(0);
    const redated = header().checkedAt;
    expect(redated).toBeGreaterThan(recorded + 1200);
    // Nothing racily clean is left to verify: the next answer does not touch the snapshot.
    expect(fast(root, ['build', 'all']).code).toBe(0);
    expect(header().checkedAt).toBe(redated);
    // And a change is still seen.
    writeFileSync(path.join(root, 'out/a.txt'), 'edited');
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'changed' });
  });

  it('settles the outputs a build wrote before the racy window: only its last outputs are hashed by the next check', () => {
    const root = workspace();
    // `all` takes 400 ms before it writes: the outputs of `each` are older than the racy window when the build's
    // snapshot stamps them; the output of `all` is dated 1 s ahead, racily clean then however slow the machine.
    variantForAll(root, {
      before: 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);',
      futureMs: 1000,
    });
    age(root);
    const cold = full(root, ['build', 'all']);
    expect(cold.code).toBe(0);
    expect(cold.ran).toHaveLength(4);
    const text = readFileSync(path.join(snapshotDir(root), readdirSync(snapshotDir(root))[0]!), 'utf8');
    const body = text.slice(text.indexOf('\n') + 1); // the header's line off: the stamps' list comes first
    const stamps = JSON.parse(body.slice(0, body.indexOf('\n]\n') + 2)) as string[][];
    const kept = (p: string) => stamps.find((s) => s[0] === p)?.[6];
    for (const item of ['a', 'b', 'c']) expect(kept(`out/${item}.txt`)).toBe('settled');
    expect(kept('out/all.txt')).toMatch(/^[0-9a-f]{64}$/);
    expect(fast(root, ['build', 'all']).code).toBe(0);
    // A settled stamp still sees an edit that keeps size and mtime (its ctime moves, which no tool can set back).
    const out = path.join(root, 'out/b.txt');
    const before = statSync(out);
    writeFileSync(out, readFileSync(out, 'utf8').toUpperCase());
    utimesSync(out, before.atime, before.mtime);
    expect(fast(root, ['build', 'all']).why).toMatchObject({ ok: false, why: 'changed', path: out });
  });

  it('parses only the command lines it can answer, as commander would', () => {
    expect(parseFastArgv(['n', 'p', '-C', 'dir', 'build', 'a', '-j2', '--param=k=v', 'b'])).toEqual({
      command: 'build',
      targets: ['a', 'b'],
      cwd: 'dir',
      params: ['k=v'],
      dryRun: false,
    });
    expect(parseFastArgv(['n', 'p', 'plan', 'a', '--cache-dir', 'c'])).toMatchObject({ cacheDir: 'c' });
    expect(parseFastArgv(['n', 'p', 'plan', 'a', '-j', '2'])).toBeUndefined();
    // No target: the pipeline's default, which the snapshot of such a command recorded.
    expect(parseFastArgv(['n', 'p', 'build'])).toMatchObject({ command: 'build', targets: [] });
    expect(parseFastArgv(['n', 'p', 'build', 'a', '--param', 'novalue'])).toBeUndefined();
    expect(parseFastArgv(['n', 'p', 'log'])).toBeUndefined();
    expect(parseFastArgv(['n', 'p', 'build', 'a', '--help'])).toBeUndefined();
    // A malformed -j is the full path's to refuse (exit 2), not a no-op's "up to date".
    for (const j of [['-j', '0'], ['-j', 'abc'], ['--jobs=-3'], ['-j0'], ['--jobs', '1.5']])
      expect(parseFastArgv(['n', 'p', 'build', 'a', ...j])).toBeUndefined();
    expect(parseFastArgv(['n', 'p', 'build', 'a', '--jobs=12'])).toMatchObject({ targets: ['a'] });
  });
});

/** The elements' JSON of a list listJson wrote (one a line). */
function listLines(text: string): string[] {
  const body = text.slice(2, -2); // '[\n' … '\n]'
  return body === '' ? [] : body.split(',\n');
}

describe('snapshot lists (listJson)', () => {
  it('writes one element a line, read back whole by JSON.parse; unchanged lines are reused as they were', () => {
    const items: unknown[] = [
      ['in/a.txt', 'f', 3, '1000', 7, '1000'],
      ['out/"q"\n.txt', 'f', -1, '', 0, ''],
      ['x', 1, 2],
    ];
    const text = listJson(items);
    expect(JSON.parse(text)).toEqual(items);
    expect(text.split('\n')).toHaveLength(items.length + 2);
    const lines = listLines(text);
    expect(lines.map((l) => JSON.parse(l))).toEqual(items);
    // Item 1 changed (marked): written anew; item 0 changed unmarked: its old line is kept (the caller marks what changed).
    const next: unknown[] = [
      ['in/a.txt', 'f', 4, '2000', 7, '2000'],
      ['out/b.txt', 'f', 1, '5', 8, '5'],
      ['x', 1, 2],
    ];
    const patched = listJson(next, text, Uint8Array.of(0, 1, 0));
    expect(JSON.parse(patched)).toEqual([items[0], next[1], items[2]]);
    // As listJson writes it whole: the next patch reads it as any other.
    expect(patched).toBe(listJson([items[0], next[1], items[2]]));
    // A list of another length is not reused.
    expect(JSON.parse(listJson(next, listJson(items.slice(1)), Uint8Array.of(0, 0, 0)))).toEqual(next);
    expect(JSON.parse(listJson(next.slice(0, 2), text, Uint8Array.of(0, 0)))).toEqual(next.slice(0, 2));
    expect(JSON.parse(listJson(next, 'not a list', Uint8Array.of(0, 0, 0)))).toEqual(next);
    expect(JSON.parse(listJson([]))).toEqual([]);
    expect(listLines(listJson([]))).toEqual([]);
  });

  it('patches the first, the last and runs of elements, and keeps a list without changes as it was', () => {
    const items = Array.from({ length: 50 }, (_, i) => [`in/f${i}.txt`, 'f', i, `${i}000`, i, `${i}000`]);
    const text = listJson(items);
    const next = items.map((it, i) => (i % 7 === 0 || i === 49 ? [it[0], 'f', -1, '', 0, ''] : it));
    const changed = new Uint8Array(items.length);
    for (let i = 0; i < items.length; i++) if (i % 7 === 0 || i === 49) changed[i] = 1;
    expect(listJson(next, text, changed)).toBe(listJson(next));
    expect(listJson(items, text, new Uint8Array(items.length))).toBe(text);
    expect(listJson(items, text)).toBe(text);
    const one = [['only', 'f', 1, '1', 1, '1']];
    expect(listJson([['new', 'd', 0, '2', 2, '2']], listJson(one), Uint8Array.of(1))).toBe(
      listJson([['new', 'd', 0, '2', 2, '2']]),
    );
  });
});

/**
 * A `--param` change of a config value answered from the pipeline cache (builds/param-overrides.ts): the real
 * `pipe` binary applies the new value without reloading the pipeline (only the step whose params it reaches
 * validates them again), builds what the loader's pipeline builds, and leaves every refusal to the loader, whose
 * diagnostics (with file:line:col where the value has a place) read as they do without the cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { age, PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

// Each validation is logged (target label and values), so a test sees which targets a build re-validated.
const STEP = `import { appendFileSync, writeFileSync } from 'node:fs';
appendFileSync(new URL('../imported.log', import.meta.url), 'imported\\n');
export default {
  name: 'test.range',
  version: '1',
  // A kernel (never called): step identities are then resolved per build (the backend is chosen at run time).
  kernels: ['sampleNearest'],
  validateParams(p) {
    appendFileSync(new URL('../validated.log', import.meta.url), p.label + ' ' + p.lo + '..' + p.hi + '\\n');
    if (typeof p.hi !== 'number') return { ok: false, issues: [{ path: ['hi'], message: 'hi must be a number' }] };
    if (!(p.lo < p.hi)) return { ok: false, issues: [{ path: ['lo'], message: 'lo must be below hi' }] };
    return { ok: true, value: { ...p, width: p.hi - p.lo } };
  },
  run(ctx) {
    writeFileSync(ctx.outputs.out, ctx.params.label + ' ' + ctx.params.lo + '..' + ctx.params.hi + ' ' + ctx.params.width);
  },
};
`;

const PIPELINE = `version: 1
config: conf.yaml
targets:
  first:
    step: ./steps/range.mjs
    params: { label: first, lo: "\${config.range.lo}", hi: "\${config.range.hi}" }
    outputs: { out: out/first.txt }
  second:
    step: ./steps/range.mjs
    params: { label: second, lo: 0, hi: "\${config.top}" }
    outputs: { out: out/second.txt }
`;

const CONF = `range: {lo: 1, hi: 5}
top: 9
`;

const temp = tempWorkspaces('pipe-param-');

function workspace(): string {
  const root = temp.workspace({ 'pipe.yaml': PIPELINE, 'conf.yaml': CONF, 'steps/range.mjs': STEP });
  age(root);
  return root;
}

function pipe(root: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: root,
    env: { ...process.env, CI: 'true', ...extra },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The validations logged since the last call. */
function validated(root: string): string[] {
  const file = path.join(root, 'validated.log');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {}
  rmSync(file, { force: true });
  return text.split('\n').filter(Boolean).sort();
}

const BUILD = ['build', 'first', 'second'];
const out = (root: string, name: string) => readFileSync(path.join(root, 'out', `${name}.txt`), 'utf8');

describe('--param change from the pipeline cache', () => {
  it('re-validates only the params a new value reaches, and builds what a full load builds', () => {
    const root = workspace();
    expect(pipe(root, [...BUILD]).code).toBe(0);
    expect(validated(root)).toEqual(['first 1..5', 'second 0..9']);

    const changed = pipe(root, [...BUILD, '--param', 'config.range.hi=7']);
    expect(changed.code).toBe(0);
    expect(validated(root)).toEqual(['first 1..7']);
    expect(out(root, 'first')).toBe('first 1..7 6');
    expect(out(root, 'second')).toBe('second 0..9 9');

    // From an entry with an override: another key, the first one dropped.
    expect(pipe(root, [...BUILD, '--param', 'config.top=4']).code).toBe(0);
    expect(validated(root)).toEqual(['first 1..5', 'second 0..4']);
    expect(out(root, 'first')).toBe('first 1..5 4');
    expect(out(root, 'second')).toBe('second 0..4 4');

    // The same build with the pipeline cache gone (the loader's pipeline; not the no-op snapshot) runs nothing:
    // same params, same keys.
    rmSync(path.join(root, '.pipe', 'pipeline.cache'));
    const reloaded = pipe(root, [...BUILD, '--param', 'config.top=4'], { PIPE_FAST_PATH: '0' });
    expect(reloaded.code).toBe(0);
    expect(validated(root)).toEqual(['first 1..5', 'second 0..4']);
    expect(reloaded.stderr).not.toMatch(/^ran /m);
  });

  it('leaves a bad value to the loader: the same diagnostics, at file:line:col where the value has a place', () => {
    const root = workspace();
    expect(pipe(root, [...BUILD]).code).toBe(0);
    validated(root);
    const expectations: Array<[string, RegExp]> = [
      // The issue is about lo, whose value is in conf.yaml: it is reported there.
      ['config.range.hi=0', /conf\.yaml:1:\d+.*lo must be below hi/s],
      // The issue is about the overridden value itself: reported as the --param's.
      ['config.range.hi=abc', /hi must be a number \(value from --param config\.range\.hi=abc\)/],
    ];
    for (const [param, expected] of expectations) {
      const cached = pipe(root, [...BUILD, '--param', param]);
      expect(cached.code).toBe(2);
      expect(cached.stderr).toMatch(expected);
      rmSync(path.join(root, '.pipe', 'pipeline.cache'));
      const loaded = pipe(root, [...BUILD, '--param', param]);
      expect(loaded.code).toBe(2);
      expect(loaded.stderr).toBe(cached.stderr);
      // Rebuild the cache entry the next value starts from (the no-op fast path would not write it).
      expect(pipe(root, [...BUILD], { PIPE_FAST_PATH: '0' }).code).toBe(0);
    }
  });

  it('keys tasks from the step facts the pipeline cache keeps, without importing the steps; an edited step is imported', () => {
    const root = workspace();
    const imported = () => {
      const file = path.join(root, 'imported.log');
      let n = 0;
      try {
        n = readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
      } catch {}
      rmSync(file, { force: true });
      return n;
    };
    expect(pipe(root, [...BUILD]).code).toBe(0);
    imported();
    // A plan (no worker thread) of the cached pipeline, the snapshot off: everything up to date, no step imported.
    const plan = pipe(root, ['plan', 'first', 'second'], { PIPE_FAST_PATH: '0' });
    expect(plan.stdout).toMatch(/0 to run, 0 to restore, 0 maybe, 2 up to date/);
    expect(imported()).toBe(0);
    // The same from a --param change (its step is imported to validate the new value, once).
    const changed = pipe(root, ['plan', 'first', 'second', '--param', 'config.top=3'], {
      PIPE_FAST_PATH: '0',
    });
    expect(changed.stdout).toMatch(/1 to run/);
    expect(imported()).toBe(1);
    // An edited step module is another cache entry: loaded (and imported) again, and its tasks rerun.
    writeFileSync(path.join(root, 'steps', 'range.mjs'), STEP.replace("version: '1'", "version: '2'"));
    age(root);
    const edited = pipe(root, ['plan', 'first', 'second'], { PIPE_FAST_PATH: '0' });
    expect(edited.stdout).toMatch(/2 to run/);
    expect(imported()).toBe(1);
  });

  it('never vouches for a config edited while the change loaded, even with its old mtime and size', () => {
    const root = workspace();
    const marker = path.join(root, 'edit-conf');
    // The step's validation (run while the --param change loads, after the pipeline cache checked its files)
    // rewrites the config as `cp -p` would: same size, mtime put back; only the ctime tells.
    const editing = STEP.replace(
      'validateParams(p) {',
      `validateParams(p) {
    const fs = process.getBuiltinModule('node:fs');
    if (fs.existsSync(${JSON.stringify(marker)})) {
      fs.rmSync(${JSON.stringify(marker)});
      const conf = ${JSON.stringify(path.join(root, 'conf.yaml'))};
      const st = fs.statSync(conf);
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('lo: 1', 'lo: 2'));
      fs.utimesSync(conf, st.atime, st.mtime);
    }`,
    );
    writeFileSync(path.join(root, 'steps', 'range.mjs'), editing);
    age(root);
    expect(pipe(root, [...BUILD]).code).toBe(0);
    // Files dated out of the racy window, and a pipeline cache entry of them: the change below loads from it.
    age(root);
    expect(pipe(root, [...BUILD]).code).toBe(0);
    writeFileSync(marker, '');
    const changed = pipe(root, [...BUILD, '--param', 'config.top=10']);
    expect(changed.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    // The same command again: the config it loads now says lo: 2, so `first` runs.
    const next = pipe(root, [...BUILD, '--param', 'config.top=10']);
    expect(next.stderr).toMatch(/^ran +first/m);
    expect(out(root, 'first')).toBe('first 2..5 3');
  });

  it('reloads after an edit of the pipeline or config file, whatever --param says', () => {
    const root = workspace();
    expect(pipe(root, [...BUILD]).code).toBe(0);
    expect(pipe(root, [...BUILD, '--param', 'config.range.hi=7']).code).toBe(0);
    validated(root);

    writeFileSync(path.join(root, 'pipe.yaml'), PIPELINE.replace('lo: 0,', 'lo: 2,'));
    age(root);
    expect(pipe(root, [...BUILD, '--param', 'config.range.hi=8']).code).toBe(0);
    expect(validated(root)).toEqual(['first 1..8', 'second 2..9']);
    expect(out(root, 'second')).toBe('second 2..9 7');

    writeFileSync(path.join(root, 'conf.yaml'), CONF.replace('lo: 1', 'lo: 3'));
    age(root);
    expect(pipe(root, [...BUILD, '--param', 'config.range.hi=6']).code).toBe(0);
    expect(validated(root)).toEqual(['first 3..6', 'second 2..9']);
    expect(out(root, 'first')).toBe('first 3..6 3');
  });
});

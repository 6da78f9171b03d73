/**
 * `pipe compare` end to end: the Crab products against themselves (identical), against a copy with
 * one map pixel changed (different: exit 1, max difference, a difference PNG, JSON and Markdown
 * reports), with a tolerance that admits the change (exit 0), a broken tolerance file (exit 2); and
 * two builds of one workspace by id, their products fetched from the cache.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { CRAB, crabWorkspace, namespace, servers, tmpDir } from './remote-cache-rig.js';
import { PIPE_COMMAND, Workspace } from './rig.js';

const SQRT_TS = 'sqrt_ts.fits.gz';

/** Add `delta` to one finite pixel near the middle of the primary image of a gzipped FITS file. */
function perturbPixel(file: string, delta: number): void {
  const bytes = gunzipSync(readFileSync(file));
  const cards = new Map<string, string>();
  let end = 0;
  for (let at = 0; at < bytes.length; at += 80) {
    const card = bytes.subarray(at, at + 80).toString('latin1');
    if (card.startsWith('END ')) {
      end = at + 80;
      break;
    }
    cards.set(card.slice(0, 8).trim(), card.slice(10, 30).trim());
  }
  const dataStart = Math.ceil(end / 2880) * 2880;
  const bitpix = Number(cards.get('BITPIX'));
  const width = Math.abs(bitpix) / 8;
  const n = Number(cards.get('NAXIS1')) * Number(cards.get('NAXIS2'));
  expect([-32, -64]).toContain(bitpix);
  for (let i = Math.floor(n / 2); i < n; i++) {
    const at = dataStart + i * width;
    const v = bitpix === -32 ? bytes.readFloatBE(at) : bytes.readDoubleBE(at);
    if (!Number.isFinite(v)) continue;
    if (bitpix === -32) bytes.writeFloatBE(v + delta, at);
    else bytes.writeDoubleBE(v + delta, at);
    writeFileSync(file, gzipSync(bytes));
    return;
  }
  throw new Error(`no finite pixel in ${file}`);
}

describe('pipe compare', () => {
  let ws: Workspace;
  let ref: string;
  let productCount: number;

  beforeAll(async () => {
    ws = crabWorkspace();
    const built = await ws.run(['build', ...CRAB, '--out', 'ref'], { PIPE_REMOTE_CACHE: '' });
    expect(built.code, built.stderr).toBe(0);
    ref = ws.path('ref');
    // Less the list of what --out copied (.pipe-out.json), which is no product.
    productCount = readdirSync(ref).filter((f) => f !== '.pipe-out.json').length;
    expect(readdirSync(ref)).toContain('.pipe-out.json');
    expect(productCount).toBeGreaterThan(10);
  }, 300_000);

  it('identical product sets: every product identical, exit 0', async () => {
    const same = tmpDir('pipe-compare-same-');
    cpSync(ref, same, { recursive: true });
    const run = await ws.run(['compare', ref, same, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.regression).toBe(false);
    expect(report.summary).toMatchObject({ total: productCount, identical: productCount });
  });

  it('refuses to write a report or diffs into a folder it compares (the report would replace a product)', async () => {
    const same = tmpDir('pipe-compare-same-');
    cpSync(ref, same, { recursive: true });
    const summary = readFileSync(path.join(ref, 'summary.json'), 'utf8');
    const md = await ws.run(['compare', ref, same, '--markdown', path.join(ref, 'summary.json')]);
    expect(md.code).toBe(2);
    expect(md.stderr).toContain("inside ref's folder");
    expect(readFileSync(path.join(ref, 'summary.json'), 'utf8')).toBe(summary);
    const diffs = await ws.run(['compare', ref, same, '--diff-dir', path.join(same, 'diffs')]);
    expect(diffs.code).toBe(2);
    expect(diffs.stderr).toContain("inside new's folder");
  });

  it('a build (by id or record) against an --out folder pairs as --out lays the products out; a failed build is no reference', async () => {
    // `ref` was written by `build excess_map --out ref` in this workspace: the workspace's last build is that one.
    for (const side of [
      'last',
      ws.path(`.pipe/builds/${readdirSync(ws.path('.pipe/builds')).sort().at(-1)}`),
    ]) {
      const run = await ws.run(['compare', side, ref, '--json'], { PIPE_REMOTE_CACHE: '' });
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.summary).toMatchObject({ total: productCount, identical: productCount });
    }
    // --target excess_map covers what a build of it delivers: the stacked maps it is built with too.
    const only = await ws.run(['compare', ref, ws.root, '--target', 'excess_map', '--json'], {
      PIPE_REMOTE_CACHE: '',
    });
    expect(only.code, only.stdout + only.stderr).toBe(0);
    expect(JSON.parse(only.stdout).summary).toMatchObject({ total: productCount, identical: productCount });
    // A --target that names nothing built (a typo), or a reference with no product, would compare nothing and pass.
    const typo = await ws.run(['compare', ref, ws.root, '--target', 'excess_mapp'], {
      PIPE_REMOTE_CACHE: '',
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--target excess_mapp: no product of that target on either side');
    const emptyRef = tmpDir('pipe-compare-empty-');
    const empty = await ws.run(['compare', emptyRef, ws.root], { PIPE_REMOTE_CACHE: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('has no products to compare with');
    // A product deleted from the workspace since its build: missing on that side, not an unreadable product.
    const png = readdirSync(ref).find((f) => f.endsWith('.png'))!;
    ws.remove(`products/excess_map/${png}`);
    const gone = await ws.run(['compare', ref, ws.root, '--json'], { PIPE_REMOTE_CACHE: '' });
    expect(gone.code, gone.stderr).toBe(1);
    expect(JSON.parse(gone.stdout).products.find((p: { path: string }) => p.path === png)).toMatchObject({
      status: 'missing-in-new',
    });
    expect((await ws.run(['build', ...CRAB], { PIPE_REMOTE_CACHE: '' })).code).toBe(0);
    const failing = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  bad:\n    command: [sh, -c, "exit 3"]\n    outputs: {o: out/bad.txt}\n',
    });
    expect((await failing.run(['build', 'bad'])).code).toBe(1);
    const vacuous = await failing.run(['compare', 'last', ref]);
    expect(vacuous.code).toBe(2);
    expect(vacuous.stderr).toMatch(/ref: build \S+ failed, so its products are incomplete/);
    // Report paths that cannot be written: a usage error before any work, not a stack trace or a product blamed.
    writeFileSync(ws.path('afile'), 'x');
    for (const args of [
      ['--diff-dir', ws.path('afile')],
      ['--markdown', ws.path('afile/report.md')],
      ['--json', ws.path('ref')],
    ]) {
      const bad = await ws.run(['compare', ref, ref, ...args]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a changed map pixel: different, exit 1, with the largest difference, a difference PNG and reports', async () => {
    const changed = tmpDir('pipe-compare-new-');
    cpSync(ref, changed, { recursive: true });
    perturbPixel(path.join(changed, SQRT_TS), 2.5);
    const out = tmpDir('pipe-compare-out-');
    const run = await ws.run([
      'compare',
      ref,
      changed,
      '--json',
      path.join(out, 'report.json'),
      '--markdown',
      path.join(out, 'report.md'),
      '--diff-dir',
      path.join(out, 'diffs'),
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/REGRESSION/);
    expect(run.stdout).toContain(SQRT_TS);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.regression).toBe(true);
    expect(report.summary).toMatchObject({ total: productCount, identical: productCount - 1, different: 1 });
    const product = report.products.find((p: { path: string }) => p.path === SQRT_TS);
    expect(product.status).toBe('different');
    const image = product.details.find((d: { kind: string; status: string }) => d.status === 'different');
    expect(image.maxAbsDiff).toBeCloseTo(2.5, 4);
    expect(image.differing).toBe(1);
    const pngs = readdirSync(path.join(out, 'diffs')).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(1);
    expect(
      readFileSync(path.join(out, 'diffs', pngs[0]!))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain(`diffs/${pngs[0]}`);
    expect(md).toContain('Regression');
    // The same folders compared again once they agree: the old image goes (helper-113: it stayed beside the new
    // report); a file of the user's in the folder stays.
    writeFileSync(path.join(out, 'diffs', 'notes.png'), 'mine');
    const agreed = await ws.run(['compare', ref, ref, '--diff-dir', path.join(out, 'diffs')]);
    expect(agreed.code, agreed.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'diffs'))).toEqual(['notes.png']);

    // A tolerance that admits the change: within tolerance, exit 0.
    writeFileSync(path.join(out, 'tol.yaml'), 'products:\n  sqrt_ts.fits.gz: {atol: 3}\n');
    const tolerant = await ws.run([
      'compare',
      ref,
      changed,
      '--tolerances',
      path.join(out, 'tol.yaml'),
      '--json',
    ]);
    expect(tolerant.code, tolerant.stderr).toBe(0);
    expect(JSON.parse(tolerant.stdout).summary).toMatchObject({ withinTolerance: 1, different: 0 });

    // A broken tolerance file stops the comparison (exit 2) and points into the file.
    writeFileSync(path.join(out, 'bad.yaml'), 'products:\n  sqrt_ts.fits.gz: {atoll: 3}\n');
    const bad = await ws.run(['compare', ref, changed, '--tolerances', path.join(out, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:2:/);
  });

  it('two builds by id, and a build record against the remote cache: products fetched from the cache', async (t) => {
    const COPY =
      "const fs=require('fs');fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8'))";
    const small = new Workspace({
      'pipe.yaml': `version: 1
targets:
  fixed:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], '{\\"n\\": 1}')", "{outputs.out}"]
    outputs: {out: out/fixed.json}
  value:
    inputs: {src: data/value.json}
    command: [node, -e, ${JSON.stringify(COPY)}, "{inputs.src}", "{outputs.out}"]
    outputs: {out: out/value.json}
`,
      'data/value.json': '{"flux": 1.0}',
    });
    const first = await small.run(['build', 'fixed', 'value']);
    expect(first.code, first.stderr).toBe(0);
    small.write('data/value.json', '{"flux": 1.5}');
    const second = await small.run(['build', 'fixed', 'value']);
    expect(second.code, second.stderr).toBe(0);
    const ids = readdirSync(small.path('.pipe/builds'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    expect(ids).toHaveLength(2);
    // The first build's value.json is no longer in the workspace: it must come from the cache.
    small.remove('out');
    const run = await small.run(['compare', ids[0]!, ids[1]!, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.products.map((p: { path: string; status: string }) => [p.path, p.status])).toEqual([
      ['out/fixed.json', 'identical'],
      ['out/value.json', 'different'],
    ]);
    expect(report.products[1].details[0]).toMatchObject({ maxAbsDiff: 0.5 });
    const self = await small.run(['compare', 'last', ids[1]!.slice(0, 22)]);
    expect(self.code, self.stderr).toBe(0);
    const missing = await small.run(['compare', 'no-such-build', ids[1]!]);
    expect(missing.code).toBe(2);
    expect(existsSync(small.path('out'))).toBe(false);

    // Against reference products that exist only in the remote cache: main's build record (a small JSON
    // file kept by CI) compared from another workspace whose local cache never held them.
    const { env, skip } = await servers();
    if (!env) return t.skip(skip);
    const ns = namespace('bazel', env);
    const mainWs = new Workspace({
      'pipe.yaml': small.read('pipe.yaml'),
      'data/value.json': '{"flux": 1.0}',
    });
    const main = await mainWs.run(['build', 'fixed', 'value'], ns.env);
    expect(main.code, main.stderr).toBe(0);
    const record = path.join(tmpDir('pipe-compare-record-'), 'main-build.json');
    const last = readdirSync(mainWs.path('.pipe/builds')).sort().at(-1)!;
    cpSync(mainWs.path(`.pipe/builds/${last}`), record);
    const change = new Workspace({
      'pipe.yaml': small.read('pipe.yaml'),
      'data/value.json': '{"flux": 1.25}',
    });
    expect((await change.run(['build', 'fixed', 'value'], { PIPE_REMOTE_CACHE: '' })).code).toBe(0);
    const noRemote = await change.run(['compare', record, change.root], { PIPE_REMOTE_CACHE: '' });
    expect(noRemote.code).toBe(2);
    expect(noRemote.stderr).toMatch(/not in the cache/);
    const vsCache = await change.run(['compare', record, change.root, '--json'], ns.env);
    expect(vsCache.code, vsCache.stderr).toBe(1);
    const r = JSON.parse(vsCache.stdout);
    expect(r.products.map((p: { path: string; status: string }) => [p.path, p.status])).toEqual([
      ['out/fixed.json', 'identical'],
      ['out/value.json', 'different'],
    ]);
  });
});

describe('pipe compare of two builds of the same key', () => {
  it('compares what each build made (its record), not what the cache holds for the key now', async () => {
    // A task whose output differs run to run: built, then forced; the second run replaced the key's cache entry.
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: [t]\ntargets:\n  t:\n    command: [node, -e, "require(\'fs\').writeFileSync(process.argv[1], String(process.hrtime.bigint()))", "{outputs.o}"]\n    outputs: {o: stamp.txt}\n',
    });
    expect((await ws.run(['build'])).code).toBe(0);
    expect((await ws.run(['build', '--force'])).code).toBe(0);
    const ids = readdirSync(ws.path('.pipe/builds'))
      .sort()
      .map((f) => f.replace(/\.json$/, ''));
    const run = await ws.run(['compare', ids[0]!, ids[1]!, '--json']);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout).products).toEqual([
      expect.objectContaining({ path: 'stamp.txt', status: 'different' }),
    ]);
  });
});

describe('pipe compare of two workspaces', () => {
  it('takes every product each holds, not only those of its last build', async () => {
    const pipeline = (v: string) =>
      `version: 1\ndefault: [a, b]\ntargets:\n  a:\n    command: [node, -e, "require('fs').writeFileSync(process.argv[1], 'A')", "{outputs.o}"]\n    outputs: {o: products/a.txt}\n  b:\n    command: [node, -e, "require('fs').writeFileSync(process.argv[1], process.argv[2])", "{outputs.o}", "{params.v}"]\n    params: {v: ${v}}\n    outputs: {o: products/b.txt}\n`;
    const x = new Workspace({ 'pipe.yaml': pipeline('one') });
    const y = new Workspace({ 'pipe.yaml': pipeline('two') });
    expect((await x.run(['build'])).code).toBe(0);
    // X's last build made a alone: b's product is still X's.
    expect((await x.run(['build', 'a', '--force', 'a'])).code).toBe(0);
    expect((await y.run(['build'])).code).toBe(0);
    const run = await x.run(['compare', x.root, y.root, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const products = JSON.parse(run.stdout).products as Array<{ path: string; status: string }>;
    expect(products.map((p) => [p.path, p.status]).sort()).toEqual([
      ['products/a.txt', 'identical'],
      ['products/b.txt', 'different'],
    ]);
  });
});

describe('pipe compare of build ids after the workspace moved', () => {
  it('finds the products in the moved cache, and makes no store where the old one was', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: [t]\ntargets:\n  t:\n    command: [node, -e, "require(\'fs\').writeFileSync(process.argv[1], process.argv[2])", "{outputs.o}", "{params.v}"]\n    params: {v: one}\n    outputs: {o: out.txt}\n',
    });
    expect((await ws.run(['build'])).code).toBe(0);
    expect((await ws.run(['build', '--param', 't.v=two'])).code).toBe(0);
    const ids = readdirSync(ws.path('.pipe/builds'))
      .sort()
      .map((f) => f.replace(/\.json$/, ''));
    const moved = `${ws.root}-moved`;
    renameSync(ws.root, moved);
    const run = spawnSync(PIPE_COMMAND, ['compare', ids[0]!, ids[1]!], {
      cwd: moved,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain('1 different - REGRESSION');
    expect(existsSync(ws.root)).toBe(false);
    rmSync(moved, { recursive: true, force: true });
  });
});

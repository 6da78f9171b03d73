/** The comparison engine: pairing, hash short-circuit, JSON/text/bytes comparators, the comparator seam, reports. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileComparator } from '../src/compare/comparator.js';
import { compareProductDirs, compareProductSets } from '../src/compare/compare.js';
import { listProductDir } from '../src/compare/product-sets.js';
import { renderCompareMarkdown } from '../src/compare/render-markdown.js';
import { describeDetail, renderCompareText } from '../src/compare/render-text.js';
import { type CompareReport, renderCompareJson } from '../src/compare/report.js';
import { parseTolerances, type ToleranceConfig } from '../src/compare/tolerances.js';

const root = mkdtempSync(path.join(tmpdir(), 'pipe-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Writes a product tree {relPath: content} into a fresh directory. */
function tree(files: Record<string, string | Uint8Array>): string {
  const dir = path.join(root, `t${n++}`);
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tolerances(yaml: string): ToleranceConfig {
  const r = parseTolerances(yaml, 'tolerances.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.config;
}

async function compareDirs(a: string, b: string, options: Parameters<typeof compareProductDirs>[2] = {}) {
  const r = await compareProductDirs(a, b, { labels: { ref: 'main', new: 'change' }, ...options });
  if (!r.ok) throw new Error(r.message);
  return r.report;
}

const summary = { stats: { excess: 1234.5, sqrt_ts: [1.5, 28.25, 0.125] }, n_obs: 4, name: 'crab' };

describe('compareProductDirs', () => {
  it('finds identical trees identical, and no regression', async () => {
    const files = {
      'summary.json': JSON.stringify(summary),
      'maps/notes.txt': 'a\nb\n',
      'bin/blob.dat': new Uint8Array([0, 1, 2, 3]),
    };
    const report = await compareDirs(tree(files), tree(files));
    expect(report.regression).toBe(false);
    expect(report.products.map((p) => [p.path, p.status, p.bytesIdentical])).toEqual([
      ['bin/blob.dat', 'identical', true],
      ['maps/notes.txt', 'identical', true],
      ['summary.json', 'identical', true],
    ]);
    expect(report.summary).toMatchObject({ total: 3, identical: 3, different: 0 });
    expect(renderCompareText(report)).toBe(
      'compare main -> change\n3 products: 3 identical - no regression\n',
    );
  });

  it('reports products missing on either side; only a missing one is a regression', async () => {
    const onlyNew = await compareDirs(tree({ 'a.txt': 'x' }), tree({ 'a.txt': 'x', 'b.txt': 'y' }));
    expect(onlyNew.products.find((p) => p.path === 'b.txt')?.status).toBe('missing-in-ref');
    expect(onlyNew.regression).toBe(false);
    const missing = await compareDirs(tree({ 'a.txt': 'x', 'b.txt': 'y' }), tree({ 'a.txt': 'x' }));
    expect(missing.products.find((p) => p.path === 'b.txt')?.status).toBe('missing-in-new');
    expect(missing.summary.missingInNew).toBe(1);
    expect(missing.regression).toBe(true);
  });

  it('compares JSON numbers with the tolerance, key by key', async () => {
    const changed = structuredClone(summary);
    changed.stats.sqrt_ts[1] = 28.25 * (1 + 1e-9);
    const ref = tree({ 'summary.json': JSON.stringify(summary) });
    const neu = tree({ 'summary.json': JSON.stringify(changed) });

    const loose = await compareDirs(ref, neu);
    const p = loose.products[0]!;
    expect(p.status).toBe('within-tolerance');
    expect(p.comparator).toBe('json');
    expect(loose.regression).toBe(false);
    const stats = p.details.find((d) => d.item === 'key stats')!;
    expect(stats).toMatchObject({
      status: 'within-tolerance',
      elements: 4,
      differing: 0,
      where: 'stats.sqrt_ts[1]',
    });
    expect(stats.maxRelDiff).toBeCloseTo(1e-9, 12);
    expect(p.details.find((d) => d.item === 'key n_obs')?.status).toBe('identical');

    const strict = await compareDirs(ref, neu, { tolerances: tolerances('default: {rtol: 0}') });
    expect(strict.products[0]!.status).toBe('different');
    expect(strict.regression).toBe(true);

    // A per-key tolerance overrides the product's.
    const perKey = await compareDirs(ref, neu, {
      tolerances: tolerances("default: {rtol: 0}\nproducts:\n  '*.json': {keys: {stats: {rtol: 1.0e-8}}}"),
    });
    expect(perKey.products[0]!.status).toBe('within-tolerance');
    expect(perKey.products[0]!.details[0]!.tolerance?.from).toEqual([
      'default',
      "products['*.json'].keys['stats']",
    ]);
  });

  it('lists changed, added and removed JSON keys; integers are exact', async () => {
    const ref = tree({ 's.json': JSON.stringify({ a: 1, b: 'x', c: [1, 2], n: 1000000 }) });
    const neu = tree({ 's.json': JSON.stringify({ a: 1, b: 'y', c: [1, 2, 3], n: 1000001, d: true }) });
    const report = await compareDirs(ref, neu, { tolerances: tolerances('default: {rtol: 0.1}') });
    const byItem = Object.fromEntries(report.products[0]!.details.map((d) => [d.item, d]));
    expect(byItem['key b']).toMatchObject({
      status: 'different',
      changes: [{ item: 'b', ref: '"x"', new: '"y"' }],
    });
    expect(byItem['key c']).toMatchObject({ status: 'different', changes: [{ item: 'c[2]', new: '3' }] });
    expect(byItem['key d']).toMatchObject({ status: 'different', changes: [{ item: 'd', new: 'true' }] });
    expect(byItem['key n']).toMatchObject({ status: 'different', differing: 1, tolerance: { exact: true } });
    expect(byItem['key a']?.status).toBe('identical');
  });

  it("reads Python's JSON: bare NaN and ±Infinity are numbers, NaN equals NaN and JavaScript's null for it", async () => {
    const ref = tree({
      's.json':
        '{"stat": NaN, "ul": Infinity, "lo": -Infinity, "label": "NaN Infinity", "n": [1, NaN], "x": 1.0}',
    });
    const neu = tree({
      's.json': JSON.stringify({
        stat: null,
        ul: Infinity,
        lo: -Infinity,
        label: 'NaN Infinity',
        n: [1, Number.NaN],
        x: 2,
      }),
    });
    const report = await compareDirs(ref, neu, { tolerances: tolerances('default: {rtol: 0}') });
    const byItem = Object.fromEntries(report.products[0]!.details.map((d) => [d.item, d]));
    expect(byItem['key stat']?.status).toBe('identical');
    expect(byItem['key label']?.status).toBe('identical');
    expect(byItem['key n']?.status).toBe('identical');
    // JSON.stringify writes ±Infinity as null: a real difference of kind, reported, not a read error.
    expect(byItem['key ul']?.status).toBe('different');
    expect(byItem['key x']).toMatchObject({
      status: 'different',
      changes: [{ item: 'x', ref: '1', new: '2' }],
    });
  });

  it('diffs text line by line and other files byte by byte', async () => {
    const ref = tree({ 'log.txt': 'one\ntwo\nthree\nfour\n', 'x.bin': new Uint8Array([0, 1, 2, 3]) });
    const neu = tree({ 'log.txt': 'one\nTWO\nthree\nfour\n', 'x.bin': new Uint8Array([0, 1, 9, 3]) });
    const report = await compareDirs(ref, neu);
    const [log, bin] = [report.products[0]!, report.products[1]!];
    expect(log).toMatchObject({ comparator: 'text', status: 'different' });
    expect(log.details[0]).toMatchObject({
      where: 'line 2',
      changes: [{ item: 'line 2', ref: 'two', new: 'TWO' }],
    });
    expect(bin).toMatchObject({ comparator: 'bytes', status: 'different' });
    expect(bin.details[0]!.where).toBe('byte 2');
  });

  it('fails as a value when a directory does not exist', async () => {
    const r = await compareProductDirs(path.join(root, 'nope'), tree({}));
    expect(r).toMatchObject({ ok: false, reason: 'not-a-directory', side: 'ref' });
  });

  it('does not list pipe state or temporary files of atomic writes', async () => {
    const dir = tree({
      'a.txt': '1',
      '.pipe/state.json': '{}',
      'sub/b.txt.tmp-12-ab': 'x',
      'sub/.c.fits.1.x.tmp': 'x',
    });
    const r = await listProductDir(dir);
    expect(r.ok && r.entries.map((e) => e.relPath)).toEqual(['a.txt']);
  });
});

describe('compareProductSets', () => {
  it('takes equal SHA-256 for identical without reading the files', async () => {
    const sha = 'ab'.repeat(32);
    const gone = path.join(root, 'does-not-exist');
    const report = await compareProductSets(
      [{ relPath: 'maps/x.fits', absPath: gone, sha256: sha }],
      [{ relPath: './maps/x.fits', absPath: gone, sha256: sha }],
    );
    expect(report.products).toEqual([
      {
        path: 'maps/x.fits',
        status: 'identical',
        bytesIdentical: true,
        refSha256: sha,
        newSha256: sha,
        details: [],
      },
    ]);
  });

  it('hands files to the caller’s comparators first, and reports a comparator that throws as an error', async () => {
    const seen: string[] = [];
    const fake: FileComparator = {
      name: 'dat',
      handles: (p) => p.endsWith('.dat'),
      async compare(_a, _b, ctx) {
        seen.push(ctx.relPath);
        if (ctx.relPath.startsWith('bad')) throw new Error('boom');
        return { ok: true, details: [{ item: 'payload', kind: 'data', status: 'within-tolerance' }] };
      },
    };
    const ref = tree({ 'a.dat': '1', 'bad.dat': '1', 'c.txt': 'x' });
    const neu = tree({ 'a.dat': '2', 'bad.dat': '2', 'c.txt': 'y' });
    const report = await compareDirs(ref, neu, { comparators: [fake] });
    expect(seen.sort()).toEqual(['a.dat', 'bad.dat']);
    expect(report.products.map((p) => [p.path, p.status, p.comparator])).toEqual([
      ['a.dat', 'within-tolerance', 'dat'],
      ['bad.dat', 'error', 'dat'],
      ['c.txt', 'different', 'text'],
    ]);
    expect(report.products[1]!.error).toBe("comparator 'dat' failed: boom");
    expect(report.summary).toMatchObject({ withinTolerance: 1, error: 1, different: 1 });
    expect(report.regression).toBe(true);
  });
});

describe('renderers', () => {
  async function sampleReport(): Promise<CompareReport> {
    const changed = { ...summary, stats: { excess: 1234.5 * (1 + 2e-7), sqrt_ts: [1.5, 28.5, 0.125] } };
    const ref = tree({
      'summary.json': JSON.stringify(summary),
      'same.txt': 'x',
      'gone.txt': 'y',
      'n.json': '[1.0]',
    });
    const neu = tree({ 'summary.json': JSON.stringify(changed), 'same.txt': 'x', 'n.json': '[1.0000001]' });
    return compareDirs(ref, neu);
  }

  it('renders compact text', async () => {
    expect(renderCompareText(await sampleReport())).toMatchInlineSnapshot(`
      "compare main -> change
        MISSING in new    gone.txt
        within tolerance  n.json  (document: max abs 1e-7 at [0], max rel 1e-7; rtol 1e-6, atol 0; [0]: 1 -> 1.0000001)
        DIFFERENT         summary.json
            key stats: 1 of 4 differ; max abs 0.25 at stats.sqrt_ts[1], max rel 0.00885; rtol 1e-6, atol 0; stats.excess: 1234.5 -> 1234.5002468999999; stats.sqrt_ts[1]: 28.25 -> 28.5
      4 products: 1 identical, 1 within tolerance, 1 different, 1 missing in new - REGRESSION
      "
    `);
  });

  it('renders a Markdown summary for CI', async () => {
    expect(renderCompareMarkdown(await sampleReport())).toMatchInlineSnapshot(`
      "### pipe compare: \`main\` → \`change\`

      ❌ **Regression** — 4 products: 1 identical, 1 within tolerance, 1 different, 1 missing in new.

      | | Product | Status | Max abs diff | Max rel diff | Differing | Tolerance | Where |
      |---|---|---|---|---|---|---|---|
      | ❌ | \`gone.txt\` | missing in new | | | | |  |
      | 🟡 | \`n.json\` | within tolerance | 1e-7 | 1e-7 | 0 / 1 | rtol 1e-6, atol 0 | [0] |
      | ❌ | \`summary.json\` | different | 0.25 | 0.00885 | 1 / 4 | rtol 1e-6, atol 0 | stats.sqrt_ts[1] |

      #### \`n.json\`

      - **document**: within tolerance — 0 of 1 outside tolerance; max abs 1e-7 at [0], max rel 1e-7 — rtol 1e-6, atol 0 — \`[0]\`: \`1\` → \`1.0000001\`

      #### \`summary.json\`

      - **key stats**: different — 1 of 4 outside tolerance; max abs 0.25 at stats.sqrt_ts[1], max rel 0.00885 — rtol 1e-6, atol 0 — \`stats.excess\`: \`1234.5\` → \`1234.5002468999999\`, \`stats.sqrt_ts[1]\`: \`28.25\` → \`28.5\`

      <details><summary>1 identical product</summary>

      - \`same.txt\`

      </details>
      "
    `);
  });

  it('writes JSON with a fixed field order', async () => {
    const report = await sampleReport();
    // Build the same report with shuffled keys: the JSON must not change.
    const shuffled = JSON.parse(JSON.stringify(report), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as CompareReport;
    const json = renderCompareJson(report);
    expect(renderCompareJson(shuffled)).toBe(json);
    expect(Object.keys(JSON.parse(json))).toEqual([
      'version',
      'ref',
      'new',
      'regression',
      'summary',
      'products',
    ]);
    expect(Object.keys(JSON.parse(json).products[3])).toEqual([
      'path',
      'status',
      'bytesIdentical',
      'comparator',
      'refSha256',
      'newSha256',
      'details',
    ]);
  });
});

// Found by helper-142: the README's `--diff-dir diffs/` printed `diff image diffs//sqrt_ts.fits.gz--0-PRIMARY.png`.
describe('describeDetail: the diff image path', () => {
  it('joins a folder given with a trailing slash with one slash', () => {
    const detail = {
      item: "HDU 0 'PRIMARY' data",
      status: 'different' as const,
      diffImage: { file: 'sqrt_ts.fits.gz--0-PRIMARY.png', width: 100, height: 100, mode: 'map' as const },
    };
    expect(describeDetail(detail, 'diffs/')).toContain('diff image diffs/sqrt_ts.fits.gz--0-PRIMARY.png');
    expect(describeDetail(detail, 'diffs')).toContain('diff image diffs/sqrt_ts.fits.gz--0-PRIMARY.png');
  });
});

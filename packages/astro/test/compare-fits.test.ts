/**
 * The FITS comparator with core's comparison engine, on maps built at test time from the Crab reference
 * (sqrt_ts.fits.gz, re-written with our FITS writer and perturbed).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CompareOptions,
  compareProductDirs,
  parseTolerances,
  renderCompareMarkdown,
  type ToleranceConfig,
} from '@pipe/core';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fitsComparator } from '../src/compare/index.js';
import { type CardInput, type MapFitsSpec, readMapFits, writeFits, writeMapFits } from '../src/fits/index.js';
import { colormapRgb } from '../src/quicklook/index.js';
import { SHARED } from './shared-dir.js';

const REFERENCE = `${SHARED}/spec/reference/crab/sqrt_ts.fits.gz`;
const root = mkdtempSync(join(tmpdir(), 'pipe-compare-fits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => {
  const d = join(root, `d${dirs++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** The reference map as a writable spec (float64 data, so that a 1e-9 relative change is representable). */
function referenceSpec(): MapFitsSpec {
  const m = readMapFits(REFERENCE);
  const wcsKeys = /^(WCSAXES|CRPIX\d|CDELT\d|CUNIT\d|CTYPE\d|CRVAL\d|LONPOLE|LATPOLE|RADESYS|MJDREF)$/;
  const wcsHeader: CardInput[] = m.header.cards
    .filter((c) => c.value !== undefined && wcsKeys.test(c.key))
    .map((c) => ({ key: c.key, value: c.value as CardInput['value'] }));
  return {
    data: Float64Array.from(m.data as Float32Array),
    shape: m.shape,
    wcsHeader,
    axis: { kind: 'reco', edges: m.axis!.edges, unit: m.axis!.unit ?? 'TeV' },
    bunit: '',
    extraHeader: [
      { key: 'OBJECT', value: 'Crab' },
      { key: 'DATE', value: '2024-01-01T00:00:00' },
    ],
  };
}

const base = referenceSpec();
const [, NY, NX] = base.shape as [number, number, number];
/** A pixel with a clearly non-zero value, away from the edges. */
const PIXEL = { x: 52, y: 47 };
const PIXEL_INDEX = PIXEL.y * NX + PIXEL.x;

function variant(change: (spec: MapFitsSpec, data: Float64Array) => void): MapFitsSpec {
  const data = Float64Array.from(base.data as Float64Array);
  const spec = { ...base, data, extraHeader: [...(base.extraHeader ?? [])] };
  change(spec, data);
  return spec;
}

function tolerances(yaml: string): ToleranceConfig {
  const r = parseTolerances(yaml, 'tolerances.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.config;
}

/** Writes `sqrt_ts.fits.gz` = ref and new specs into two dirs and compares them with the FITS comparator. */
async function compareMaps(ref: MapFitsSpec, neu: MapFitsSpec, options: CompareOptions = {}) {
  const [a, b] = [newDir(), newDir()];
  for (const d of [a, b]) mkdirSync(join(d, 'maps'));
  writeMapFits(join(a, 'maps/sqrt_ts.fits.gz'), ref);
  writeMapFits(join(b, 'maps/sqrt_ts.fits.gz'), neu);
  const r = await compareProductDirs(a, b, { comparators: [fitsComparator()], ...options });
  if (!r.ok) throw new Error(r.message);
  return r.report;
}

const dataDetail = (report: Awaited<ReturnType<typeof compareMaps>>) =>
  report.products[0]!.details.find((d) => d.item === "HDU 0 'PRIMARY' data")!;

describe('fitsComparator', () => {
  it('finds equal maps identical; a changed DATE does not count', async () => {
    const same = await compareMaps(base, base);
    expect(same.products[0]).toMatchObject({ status: 'identical', bytesIdentical: true });
    expect(same.regression).toBe(false);

    const redated = await compareMaps(
      base,
      variant((s) => (s.extraHeader![1] = { key: 'DATE', value: '2025-06-30T12:00:00' })),
    );
    expect(redated.products[0]).toMatchObject({
      status: 'identical',
      bytesIdentical: false,
      comparator: 'fits',
    });
    expect(redated.products[0]!.details.map((d) => [d.item, d.status])).toEqual([
      ["HDU 0 'PRIMARY' header", 'identical'],
      ["HDU 0 'PRIMARY' data", 'identical'],
      ["HDU 1 'PRIMARY_BANDS' header", 'identical'],
      ["HDU 1 'PRIMARY_BANDS' column CHANNEL", 'identical'],
      ["HDU 1 'PRIMARY_BANDS' column ENERGY", 'identical'],
      ["HDU 1 'PRIMARY_BANDS' column E_MIN", 'identical'],
      ["HDU 1 'PRIMARY_BANDS' column E_MAX", 'identical'],
    ]);
    expect(redated.regression).toBe(false);
  });

  it("compares energy bands written in another unit (gammapy: the config's GeV; pipe: TeV) converted", async () => {
    // gammapy 1.0 writes a map's PRIMARY_BANDS in its config's energy unit: a config in GeV gives GeV columns
    // (helper-134's gammapy-written store), where pipe writes TeV. The same edges in GeV are no difference.
    const inGev = (edges: number[]) => variant((s) => (s.axis = { kind: 'reco', edges, unit: 'GeV' }));
    const tevEdges = Array.from(base.axis!.edges);
    const same = await compareMaps(inGev(tevEdges.map((e) => e * 1000)), base);
    expect(same.products[0]!.status).toBe('identical');
    const energy = same.products[0]!.details.find((d) => d.item === "HDU 1 'PRIMARY_BANDS' column ENERGY")!;
    expect(energy).toMatchObject({ status: 'identical', message: 'new in TeV, compared in GeV (×1000)' });
    // Edges that differ once converted still do: the unit converts, it does not hide a change.
    const shifted = await compareMaps(inGev(tevEdges.map((e) => e * 1001)), base);
    expect(
      shifted.products[0]!.details.find((d) => d.item === "HDU 1 'PRIMARY_BANDS' column E_MIN")!.status,
    ).toBe('different');
    expect(shifted.regression).toBe(true);
  });

  it('a pixel changed by 1e-9 relative is within rtol 1e-6 and different at rtol 0', async () => {
    const ref = base.data[PIXEL_INDEX] as number;
    expect(Math.abs(ref)).toBeGreaterThan(0.1);
    const neu = variant((_s, d) => (d[PIXEL_INDEX] = ref * (1 + 1e-9)));

    const loose = await compareMaps(base, neu);
    expect(loose.products[0]!.status).toBe('within-tolerance');
    expect(loose.regression).toBe(false);
    const d = dataDetail(loose);
    expect(d).toMatchObject({ status: 'within-tolerance', elements: NX * NY, differing: 0, nanMismatch: 0 });
    expect(d.where).toBe(`[x=${PIXEL.x}, y=${PIXEL.y}, plane=0]`);
    expect(d.maxRelDiff).toBeCloseTo(1e-9, 13);
    expect(d.tolerance).toEqual({ rtol: 1e-6, atol: 0, exact: false, from: ['default'] });

    const strict = await compareMaps(base, neu, { tolerances: tolerances('default: {rtol: 0}') });
    expect(strict.products[0]!.status).toBe('different');
    expect(dataDetail(strict)).toMatchObject({
      differing: 1,
      where: `[x=${PIXEL.x}, y=${PIXEL.y}, plane=0]`,
    });
    expect(strict.regression).toBe(true);

    // A per-HDU tolerance overrides a strict product rule.
    const perHdu = await compareMaps(base, neu, {
      tolerances: tolerances(
        'default: {rtol: 0}\nproducts:\n  sqrt_ts.fits.gz: {hdus: {PRIMARY: {rtol: 1.0e-8}}}',
      ),
    });
    expect(perHdu.products[0]!.status).toBe('within-tolerance');
  });

  it('lists a changed header key, unless the config ignores it', async () => {
    const neu = variant((s) => (s.extraHeader![0] = { key: 'OBJECT', value: 'Crab Nebula' }));
    const report = await compareMaps(base, neu);
    const header = report.products[0]!.details[0]!;
    expect(header).toMatchObject({
      item: "HDU 0 'PRIMARY' header",
      status: 'different',
      differing: 1,
      changes: [{ item: 'OBJECT', ref: "'Crab'", new: "'Crab Nebula'" }],
    });
    expect(report.products[0]!.status).toBe('different');
    const ignored = await compareMaps(base, neu, {
      tolerances: tolerances("products:\n  '*.fits.gz': {ignore_header_keys: [OBJ*]}"),
    });
    expect(ignored.products[0]!.status).toBe('identical');
  });

  // Found by a review: rtol 1e-4 on CRVAL1 = 320 deg let a 0.03 deg (1.5 pixel) shift of a Galactic map pass.
  it("a shifted WCS is a difference whatever the data's tolerance; formatting noise is not", async () => {
    const shifted = (by: number) =>
      variant((s) => {
        s.wcsHeader = s.wcsHeader.map((c) =>
          c.key === 'CRVAL1' ? { key: c.key, value: (c.value as number) * (1 + by) } : c,
        );
      });
    const loose = { tolerances: tolerances('default: {rtol: 1e-3, atol: 1}') };
    const report = await compareMaps(base, shifted(1e-5), loose);
    expect(report.products[0]!.details[0]).toMatchObject({
      item: "HDU 0 'PRIMARY' header",
      status: 'different',
      changes: [{ item: 'CRVAL1' }],
    });
    expect(report.regression).toBe(true);
    expect((await compareMaps(base, shifted(1e-13), loose)).products[0]!.status).toBe('within-tolerance');
  });

  it('a changed NaN pattern is a difference whatever the tolerance', async () => {
    const neu = variant((_s, d) => (d[PIXEL_INDEX] = Number.NaN));
    const report = await compareMaps(base, neu, { tolerances: tolerances('default: {rtol: 1, atol: 100}') });
    expect(dataDetail(report)).toMatchObject({ status: 'different', differing: 1, nanMismatch: 1 });
    expect(report.regression).toBe(true);
    // The report's table says what changed (it showed max abs 0, max rel 0, read as "no change").
    const md = renderCompareMarkdown(report);
    expect(md).toContain('| different | NaN pattern | NaN pattern |');
    expect(md).not.toMatch(/NaN pattern mismatches; max abs/);
  });

  it('writes a difference PNG of the map (new - ref, coolwarm) and links it in Markdown', async () => {
    const diffDir = join(root, 'diffs');
    const neu = variant((_s, d) => (d[PIXEL_INDEX] = (d[PIXEL_INDEX] as number) + 0.5));
    const report = await compareMaps(base, neu, { diffDir });
    const image = dataDetail(report).diffImage!;
    expect(image).toMatchObject({ file: 'maps__sqrt_ts.fits.gz--0-PRIMARY.png', mode: 'map' });
    const png = PNG.sync.read(readFileSync(join(diffDir, image.file)));
    expect([png.width, png.height]).toEqual([image.width, image.height]);
    const area = image.mapArea!;
    const scale = area.width / NX;
    expect(Number.isInteger(scale) && scale >= 1).toBe(true);
    expect(area.height).toBe(NY * scale);
    expect(area.x + area.width).toBeLessThanOrEqual(png.width);
    expect(area.y + area.height).toBeLessThanOrEqual(png.height);
    // The changed pixel is the maximum (warm end); every other pixel is 0 (the centre). North is up.
    const rgbAt = (x: number, y: number) => {
      const px = area.x + x * scale + Math.floor(scale / 2);
      const py = area.y + (NY - 1 - y) * scale + Math.floor(scale / 2);
      const o = (py * png.width + px) * 4;
      return [png.data[o], png.data[o + 1], png.data[o + 2]];
    };
    expect(rgbAt(PIXEL.x, PIXEL.y)).toEqual([...colormapRgb('coolwarm', 1)]);
    expect(rgbAt(PIXEL.x + 3, PIXEL.y)).toEqual([...colormapRgb('coolwarm', 0.5)]);

    expect(
      renderCompareMarkdown({ ...report, ref: 'main', new: 'pr' }, { diffLinkPrefix: 'diffs' }),
    ).toContain("![HDU 0 'PRIMARY' data: new − ref](diffs/maps__sqrt_ts.fits.gz--0-PRIMARY.png)");
  });

  it('shows the worst plane of a cube, or the sum over planes', async () => {
    const planes = 4;
    const cube = (bump: number): MapFitsSpec => {
      const data = new Float64Array(planes * NX * NY);
      for (let p = 0; p < planes; p++) data.set(base.data as Float64Array, p * NX * NY);
      data[2 * NX * NY + PIXEL_INDEX] += bump;
      data[1 * NX * NY + PIXEL_INDEX] += bump / 10;
      return {
        ...base,
        data,
        shape: [planes, NY, NX],
        axis: { kind: 'reco', edges: [1, 2, 4, 8, 16], unit: 'TeV' },
      };
    };
    const worst = await compareMaps(cube(0), cube(1), { diffDir: join(root, 'cube-worst') });
    expect(dataDetail(worst)).toMatchObject({ where: `[x=${PIXEL.x}, y=${PIXEL.y}, plane=2]` });
    expect(dataDetail(worst).diffImage).toMatchObject({ mode: 'worst-plane', plane: 2 });
    const sum = await compareMaps(cube(0), cube(1), {
      diffDir: join(root, 'cube-sum'),
      comparators: [fitsComparator({ cube: 'sum' })],
    });
    expect(dataDetail(sum).diffImage).toMatchObject({ mode: 'sum' });
    expect(dataDetail(sum).diffImage?.plane).toBeUndefined();
  });

  it('compares tables column by column, strings and integers exactly', async () => {
    const table = (energy: number, name: string, counts: number) => [
      { kind: 'image' as const, data: new Uint8Array(0), shape: [] },
      {
        kind: 'bintable' as const,
        name: 'EVENTS',
        columns: [
          { name: 'ENERGY', data: Float64Array.of(1, energy, 3), unit: 'TeV' },
          { name: 'COUNTS', data: Int32Array.of(5, 6, counts) },
          { name: 'NAME', data: ['a', name, 'c'] },
        ],
      },
    ];
    const [a, b] = [newDir(), newDir()];
    writeFits(join(a, 'events.fits'), table(2, 'b', 7));
    writeFits(join(b, 'events.fits'), table(2.001, 'B', 8));
    const r = await compareProductDirs(a, b, {
      comparators: [fitsComparator()],
      tolerances: tolerances('default: {rtol: 0.01}'),
    });
    if (!r.ok) throw new Error(r.message);
    const byItem = Object.fromEntries(r.report.products[0]!.details.map((d) => [d.item, d]));
    expect(byItem["HDU 1 'EVENTS' column ENERGY"]).toMatchObject({
      status: 'within-tolerance',
      where: 'row 1',
    });
    expect(byItem["HDU 1 'EVENTS' column COUNTS"]).toMatchObject({
      status: 'different',
      where: 'row 2',
      tolerance: { exact: true },
    });
    expect(byItem["HDU 1 'EVENTS' column NAME"]).toMatchObject({
      status: 'different',
      changes: [{ item: 'row 1', ref: 'b', new: 'B' }],
    });
  });

  it('reports an unreadable FITS product as an error, not a crash', async () => {
    const [a, b] = [newDir(), newDir()];
    writeMapFits(join(a, 'x.fits'), base);
    writeFileSync(join(b, 'x.fits'), 'SIMPLE  =                    T'.padEnd(2880, ' ').slice(0, 1000));
    const r = await compareProductDirs(a, b, { comparators: [fitsComparator()] });
    if (!r.ok) throw new Error(r.message);
    expect(r.report.products[0]).toMatchObject({ status: 'error', comparator: 'fits' });
    expect(r.report.products[0]!.error).toMatch(/x\.fits/);
    expect(r.report.regression).toBe(true);
  });
});

describe('Markdown report of FITS products', () => {
  it('renders the table, the details and the image links', async () => {
    const [a, b] = [newDir(), newDir()];
    const neu = variant((s, d) => {
      d[PIXEL_INDEX] = Number.NaN;
      d[PIXEL_INDEX + 1] = (d[PIXEL_INDEX + 1] as number) + 0.25;
      s.extraHeader![0] = { key: 'OBJECT', value: 'Crab Nebula' };
    });
    writeMapFits(join(a, 'sqrt_ts.fits.gz'), base);
    writeMapFits(join(b, 'sqrt_ts.fits.gz'), neu);
    writeMapFits(join(a, 'same.fits'), base);
    writeMapFits(join(b, 'same.fits'), base);
    writeMapFits(join(a, 'flux.fits'), base);
    const r = await compareProductDirs(a, b, {
      comparators: [fitsComparator()],
      diffDir: join(root, 'md-diffs'),
      labels: { ref: 'main@reference', new: 'build 42' },
    });
    if (!r.ok) throw new Error(r.message);
    const md = renderCompareMarkdown(r.report, { diffLinkPrefix: 'diffs' });
    expect(md).toMatchInlineSnapshot(`
      "### pipe compare: \`main@reference\` → \`build 42\`

      ❌ **Regression** — 3 products: 1 identical, 1 different, 1 missing in new.

      | | Product | Status | Max abs diff | Max rel diff | Differing | Tolerance | Where |
      |---|---|---|---|---|---|---|---|
      | ❌ | \`flux.fits\` | missing in new | | | | |  |
      | ❌ | \`sqrt_ts.fits.gz\` | different | 0.25 | 0.00926 | 2 / 10000 | rtol 1e-6, atol 0 | HDU 0 'PRIMARY' data [x=53, y=47, plane=0] |

      #### \`sqrt_ts.fits.gz\`

      - **HDU 0 'PRIMARY' header**: different — \`OBJECT\`: \`'Crab'\` → \`'Crab Nebula'\`
      - **HDU 0 'PRIMARY' data**: different — 2 of 10000 outside tolerance, 1 NaN pattern mismatches; max abs 0.25 at [x=53, y=47, plane=0], max rel 0.00926 — rtol 1e-6, atol 0

      ![HDU 0 'PRIMARY' data: new − ref](diffs/sqrt_ts.fits.gz--0-PRIMARY.png)

      <details><summary>1 identical product</summary>

      - \`same.fits\`

      </details>
      "
    `);
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CardInput,
  emptyPrimary,
  encodeFits,
  formatCard,
  parseFits,
  readFitsSync,
  readMapFits,
  writeFits,
  writeMapFits,
} from '../src/fits/index.js';
import { SHARED } from './shared-dir.js';

const REF = `${SHARED}/spec/reference/crab`;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fits-write-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The WCS cards of a gammapy map header (between EXTEND and AXCOLS1/WCSSHAPE). */
function wcsCards(path: string): CardInput[] {
  const cards = readFitsSync(path).hdu(0).header.cards;
  const start = cards.findIndex((c) => c.key === 'WCSAXES');
  const end = cards.findIndex((c) => c.key === 'AXCOLS1' || c.key === 'WCSSHAPE');
  return cards.slice(start, end).map((c) => ({ ...c }));
}

describe('header cards', () => {
  it('formats values as astropy does', () => {
    expect(formatCard({ key: 'NAXIS1', value: 100 })).toEqual([`NAXIS1  = ${'100'.padStart(20)}`.padEnd(80)]);
    expect(formatCard({ key: 'LONPOLE', value: 0 })[0]?.slice(10, 30)).toBe('0.0'.padStart(20));
    expect(formatCard({ key: 'X', value: 1e-12, float: true })[0]?.slice(10, 30).trim()).toBe('1E-12');
    expect(formatCard({ key: 'X', value: 1e-5, float: true })[0]?.slice(10, 30).trim()).toBe('1E-05');
    expect(formatCard({ key: 'X', value: 2e16, float: true })[0]?.slice(10, 30).trim()).toBe('2E+16');
    expect(formatCard({ key: 'INTERP1', value: 'log' })[0]?.trimEnd()).toBe("INTERP1 = 'log     '");
    expect(formatCard({ key: 'S', value: "it's" })[0]?.trimEnd()).toBe("S       = 'it''s   '");
  });

  it('round-trips long strings through CONTINUE cards, quotes included', () => {
    const value = `${"a'b".repeat(40)}-end`;
    const bytes = encodeFits([
      emptyPrimary([
        { key: 'LONGSTR', value, comment: 'long' },
        { key: 'HIERARCH ESO DET', value: 3 },
      ]),
    ]);
    const header = parseFits(bytes, 'mem').hdu(0).header;
    expect(header.get('LONGSTR')).toBe(value);
    expect(header.comment('LONGSTR')).toBe('long');
  });
});

describe('header bytes', () => {
  it('are printable ASCII: other characters become ?, one per UTF-16 unit, and blocks are padded with spaces', () => {
    const bytes = encodeFits([emptyPrimary([{ key: 'OBSERVER', value: 'Zoë\tα😀' }])]);
    expect(bytes.length % 2880).toBe(0);
    expect(bytes.every((b) => b >= 0x20 && b <= 0x7e)).toBe(true);
    const header = parseFits(bytes, 'mem').hdu(0).header;
    // ë, tab and α one each; the emoji is two UTF-16 units.
    expect(header.get('OBSERVER')).toBe('Zo?????');
    const text = new TextDecoder().decode(bytes);
    expect(text.slice(text.indexOf('END'), text.indexOf('END') + 80)).toBe('END'.padEnd(80));
  });
});

describe('writing and reading back', () => {
  it('round-trips images of every BITPIX (and the unsigned convention)', () => {
    const arrays = [
      Uint8Array.from([0, 1, 255, 7, 8, 9]),
      Int8Array.from([-128, -1, 0, 1, 127, 5]),
      Int16Array.from([-32768, -1, 0, 1, 32767, 5]),
      Uint16Array.from([0, 1, 65535, 32768, 2, 3]),
      Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 5]),
      Uint32Array.from([0, 1, 2 ** 32 - 1, 2 ** 31, 2, 3]),
      BigInt64Array.from([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n, 5n]),
      Float32Array.from([1.5, -2.25, Number.NaN, 1e30, 0, -0]),
      Float64Array.from([Math.PI, -1e-300, Number.NaN, Number.POSITIVE_INFINITY, 0, 2]),
    ];
    const path = join(dir, 'images.fits');
    writeFits(path, [
      { kind: 'image', data: arrays[0] as Uint8Array, shape: [2, 3] },
      ...arrays.slice(1).map((data, i) => ({ kind: 'image' as const, data, shape: [3, 2], name: `IMG${i}` })),
    ]);
    const f = readFitsSync(path);
    expect(f.hdus.length).toBe(arrays.length);
    arrays.forEach((a, i) => {
      const img = f.hdu(i).image();
      expect(img.data.constructor).toBe(a.constructor);
      expect(Array.from(img.data as ArrayLike<unknown>)).toEqual(Array.from(a as ArrayLike<unknown>));
    });
    expect(f.hdu(0).image().shape).toEqual([2, 3]);
    expect(f.hdu('img0').image().naxes).toEqual([2, 3]);
  });

  it('writes large images in chunks: the same bytes as the in-memory encoding, values round-trip', () => {
    // Larger than the writer's 1 MiB swap buffer and not a multiple of it; unsigned data needs the sign flip.
    const u16 = Uint16Array.from({ length: 700_001 }, (_, i) => (i * 7919) % 65536);
    const f64 = Float64Array.from({ length: 7 * 42_859 }, (_, i) => Math.sin(i) * 1e3);
    const hdus = [
      { kind: 'image' as const, data: u16, shape: [700_001] },
      { kind: 'image' as const, data: f64, shape: [7, 42_859], name: 'F64' },
    ];
    const path = join(dir, 'large.fits');
    writeFits(path, hdus);
    expect(Buffer.compare(readFileSync(path), Buffer.from(encodeFits(hdus)))).toBe(0);
    const f = readFitsSync(path);
    expect(f.hdu(0).image().data).toEqual(u16);
    expect(f.hdu('F64').image().data).toEqual(f64);
    expect(readdirSync(dir)).toEqual(['large.fits']); // no temp file left behind
  });

  it('round-trips a binary table with scalar, vector, string, logical and unsigned columns (gzip)', () => {
    const path = join(dir, 'table.fits.gz');
    writeFits(path, [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'DATA',
        cards: [
          { key: 'HDUCLAS1', value: 'RESPONSE' },
          { key: 'LO_THRES', value: 0.870963589956081 },
        ],
        columns: [
          { name: 'ID', data: BigInt64Array.from([1n, 2n, 3n]) },
          { name: 'E', data: Float32Array.from([1, 2, 3]), unit: 'TeV' },
          { name: 'VEC', data: Float64Array.from({ length: 12 }, (_, i) => i * 0.5), tdim: [2, 2] },
          { name: 'NAME', data: ['a', 'bb', ''] },
          { name: 'OK', data: [true, false, true] },
          { name: 'U16', data: Uint16Array.from([0, 40000, 65535]) },
          { name: 'N', data: [1, 2, 3], format: 'J' },
        ],
      },
    ]);
    const t = readFitsSync(path).hdu('data').table();
    expect(t.rows).toBe(3);
    expect(t.header.number('LO_THRES')).toBe(0.870963589956081);
    expect([...t.numeric('ID')]).toEqual([1n, 2n, 3n]);
    expect(t.column('E').unit).toBe('TeV');
    expect(t.column('VEC').cellShape).toEqual([2, 2]);
    expect(Array.from(t.cell('VEC', 2) as Float64Array)).toEqual([4, 4.5, 5, 5.5]);
    expect(t.strings('NAME')).toEqual(['a', 'bb', '']);
    expect(t.cell('OK', 1)).toBe(false);
    expect(t.numeric('U16')).toBeInstanceOf(Uint16Array);
    expect([...t.numeric('U16')]).toEqual([0, 40000, 65535]);
    expect(t.numeric('N')).toBeInstanceOf(Int32Array);
    expect(readdirSync(dir)).toEqual(['table.fits.gz']); // no temporary file left behind
  });
});

describe('gammapy map format', () => {
  // Identical cards and image bytes. Not byte-identical files: astropy keeps wcslib's card images ('deg'
  // unpadded) verbatim, and gammapy's log bin centres differ from sqrt(lo·hi) in the last bit.
  it.each(['counts', 'exposure', 'mask_safe', 'exclusion_mask_on_geom'])(
    're-writes %s.fits.gz card for card and byte for byte in the data',
    (name) => {
      const src = join(REF, `${name}.fits.gz`);
      const map = readMapFits(src);
      const out = join(dir, `${name}.fits.gz`);
      const meta = map.header.string('META') ?? '{}';
      const spec = {
        data: map.data,
        shape: map.shape,
        wcsHeader: wcsCards(src),
        bunit: map.bunit ?? '',
        meta,
      };
      writeMapFits(
        out,
        map.axis
          ? { ...spec, axis: { kind: map.axis.kind, edges: map.axis.edges, unit: map.axis.unit ?? 'TeV' } }
          : spec,
      );
      const original = gunzipSync(readFileSync(src));
      const ours = gunzipSync(readFileSync(out));
      expect(ours.length).toBe(original.length);
      const a = parseFits(original, src);
      const b = parseFits(ours, out);
      expect(b.names).toEqual(a.names);
      a.hdus.forEach((h, i) => {
        const other = b.hdu(i);
        expect(other.header.cards).toEqual(h.header.cards);
        expect(other.dataOffset).toBe(h.dataOffset);
        if (h.kind === 'primary') expect(Buffer.compare(other.rawData(), h.rawData())).toBe(0);
        else {
          for (const col of h.table().columnNames) {
            const want = h.table().float64(col);
            const got = other.table().float64(col);
            if (col === 'ENERGY' || col === 'ENERGY_TRUE')
              for (const [k, w] of want.entries()) expect(got[k]).toBeCloseTo(w, 14);
            else expect(got).toEqual(want);
          }
        }
      });
    },
  );
});

/**
 * Interop with astropy (Debian python3-astropy) and, when installed, gammapy (python3-gammapy): files astropy
 * writes with features the HESS files lack are read here, and files we write are read by astropy and
 * gammapy's Map.read. Skips with a printed reason when astropy is missing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFitsSync, readMapFits, writeFits, writeMapFits } from '../src/fits/index.js';
import { SHARED } from './shared-dir.js';

const PYTHON = process.env.PIPE_PYTHON ?? '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'fixtures/io/astropy_interop.py');
const probe = spawnSync(PYTHON, ['-c', 'import astropy'], { encoding: 'utf8' });
const hasAstropy = probe.status === 0;
if (!hasAstropy) {
  console.warn(
    `fits-astropy.test.ts: skipped, ${PYTHON} cannot import astropy (apt-get install python3-astropy)`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'fits-astropy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(...args: string[]): string {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!hasAstropy)('astropy interop', () => {
  it('reads what astropy writes: unsigned, scaled, null, bit, logical, variable-length, TDIM, strings, CONTINUE', () => {
    const path = join(dir, 'features.fits');
    python('write', path);
    const f = readFitsSync(path);
    const t = f.hdu('features').table();
    expect(t.numeric('U16')).toBeInstanceOf(Uint16Array);
    expect([...t.numeric('U16')]).toEqual([0, 1, 40000, 65535]);
    expect([...t.numeric('U32')]).toEqual([0, 1, 3000000000, 4294967295]);
    expect(Array.from(t.float64('SCALED'))).toEqual([10.5, 11, 11.5, 12]);
    const withNull = t.column('WITHNULL');
    expect(withNull.kind === 'numeric' && withNull.nullValue).toBe(-1);
    expect(Array.from(t.cell('BITS', 0) as Uint8Array)).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
    expect([0, 1, 2, 3].map((r) => t.cell('FLAG', r))).toEqual([true, false, true, false]);
    expect(Array.from(t.cell('VLA', 2) as Float32Array)).toEqual([0, 1, 2]);
    const cube = t.column('CUBE');
    expect(cube.cellShape).toEqual([4, 3, 2]);
    expect(Array.from(t.cell('CUBE', 1) as Float64Array).slice(0, 3)).toEqual([24, 25, 26]);
    expect(t.strings('NAME')).toEqual(['a', 'bb', 'ccc', 'dddddd']);
    expect([...t.numeric('B')]).toEqual([0, 7, 200, 255]);
    expect(t.header.get('LONGSTR')).toBe(`${'x'.repeat(100)}'quoted'${'y'.repeat(50)}`);
    expect(t.header.get('LONG KEYWORD NAME')).toBe(42);
    expect([...f.hdu('UIMG').image().data]).toEqual([0, 65535, 32768, 1]);
    expect([...f.hdu('SIMG').image().data]).toEqual([-5, -3, -1, 1, 3, 5]);
    expect([...f.hdu(0).image().data]).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('astropy (and gammapy Map.read, if installed) read what we write', () => {
    const table = join(dir, 'ours.fits.gz');
    const longstr = `${"it's ".repeat(30)}end`;
    writeFits(table, [
      { kind: 'image', data: Float32Array.from([1.5, 2.5, -3, 4, 5, 6]), shape: [2, 3] },
      {
        kind: 'bintable',
        name: 'DATA',
        cards: [
          { key: 'LONGSTR', value: longstr },
          { key: 'LO_THRES', value: 0.870963589956081 },
        ],
        columns: [
          { name: 'ID', data: BigInt64Array.from([1n, 2n, 9007199254740993n]) },
          { name: 'E', data: Float32Array.from([1, 2, 3]), unit: 'TeV' },
          { name: 'VEC', data: Float64Array.from({ length: 18 }, (_, i) => i), tdim: [3, 2] },
          { name: 'NAME', data: ['a', 'bb', ''] },
          { name: 'OK', data: [true, false, true] },
          { name: 'U16', data: Uint16Array.from([0, 40000, 65535]) },
        ],
      },
    ]);
    const ref = readMapFits(`${SHARED}/spec/reference/crab/counts.fits.gz`);
    const cards = readFitsSync(`${SHARED}/spec/reference/crab/counts.fits.gz`).hdu(0).header.cards;
    const wcs = cards.slice(
      cards.findIndex((c) => c.key === 'WCSAXES'),
      cards.findIndex((c) => c.key === 'AXCOLS1'),
    );
    const mapPath = join(dir, 'map.fits.gz');
    writeMapFits(mapPath, {
      data: ref.data,
      shape: ref.shape,
      wcsHeader: wcs,
      bunit: '',
      axis: { kind: 'reco', edges: ref.axis?.edges ?? [], unit: 'TeV' },
    });
    const report = JSON.parse(python('check', table, mapPath));
    expect(report.names).toEqual(['PRIMARY', 'DATA']);
    expect(report.image_dtype).toBe('>f4');
    expect(report.image).toEqual([1.5, 2.5, -3, 4, 5, 6]);
    expect(report.E).toEqual([1, 2, 3]);
    expect(report.VEC_shape).toEqual([3, 2, 3]);
    expect(report.VEC_row2).toEqual([12, 13, 14, 15, 16, 17]);
    expect(report.NAME).toEqual(['a', 'bb', '']);
    expect(report.OK).toEqual([true, false, true]);
    expect(report.U16).toEqual([0, 40000, 65535]);
    expect(report.ID).toEqual(['1', '2', '9007199254740993']); // beyond 2^53: compared as text
    expect(report.LONGSTR).toBe(longstr);
    expect(report.LO_THRES).toBe(0.870963589956081);
    expect(report.map_sum).toBe(2485);
    expect(report.map_shape).toEqual([10, 100, 100]);
    if (report.gammapy === null) {
      console.warn(
        'fits-astropy.test.ts: gammapy not installed, Map.read check not run (apt-get install python3-gammapy)',
      );
    } else {
      expect(report.gammapy.sum).toBe(2485);
      expect(report.gammapy.axis_name).toBe('energy');
      expect(report.gammapy.edges[0]).toBeCloseTo(1, 12);
      expect(report.gammapy.edges[10]).toBeCloseTo(10, 12);
      expect(report.gammapy.center_radec[0]).toBeCloseTo(83.633, 9);
      expect(report.gammapy.center_radec[1]).toBeCloseTo(22.014, 9);
      expect(report.gammapy.npix).toEqual([100, 100]);
    }
  });
});

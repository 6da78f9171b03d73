// The projections pipe reads besides CAR and TAN (exclusion masks in any common projection, as gammapy reads
// them through wcslib), against astropy 5.2's wcslib: fixtures/wcs/projections.json, written by
// fixtures/wcs/astropy_projections.py from the headers astropy writes (so the header parsing is checked too).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  angularSeparation,
  isWcsFailure,
  parseWcsHeader,
  pixelToSky,
  recordHeader,
  skyToPixel,
  type Wcs,
} from '../src/wcs/index.js';

interface Case {
  header: Record<string, unknown>;
  pixelToSky: [number, number, number, number][];
  offProjection: [number, number][];
  skyToPixel: [number, number, number, number][];
  offSky: [number, number][];
}
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures/wcs/projections.json'), 'utf8'),
) as {
  cases: Case[];
};

const label = (c: Case) =>
  `${c.header['CTYPE1']}/${c.header['CTYPE2']} at (${c.header['CRVAL1']}, ${c.header['CRVAL2']})`;

describe('projections against astropy (wcslib)', () => {
  it('covers every projection of the list, in both frames, and slant SIN (NCP) both ways', () => {
    const slant = fixture.cases.filter(
      (c) => c.header['PV2_2'] !== undefined && c.header['CTYPE1'] === 'RA---SIN',
    );
    expect(slant.length).toBe(1);
    expect(slant[0]?.offSky.length).toBeGreaterThan(0);
    expect(slant[0]?.offProjection.length).toBeGreaterThan(0);
    const types = new Set(fixture.cases.map((c) => String(c.header['CTYPE1'])));
    for (const p of ['SIN', 'NCP', 'ARC', 'ZEA', 'STG', 'AZP', 'AIT', 'MOL', 'SFL', 'GLS', 'MER', 'CEA']) {
      expect(types.has(`RA---${p}`), p).toBe(true);
      expect(types.has(`GLON-${p}`), p).toBe(true);
    }
  });

  for (const c of fixture.cases) {
    describe(label(c), () => {
      const wcs = parseWcsHeader(recordHeader(c.header));
      it('parses the header astropy writes', () => {
        expect(isWcsFailure(wcs) ? wcs.message : 'ok').toBe('ok');
      });
      if (isWcsFailure(wcs)) return;
      const w = wcs as Wcs;
      it('maps pixels to the same sky positions within 1e-9 deg', () => {
        expect(c.pixelToSky.length).toBeGreaterThan(2);
        let worst = 0;
        for (const [x, y, lon, lat] of c.pixelToSky) {
          const [l, b] = pixelToSky(w, x, y);
          worst = Math.max(worst, angularSeparation(l, b, lon, lat));
        }
        expect(worst).toBeLessThan(1e-9);
      });
      it('finds off the projection the pixels wcslib does', () => {
        for (const [x, y] of c.offProjection)
          expect(pixelToSky(w, x, y).every(Number.isNaN), `${x} ${y}`).toBe(true);
      });
      it('maps sky positions to the same pixels within 1e-9 pixel', () => {
        let worst = 0;
        for (const [lon, lat, x, y] of c.skyToPixel) {
          const [px, py] = skyToPixel(w, lon, lat);
          worst = Math.max(worst, Math.abs(px - x), Math.abs(py - y));
        }
        expect(worst).toBeLessThan(1e-9);
      });
      it('finds off the projection the sky positions wcslib does (the far side of a slant SIN)', () => {
        for (const [lon, lat] of c.offSky)
          expect(skyToPixel(w, lon, lat).every(Number.isNaN), `${lon} ${lat}`).toBe(true);
      });
    });
  }
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readFitsSync, writeFits } from '../src/fits/index.js';
import { readSkyMask } from '../src/makers/exclusion.js';
import { SHARED } from './shared-dir.js';

const EXCLUSION = `${SHARED}/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz`;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'exclusion-mask-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// gammapy's Analysis reads the mask with `Map.read(path).data.astype(bool)`: non-zero is usable, and so is NaN
// (numpy's bool(NaN) is True); only an exact 0 excludes.
it('takes non-zero and NaN pixels as usable, 0 and -0 as excluded (gammapy: data.astype(bool))', () => {
  const src = readFitsSync(EXCLUSION).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const cards = src.header.cards
    .filter((c) => /^(C|WCSAXES|RADESYS|EQUINOX|LONPOLE|LATPOLE)/.test(c.key))
    .map((c) => ({ ...c }));
  const data = new Float32Array(nx * ny).fill(1);
  data[0] = Number.NaN;
  data[1] = 0;
  data[2] = -0;
  data[3] = 2.5;
  data[4] = Number.POSITIVE_INFINITY;
  const file = join(dir, 'mask.fits');
  writeFits(file, [{ kind: 'image', data, shape: [nx, ny], cards }]);
  const mask = readSkyMask(file);
  if ('reason' in mask) throw new Error(mask.message);
  expect([...mask.data.subarray(0, 6)]).toEqual([1, 0, 0, 1, 1, 1]);
  expect(mask.nx).toBe(nx);
  expect(mask.ny).toBe(ny);
});

it('skips an empty primary HDU, and names the HDUs when the file holds no image (e.g. a table)', () => {
  const src = readFitsSync(EXCLUSION).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const cards = src.header.cards.filter((c) => /^(C|WCSAXES|RADESYS)/.test(c.key)).map((c) => ({ ...c }));
  const inExtension = join(dir, 'ext.fits');
  writeFits(inExtension, [
    { kind: 'image', data: new Uint8Array(0), shape: [] },
    { kind: 'image', data: new Uint8Array(nx * ny).fill(1), shape: [nx, ny], cards, name: 'MASK' },
  ]);
  const mask = readSkyMask(inExtension);
  if ('reason' in mask) throw new Error(mask.message);
  expect(mask.nx * mask.ny).toBe(nx * ny);

  const index = `${SHARED}/data/hess-dl3-dr1/hdu-index.fits.gz`;
  const failed = readSkyMask(index);
  expect('reason' in failed && failed.message).toMatch(
    /hdu-index\.fits\.gz: no image HDU with data \(HDUs 0:PRIMARY empty, 1:HDU_INDEX bintable\)/,
  );
});

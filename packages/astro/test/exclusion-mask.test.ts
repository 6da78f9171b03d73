import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceKernels } from '@pipe/kernels';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readFitsSync, writeFits } from '../src/fits/index.js';
import { createWcsGeom, type WcsGeom } from '../src/geom/wcs-geom.js';
import { projectMask, readSkyMask, type SkyMask, sampleMaskNearest } from '../src/makers/exclusion.js';
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

it('reads a cube whose planes agree as its sky image, and refuses one whose planes differ (naming plane and pixel)', () => {
  const src = readFitsSync(EXCLUSION).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const cards = src.header.cards.filter((c) => /^(C|RADESYS)/.test(c.key)).map((c) => ({ ...c }));
  const plane = new Uint8Array(nx * ny).fill(1);
  plane.fill(0, 0, nx); // the bottom row excluded
  const cube = new Uint8Array(3 * nx * ny);
  for (let k = 0; k < 3; k++) cube.set(plane, k * nx * ny);
  const same = join(dir, 'same.fits');
  writeFits(same, [{ kind: 'image', data: cube, shape: [3, ny, nx], cards }]);
  const mask = readSkyMask(same);
  if ('reason' in mask) throw new Error(mask.message);
  expect([...mask.data]).toEqual([...plane]);

  cube[2 * nx * ny + nx + 7] = 0; // plane 3, pixel (7, 1)
  const differ = join(dir, 'differ.fits');
  writeFits(differ, [{ kind: 'image', data: cube, shape: [3, ny, nx], cards, name: 'MASK' }]);
  const failed = readSkyMask(differ);
  expect('reason' in failed && failed.message).toBe(
    `${differ} [MASK]: a ${nx}×${ny}×3 cube whose planes differ (plane 3 at pixel (7, 1) differs from plane 1); ` +
      'an exclusion mask is one 2-D sky image, the same for every energy',
  );
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

/** The shipped (TAN) mask's data and cards, with CTYPE set to `projection` (same frame, grid and reference point). */
function reprojected(projection: string, file: string): void {
  const src = readFitsSync(EXCLUSION).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const data = Uint8Array.from(src.image().data as ArrayLike<number | bigint>, (v) =>
    Number(v) !== 0 ? 1 : 0,
  );
  const cards = src.header.cards
    .filter((c) => /^(C|WCSAXES|RADESYS)/.test(c.key))
    .map((c) => (c.key === 'CTYPE1' ? { key: c.key, value: `RA---${projection}` } : c))
    .map((c) => (c.key === 'CTYPE2' ? { key: c.key, value: `DEC--${projection}` } : { ...c }));
  writeFits(file, [{ kind: 'image', data, shape: [nx, ny], cards, name: 'MASK' }]);
}

function read(file: string): SkyMask {
  const mask = readSkyMask(file);
  if ('reason' in mask) throw new Error(mask.message);
  return mask;
}

function geom(spec: Parameters<typeof createWcsGeom>[0]): WcsGeom {
  const g = createWcsGeom(spec);
  if ('reason' in g) throw new Error(g.message);
  return g;
}

// The Crab map of science spec §4.5 (716 of its 10000 pixels excluded by the shipped TAN mask).
const CRAB_MAP = { skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.02, width: 2 } as const;

it('samples a mask in any supported projection at the map pixel centres: the same region gives the same pixels', () => {
  const tan = read(EXCLUSION);
  const onMap = projectMask(tan, geom(CRAB_MAP), referenceKernels);
  expect(onMap.length - onMap.reduce((a, b) => a + b, 0)).toBe(716);
  // The same image with another projection's CTYPE covers the same region up to the projections' difference, which
  // within the 2.5° mask is < 0.1 mask pixel: every map pixel centre (on a mask pixel centre, as the grids share
  // centre and pixel size) still picks the same mask pixel. (MOL is left out: its scale at the reference point is
  // 2√2/π across and π/(2√2) up, so the same pixels cover another region.)
  for (const p of ['SIN', 'ARC', 'ZEA', 'STG', 'AIT', 'SFL', 'MER', 'CEA']) {
    const file = join(dir, `mask-${p}.fits`);
    reprojected(p, file);
    const mask = read(file);
    expect(mask.wcs.projection).toBe(p);
    expect(
      Buffer.from(projectMask(mask, geom(CRAB_MAP), referenceKernels)).equals(Buffer.from(onMap)),
      p,
    ).toBe(true);
  }
});

/** A Galactic map centred near the Crab (RA 83.9°, Dec 21.7°), off the shipped mask's grid. */
function galacticMapNearCrab(binsize: number, width: number) {
  return geom({ skydir: { lon: 83.9, lat: 21.7, frame: 'icrs' }, frame: 'galactic', binsize, width });
}

it('samples a non-CAR/TAN mask as the kernels sample a CAR or TAN one (TypeScript path = sampleNearest)', () => {
  // A Galactic map of other pixel size and centre: nothing commensurate, so every centre goes through the frames.
  const map = galacticMapNearCrab(0.013, 3);
  const tan = read(EXCLUSION);
  const kernel = projectMask(tan, map, referenceKernels);
  const ts = sampleMaskNearest(tan, map);
  expect(kernel.reduce((a, b) => a + b, 0)).toBeLessThan(kernel.length); // some excluded, some outside the mask
  expect(Buffer.from(ts).equals(Buffer.from(kernel))).toBe(true);
});

it('marks the map pixels outside the mask image with the value asked for, on both paths (the ring background refuses them)', () => {
  // A 7° Galactic map around the 5° mask: a border of pixels beyond it.
  const map = galacticMapNearCrab(0.05, 7);
  const tan = read(EXCLUSION);
  const excludedOutside = projectMask(tan, map, referenceKernels);
  const kernel = projectMask(tan, map, referenceKernels, 2);
  const ts = sampleMaskNearest(tan, map, 2);
  expect(Buffer.from(ts).equals(Buffer.from(kernel))).toBe(true);
  const outside = kernel.filter((v) => v === 2).length;
  expect(outside).toBeGreaterThan(1000);
  expect(outside).toBeLessThan(kernel.length / 2);
  // Elsewhere the same mask: outside pixels are the ones the default reads as excluded.
  expect(Array.from(kernel, (v) => (v === 2 ? 0 : v))).toEqual(Array.from(excludedOutside));
});

it('fails for a projection it does not read, naming the file, the HDU and the CTYPE', () => {
  const file = join(dir, 'bonne.fits');
  reprojected('BON', file);
  const failed = readSkyMask(file);
  expect('reason' in failed && failed.message).toMatch(
    /bonne\.fits \[MASK\]: projection RA---BON\/DEC--BON is not supported \(CTYPE1 'RA---BON', CTYPE2 'DEC--BON'; supported: CAR, TAN, SIN \(NCP\), ARC, ZEA, STG, AZP \(mu = gamma = 0\), AIT, MOL, SFL \(GLS\), MER or CEA\)/,
  );
});

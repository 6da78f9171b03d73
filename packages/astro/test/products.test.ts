/**
 * Writing a step's declared products (steps/products.ts): quick-looks are written before the FITS maps (their
 * deflate overlaps the maps' encoding), yet what is written and what is refused read as the target declares them.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { ExcessMaps } from '../src/estimators/index.js';
import { readMapFits } from '../src/fits/index.js';
import { createWcsGeom, isGeomFailure } from '../src/geom/index.js';
import type { MapDataset } from '../src/makers/index.js';
import { writeProductMaps } from '../src/steps/products.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataset(): MapDataset {
  const geom = createWcsGeom({ skydir: { lon: 83.63, lat: 22.01 }, binsize: 0.1, width: [0.6, 0.4] });
  if (isGeomFailure(geom)) throw new Error(geom.message);
  const n = 2 * geom.nx * geom.ny;
  return {
    name: 'stacked',
    geom,
    irfGeom: geom,
    placement: { x0: 0, y0: 0, irfX0: 0, irfY0: 0 },
    energy: { kind: 'reco', edges: Float64Array.from([1, 3, 10]) },
    energyTrue: { kind: 'true', edges: Float64Array.from([0.5, 2, 20]) },
    counts: Float32Array.from({ length: n }, (_, i) => i % 5),
    exposure: Float32Array.from({ length: n }, () => 1e9),
    background: Float32Array.from({ length: n }, () => 0.5),
    maskSafe: Uint8Array.from({ length: n }, () => 1),
    livetime: 1800,
    ontime: 1800,
    runs: [],
  };
}

it('writes the declared maps and quick-looks, and names the missing outputs in the order they are declared', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-products-'));
  dirs.push(dir);
  const ds = dataset();
  const outputs = {
    excess: path.join(dir, 'excess.fits.gz'),
    counts: path.join(dir, 'counts.fits.gz'),
    sqrt_ts_png: path.join(dir, 'sqrt_ts.png'),
    counts_png: path.join(dir, 'counts.png'),
    summary: path.join(dir, 'summary.json'),
  };
  const toSky = (x: number, y: number) => ({ lon: 83.63 - 0.1 * (x - 2.5), lat: 22.01 + 0.1 * (y - 1.5) });
  await expect(writeProductMaps(outputs, ds, undefined, toSky)).rejects.toThrow(
    "output 'excess': 'excess' is not a map of the stacked dataset (counts, background, exposure, mask_safe): astro.excess_map makes it\n" +
      "output 'sqrt_ts_png': 'sqrt_ts' is not a map of the stacked dataset (counts, background, exposure, mask_safe): astro.excess_map makes it",
  );
  expect(readdirSync(dir).sort()).toEqual(['counts.fits.gz', 'counts.png']);
  const counts = readMapFits(outputs.counts);
  expect(Array.from(counts.data)).toEqual(Array.from(ds.counts));
});

// A pipeline that declares norm_ul (to get selection_optional's maps) fails on a config that does not ask for them;
// the message said only "set selection_optional", not which value, nor that the output can go instead.
it('names the selection_optional value that computes a declared optional map, or dropping the output', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-products-'));
  dirs.push(dir);
  const ds = dataset();
  const npix = ds.geom.nx * ds.geom.ny;
  const maps = {
    nx: ds.geom.nx,
    ny: ds.geom.ny,
    bins: [{ eMin: 1, eMax: 10 }],
    maps: { sqrt_ts: new Float64Array(npix) },
    images: [],
  } as unknown as ExcessMaps;
  const outputs = {
    norm_ul: path.join(dir, 'norm_ul.fits.gz'),
    flux_errn: path.join(dir, 'flux_errn.fits.gz'),
  };
  await expect(writeProductMaps(outputs, ds, maps, () => ({ lon: 0, lat: 0 }))).rejects.toThrow(
    "output 'norm_ul': map 'norm_ul' was not computed (excess_map.parameters.selection_optional computes it: all, or a list with 'ul'; or take this output out of the target's outputs)\n" +
      "output 'flux_errn': map 'flux_errn' was not computed (excess_map.parameters.selection_optional computes it: all, or a list with 'errn-errp'; or take this output out of the target's outputs)",
  );
});

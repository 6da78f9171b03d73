/**
 * pipe's dataset files (the per-run and stacked datasets of the excess-map pipeline) as gammapy's MapDataset.read
 * expects them: the PSF and EDISP maps laid out as gammapy 1.0's MapDataset.write lays them out (axes, *_BANDS
 * tables, squashed exposure maps, units), compared with fixtures/io/gammapy-dataset-layout.json, which gammapy wrote
 * (gammapy_dataset_layout.py). When python3-gammapy is installed, gammapy also reads our file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFitsSync, writeFits } from '../src/fits/index.js';
import { type EnergyAxis, logEnergyAxis, nbins } from '../src/geom/energy-axis.js';
import { createWcsGeom, irfGeom, npix, type WcsGeom, type WcsGeomSpec } from '../src/geom/wcs-geom.js';
import { datasetHdus, isDatasetReadFailure, type MapDataset, readDataset } from '../src/makers/index.js';

interface LayoutEntry {
  cards: Record<string, string>;
  shape?: number[];
  columns?: Array<[string, string]>;
  rows?: number[][];
}
const layout = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures/io/gammapy-dataset-layout.json'), 'utf8'),
) as Record<string, LayoutEntry>;

const dir = mkdtempSync(join(tmpdir(), 'dataset-gammapy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ok<T extends object>(v: T | { reason: string; message: string }): T {
  if ('reason' in v) throw new Error(v.message);
  return v as T;
}

/** The dataset of gammapy_dataset_layout.py: 5×5 map of 0.1°, IRF maps of 0.25°, 3 reco and 4 true bins. */
function layoutDataset(): MapDataset {
  const spec: WcsGeomSpec = { skydir: { lon: 83.63, lat: 22.01, frame: 'icrs' }, binsize: 0.1, width: 0.5 };
  const geom = ok<WcsGeom>(createWcsGeom(spec));
  const irf = ok<WcsGeom>(irfGeom(spec, 0.25));
  const energy = ok<EnergyAxis>(logEnergyAxis('reco', 0.5, 10, 3));
  const energyTrue = ok<EnergyAxis>(logEnergyAxis('true', 0.3, 20, 4));
  const [nE, nT, n, nI] = [nbins(energy), nbins(energyTrue), npix(geom), npix(irf)];
  const radEdges = Float64Array.from([0, 0.1, 0.3, 0.66]);
  const ramp = <T extends Float32Array | Float64Array>(a: T): T => a.map((_, i) => i + 0.5) as T;
  return {
    name: 'layout',
    geom,
    irfGeom: irf,
    placement: { x0: 0, y0: 0, irfX0: 0, irfY0: 0 },
    energy,
    energyTrue,
    counts: new Float32Array(nE * n).fill(1),
    exposure: new Float32Array(nT * n).fill(1e9),
    background: new Float32Array(nE * n).fill(0.25),
    maskSafe: new Uint8Array(nE * n).fill(1),
    psf: {
      radEdges,
      data: ramp(new Float32Array(nT * (radEdges.length - 1) * nI)),
      exposure: ramp(new Float32Array(nT * nI)),
    },
    edisp: { data: ramp(new Float64Array(nT * nE * nI)), exposure: ramp(new Float32Array(nT * nI)) },
    livetime: 1800,
    ontime: 1800,
    runs: [],
    // 2004-12-04T22:08:10.184 TT for 1687 s, then 1683 s from 22:54:04.184 (H.E.S.S. runs 23523 and 23526).
    gti: {
      ref: { mjd: 51910 + 0.000742870370370241, timesys: 'TT' },
      start: Float64Array.from([123890826, 123893580]),
      stop: Float64Array.from([123892513, 123895263]),
    },
  };
}

describe('dataset files in gammapy MapDataset layout', () => {
  const file = join(dir, 'layout.fits');
  writeFits(file, datasetHdus(layoutDataset()));
  const ours = readFitsSync(file);

  for (const [hduName, want] of Object.entries(layout)) {
    it(`${hduName}: as gammapy writes it`, () => {
      expect(ours.has(hduName), `${hduName} is missing`).toBe(true);
      const hdu = ours.hdu(hduName);
      for (const [key, value] of Object.entries(want.cards)) expect(hdu.header.get(key), key).toBe(value);
      if (want.shape) expect(hdu.image().shape).toEqual(want.shape);
      if (want.columns && want.rows) {
        const table = hdu.table();
        expect(table.columnNames).toEqual(want.columns.map(([name]) => name));
        for (const [name, unit] of want.columns) expect(table.column(name).unit ?? '', name).toBe(unit);
        expect(table.rows).toBe(want.rows.length);
        want.columns.forEach(([name], c) => {
          const got = Array.from(table.numeric(name), Number);
          const expected = want.rows!.map((row) => row[c] as number);
          for (const [r, v] of got.entries())
            expect(v, `${name}[${r}]`).toBeCloseTo(expected[r] as number, 12);
        });
      }
    });
  }

  it('reads back into the same dataset (the bands tables change no value), GTI included', () => {
    const ds = layoutDataset();
    const back = readDataset(file);
    if (isDatasetReadFailure(back)) throw new Error(back.message);
    expect(back.gti?.ref).toEqual(ds.gti!.ref);
    expect(Array.from(back.gti!.start)).toEqual(Array.from(ds.gti!.start));
    expect(Array.from(back.gti!.stop)).toEqual(Array.from(ds.gti!.stop));
    expect(Array.from(back.psf!.data)).toEqual(Array.from(ds.psf!.data));
    expect(Array.from(back.psf!.exposure)).toEqual(Array.from(ds.psf!.exposure));
    expect(Array.from(back.edisp!.data)).toEqual(Array.from(ds.edisp!.data));
    expect(Array.from(back.edisp!.exposure)).toEqual(Array.from(ds.edisp!.exposure));
    expect(Array.from(back.psf!.radEdges)).toEqual(Array.from(ds.psf!.radEdges));
  });
});

const PYTHON = process.env.PIPE_PYTHON ?? '/usr/bin/python3';
const hasGammapy = spawnSync(PYTHON, ['-c', 'import gammapy'], { encoding: 'utf8' }).status === 0;
if (!hasGammapy)
  console.warn(
    `dataset-gammapy.test.ts: gammapy's own read skipped, ${PYTHON} cannot import gammapy (apt-get install python3-gammapy)`,
  );

describe.skipIf(!hasGammapy)("gammapy's MapDataset.read", () => {
  it('opens our dataset file, with the PSF and EDISP maps on their axes and the GTI', () => {
    const file = join(dir, 'read-by-gammapy.fits');
    writeFits(file, datasetHdus(layoutDataset()));
    const script = [
      'import json, sys',
      'from gammapy.datasets import MapDataset',
      'd = MapDataset.read(sys.argv[1])',
      'print(json.dumps({"counts": float(d.counts.data.sum()),',
      '  "psf": d.psf.psf_map.geom.axes.names, "psf_exposure": d.psf.exposure_map.geom.axes.names,',
      '  "edisp": d.edisp.edisp_map.geom.axes.names, "psf_sum": float(d.psf.psf_map.data.sum()),',
      '  "edisp_sum": float(d.edisp.edisp_map.data.sum()), "rad_edges": d.psf.psf_map.geom.axes["rad"].edges.value.tolist(),',
      '  "gti_sum": float(d.gti.time_sum.to_value("s")), "gti_start": d.gti.time_start[0].tt.isot}))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const ds = layoutDataset();
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
    expect(report.counts).toBe(sum(ds.counts));
    expect(report.psf).toEqual(['rad', 'energy_true']);
    expect(report.psf_exposure).toEqual(['rad', 'energy_true']);
    expect(report.edisp).toEqual(['energy', 'energy_true']);
    expect(report.psf_sum).toBe(sum(ds.psf!.data));
    expect(report.edisp_sum).toBe(sum(ds.edisp!.data));
    expect(report.rad_edges).toEqual([0, 0.1, 0.3, 0.66]);
    expect(report.gti_sum).toBe(1687 + 1683);
    expect(report.gti_start).toBe('2004-12-04T22:08:10.184');
  });
});

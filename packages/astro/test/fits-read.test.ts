import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFits, readFitsSync, toFloat64 } from '../src/fits/index.js';
import { SHARED } from './shared-dir.js';

const HESS = `${SHARED}/data/hess-dl3-dr1`;
const RUN_23523 = join(HESS, 'data/hess_dl3_dr1_obs_id_023523.fits.gz');
const REF = `${SHARED}/spec/reference/crab`;

interface MapSummary {
  shape_numpy: number[];
  sum: number;
  min: number;
  max: number;
  argmax_numpy_index: number[];
}
const summary = JSON.parse(
  // summary.json is written by Python: bare NaN/Infinity are not JSON
  readFileSync(join(REF, 'summary.json'), 'utf8').replace(/\bNaN\b|-?Infinity\b/g, 'null'),
) as {
  dataset_maps: Record<string, MapSummary>;
  excess_maps: Record<string, MapSummary>;
  excess_all_maps: Record<string, MapSummary>;
};

describe('reading HESS DL3 run files (written by astropy)', () => {
  it('walks the HDUs of a run file', async () => {
    const f = await readFits(RUN_23523);
    expect(f.names).toEqual(['PRIMARY', 'EVENTS', 'GTI', 'AEFF', 'EDISP', 'PSF', 'BKG']);
    expect(f.hdu('events').index).toBe(1); // case-insensitive
    expect(f.hdu(3).name).toBe('AEFF');
  });

  it('decodes EVENTS columns with their types and units', () => {
    const events = readFitsSync(RUN_23523).hdu('EVENTS');
    const t = events.table();
    expect(t.rows).toBe(7613);
    expect(t.columnNames).toEqual(['EVENT_ID', 'TIME', 'RA', 'DEC', 'ENERGY']);
    expect(t.numeric('EVENT_ID')).toBeInstanceOf(BigInt64Array);
    const time = t.numeric('TIME');
    const ra = t.numeric('RA');
    expect(time).toBeInstanceOf(Float64Array);
    expect(ra).toBeInstanceOf(Float32Array);
    expect(t.column('ENERGY').unit).toBe('TeV');
    // all events lie within the GTI and near the pointing
    const gti = readFitsSync(RUN_23523).hdu('GTI').table();
    const start = gti.cell('START', 0) as number;
    const stop = gti.cell('STOP', 0) as number;
    expect([start, stop]).toEqual([123890826, 123892513]);
    // HESS event times reach a few ms past STOP; all lie within a second of the GTI
    for (const v of time) expect(v >= start - 1 && v <= stop + 1).toBe(true);
    const mean = (ra as Float32Array).reduce((a, b) => a + b, 0) / ra.length;
    expect(mean).toBeGreaterThan(80);
    expect(mean).toBeLessThan(87);
    expect(events.header.number('OBS_ID')).toBe(23523);
    expect(events.header.number('DEADC')).toBeCloseTo(0.9376, 3);
  });

  it('reads IRF vector cells with TDIM and header thresholds', () => {
    const f = readFitsSync(RUN_23523);
    const aeff = f.hdu('AEFF');
    expect(aeff.header.number('LO_THRES')).toBe(0.870963589956081);
    const t = aeff.table();
    const effarea = t.column('EFFAREA');
    expect(effarea.tdim).toEqual([96, 6]);
    expect(effarea.cellShape).toEqual([6, 96]);
    expect(Array.from(t.cell('THETA_LO', 0) as Float32Array)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    const bkg = f.hdu('BKG').table().column('BKG');
    expect(bkg.tdim).toEqual([50, 50, 20]);
    expect(bkg.kind).toBe('numeric');
    if (bkg.kind === 'numeric') expect([...bkg.data].filter((v) => v === 0).length).toBe(6153);
  });

  it('reads the index tables', () => {
    const obs = readFitsSync(join(HESS, 'obs-index.fits.gz')).hdu('OBS_INDEX');
    expect(obs.table().rows).toBe(105);
    expect(obs.header.number('MJDREFI')).toBe(51910);
    const hdu = readFitsSync(join(HESS, 'hdu-index.fits.gz')).hdu('HDU_INDEX').table();
    expect(new Set(hdu.strings('HDU_TYPE'))).toEqual(
      new Set(['events', 'gti', 'aeff', 'edisp', 'psf', 'bkg']),
    );
    expect(hdu.rows).toBe(105 * 6);
  });

  it('reads the int64 exclusion mask image', () => {
    const img = readFitsSync(`${SHARED}/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz`)
      .hdu(0)
      .image();
    expect(img.shape).toEqual([250, 250]);
    expect(img.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(img.toFloat64()).filter((v) => v === 0).length).toBe(716);
  });
});

describe('reading the gammapy reference maps', () => {
  const cases: [string, MapSummary | undefined][] = [
    ['counts', summary.dataset_maps.counts],
    ['background', summary.dataset_maps.background],
    ['exposure', summary.dataset_maps.exposure],
    ['mask_safe', summary.dataset_maps.mask_safe],
    ['correlated_counts', summary.excess_maps.npred],
    ['correlated_background', summary.excess_maps.npred_background],
    ['excess', summary.excess_maps.npred_excess],
    ['ts', summary.excess_maps.ts],
    ['sqrt_ts', summary.excess_maps.sqrt_ts],
    ['norm', summary.excess_maps.norm],
    ['flux', summary.excess_maps.flux],
    ['norm_ul', summary.excess_all_maps.norm_ul],
  ];
  it.each(cases)('%s decodes to the summary sum/min/max/argmax', (name, s) => {
    if (s === undefined) throw new Error(`summary.json lacks ${name}`);
    const f = readFitsSync(join(REF, `${name}.fits.gz`));
    const img = f.hdu(0).image();
    expect(img.shape).toEqual(s.shape_numpy);
    const v = img.toFloat64();
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let argmax = -1;
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as number;
      sum += x;
      if (x < min) min = x;
      if (x > max) {
        max = x;
        argmax = i;
      }
    }
    // summary.json was computed in float64 from the float32 maps, and a few from float64 arrays before storage
    const close = (a: number, b: number) =>
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.abs(b) + 1e-12);
    close(sum, s.sum);
    close(min, s.min);
    close(max, s.max);
    const [ny, nx] = [img.shape[img.shape.length - 2] as number, img.shape[img.shape.length - 1] as number];
    const idx = [Math.floor(argmax / (ny * nx)), Math.floor(argmax / nx) % ny, argmax % nx];
    expect(idx.slice(-s.argmax_numpy_index.length)).toEqual(s.argmax_numpy_index.slice(-3));
    const bands = f.hdu('PRIMARY_BANDS').table();
    expect(bands.rows).toBe(s.shape_numpy[0]);
  });

  it('counts sums to 2485 with 563 in the first energy bin', () => {
    const img = readFitsSync(join(REF, 'counts.fits.gz')).hdu(0).image();
    const v = toFloat64(img.data);
    expect(v.reduce((a, b) => a + b, 0)).toBe(2485);
    expect(v.subarray(0, 10000).reduce((a, b) => a + b, 0)).toBe(563);
  });
});

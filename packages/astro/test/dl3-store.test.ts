import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  angularSeparation,
  expandVars,
  galacticToIcrs,
  icrsToGalactic,
  joinPath,
  obsNumber,
  openDataStore,
  readObsIndex,
  selectObservations,
} from '../src/dl3/index.js';
import { emptyPrimary, FitsError, readFitsSync, writeFits } from '../src/fits/index.js';
import { SHARED } from './shared-dir.js';

const HESS = `${SHARED}/data/hess-dl3-dr1`;
const CRAB_RUNS = [23523, 23526, 23559, 23592];
const ALL_TYPES = ['events', 'gti', 'aeff', 'edisp', 'psf', 'bkg'];
const dir = mkdtempSync(join(tmpdir(), 'dl3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HESS DR1 data store', async () => {
  const store = await openDataStore(HESS);

  it('reads both index tables', () => {
    expect(store.obsIds.length).toBe(105);
    expect(store.hduIndex.length).toBe(630);
    expect(store.obsIndex.header.MJDREFI).toBe(51910);
    expect(store.indexFiles.hduIndex).toBe(`${HESS}/hdu-index.fits.gz`);
  });

  it('selects the four Crab runs in a 5° cone, in ICRS or Galactic', () => {
    const icrs = store.select(
      [{ type: 'cone', frame: 'icrs', lon: 83.633, lat: 22.014, radius: 5 }],
      ALL_TYPES,
    );
    expect(icrs).toEqual({ obsIds: CRAB_RUNS, warnings: [] });
    const [l, b] = icrsToGalactic(83.633, 22.014);
    expect(l).toBeCloseTo(184.55784079576932, 9); // astropy
    expect(b).toBeCloseTo(-5.784689618557456, 9);
    expect(store.select([{ type: 'cone', frame: 'galactic', lon: l, lat: b, radius: 5 }]).obsIds).toEqual(
      CRAB_RUNS,
    );
  });

  it('the cone is strictly less than the radius', () => {
    const row = store.obsIds.indexOf(23559);
    const ra = store.obsIndex.rows[row]?.RA_PNT as number;
    const dec = store.obsIndex.rows[row]?.DEC_PNT as number;
    const sep = angularSeparation(83.633, 22.014, ra, dec);
    const at = (radius: number) =>
      store.select([{ type: 'cone', frame: 'icrs', lon: 83.633, lat: 22.014, radius }]).obsIds;
    expect(at(sep)).not.toContain(23559);
    expect(at(sep * (1 + 1e-12))).toContain(23559);
  });

  it('selects by ids (unknown ids are warnings) and by time range', () => {
    const byId = store.select([{ type: 'ids', obsIds: [23592, 1, 23523] }]);
    expect(byId.obsIds).toEqual([23592, 23523]);
    expect(byId.warnings).toEqual([{ reason: 'unknown-obs-id', obsId: 1 }]);
    const row = store.obsIds.indexOf(23523);
    const mjdRef = 51910 + 0.000742870370370241;
    const start = (store.obsIndex.rows[row]?.TSTART as number) / 86400 + mjdRef;
    const stop = (store.obsIndex.rows[row]?.TSTOP as number) / 86400 + mjdRef;
    expect(store.select([{ type: 'time', mjdStart: start - 1e-6, mjdStop: stop + 1e-6 }]).obsIds).toEqual([
      23523,
    ]);
    expect(store.select([{ type: 'time', mjdStart: start + 0.001, mjdStop: stop + 0.001 }]).obsIds).toEqual(
      [],
    );
    expect(
      store.select([{ type: 'time', mjdStart: start + 0.001, mjdStop: stop + 0.001, partialOverlap: true }])
        .obsIds,
    ).toEqual([23523]);
  });

  it('reads a run: events, GTI, metadata (EVENTS header wins), livetime', async () => {
    const obs = store.observation(23523);
    expect(obs.filePaths()).toEqual([`${HESS}/data/hess_dl3_dr1_obs_id_023523.fits.gz`]);
    const events = await obs.events();
    expect(events.rows).toBe(7613);
    expect(events.energy.length).toBe(7613);
    expect(events.table.columnNames).toContain('EVENT_ID');
    const gti = await obs.gti();
    expect([gti.start[0], gti.stop[0], gti.ontime]).toEqual([123890826, 123892513, 1687]);
    const meta = await obs.meta();
    expect(meta.RA_PNT).toBe(83.633333333333); // float64 header value, not the float32 obs-index one
    expect(store.obsIndex.rows[store.obsIds.indexOf(23523)]?.RA_PNT).toBe(Math.fround(83.633333333333));
    expect(meta.TARGET_NAME).toBe('Crab'); // only in the obs index
    expect((await obs.livetime()).livetime).toBe(1581.7367646954954);
  });

  it('a run the HDU index lacks is an error naming the index', () => {
    expect(() => store.observation(42)).toThrow(/hdu-index\.fits\.gz.*OBS_ID 42/);
  });
});

/** A store whose index sits in index/x and points to files through '..', '$VAR' and the working directory. */
async function buildStore(): Promise<string> {
  const root = join(dir, 'store');
  const indexDir = join(root, 'index', 'x');
  mkdirSync(indexDir, { recursive: true });
  symlinkSync(join(HESS, 'data'), join(root, 'data'));
  const runFile = 'hess_dl3_dr1_obs_id_023523.fits.gz';
  const rows = [
    ['events', 'events', '../../data', runFile, 'EVENTS'],
    ['gti', 'gti', '${HESS_DIR}/data', runFile, 'gti'],
    ['aeff', 'aeff_2d', '$HESS_DIR/data', runFile, 'AEFF'],
    ['edisp', 'edisp_2d', 'data', runFile, 'EDISP'], // relative to the working directory
    ['bkg', 'bkg_3d', '../../data', runFile, 'BKG'],
    // A second row of one type: gammapy takes the first, with a warning ("Found multiple HDU matching").
    ['bkg', 'bkg_2d', '../../data', runFile, 'BKG_OTHER'],
  ];
  const missing = [
    ['events', 'events', 'data', 'nope.fits.gz', 'EVENTS'],
    ['gti', 'gti', 'data', 'nope.fits.gz', 'GTI'],
  ];
  const all = [...rows.map((r) => [23523, ...r]), ...missing.map((r) => [99999, ...r])] as [
    number,
    string,
    string,
    string,
    string,
    string,
  ][];
  const col = (k: number) => all.map((r) => r[k] as string);
  writeFits(join(indexDir, 'hdu-index.fits'), [
    emptyPrimary(),
    {
      kind: 'bintable',
      name: 'HDU_INDEX',
      columns: [
        { name: 'OBS_ID', data: BigInt64Array.from(all.map((r) => BigInt(r[0]))) },
        { name: 'HDU_TYPE', data: col(1).map((s) => `${s}  `) },
        { name: 'HDU_CLASS', data: col(2) },
        { name: 'FILE_DIR', data: col(3) },
        { name: 'FILE_NAME', data: col(4) },
        { name: 'HDU_NAME', data: col(5) },
      ],
    },
  ]);
  const hessObs = readFitsSync(join(HESS, 'obs-index.fits.gz')).hdu('OBS_INDEX');
  const t = hessObs.table();
  const row = t.float64('OBS_ID').indexOf(23523);
  const pick = (name: string) => Float32Array.of(t.float64(name)[row] as number, 0);
  writeFits(join(indexDir, 'obs-index.fits.gz'), [
    emptyPrimary(),
    {
      kind: 'bintable',
      name: 'OBS_INDEX',
      cards: [
        { key: 'MJDREFI', value: 51910 },
        { key: 'MJDREFF', value: 0.000742870370370241 },
      ],
      columns: [
        { name: 'OBS_ID', data: BigInt64Array.of(23523n, 99999n) },
        { name: 'RA_PNT', data: pick('RA_PNT') },
        { name: 'DEC_PNT', data: pick('DEC_PNT') },
        { name: 'DEADC', data: pick('DEADC') },
        { name: 'OBJECT', data: ['Crab Nebula', 'nothing'] },
      ],
    },
  ]);
  return root;
}

describe('path rules, required HDUs and broken stores', async () => {
  const root = await buildStore();
  const env = { HESS_DIR: HESS };
  const store = await openDataStore('$STORE/index/x', { env: { ...env, STORE: root }, cwd: root });

  it('finds the .fits index variant and resolves .., $VAR, braced VAR and cwd-relative FILE_DIRs', () => {
    expect(store.indexFiles.hduIndex).toBe(`${root}/index/x/hdu-index.fits`);
    const obs = store.observation(23523);
    expect(obs.location('events').path).toBe(`${root}/index/x/../../data/hess_dl3_dr1_obs_id_023523.fits.gz`);
    expect(obs.location('gti').path).toBe(`${HESS}/data/hess_dl3_dr1_obs_id_023523.fits.gz`);
    expect(obs.location('aeff').path).toBe(`${HESS}/data/hess_dl3_dr1_obs_id_023523.fits.gz`);
    expect(obs.location('edisp').path).toBe(`${root}/data/hess_dl3_dr1_obs_id_023523.fits.gz`);
    expect(obs.location('events').hduType).toBe('events'); // string cells stripped
    expect(obs.filePaths()).toHaveLength(3);
  });

  it('takes the first of several index rows of one type, and tells which types had several', () => {
    const obs = store.observation(23523);
    expect(obs.location('bkg').hduName).toBe('BKG');
    expect(obs.location('bkg').hduClass).toBe('bkg_3d');
    expect(store.duplicatedHduTypes(23523)).toEqual(['bkg']);
    expect(store.duplicatedHduTypes(99999)).toEqual([]);
  });

  it('reads through the resolved paths', async () => {
    const obs = store.observation(23523);
    expect((await obs.events()).rows).toBe(7613);
    expect((await obs.irf('aeff')).thresholds?.lo).toBe(0.870963589956081);
  });

  it('skips runs that lack a required HDU type, with a warning naming run and types', () => {
    const r = store.select([], ['events', 'gti', 'aeff', 'edisp', 'psf', 'bkg']);
    expect(r.obsIds).toEqual([]);
    expect(r.warnings).toEqual([
      { reason: 'missing-hdu', obsId: 23523, missing: ['psf'] },
      { reason: 'missing-hdu', obsId: 99999, missing: ['aeff', 'edisp', 'psf', 'bkg'] },
    ]);
    expect(store.select([], ['events', 'gti']).obsIds).toEqual([23523, 99999]);
  });

  it('an index that names a missing file gives an error naming the file and the run', async () => {
    const obs = store.observation(99999);
    expect(obs.location('events').exists).toBe(false);
    await expect(obs.events()).rejects.toSatisfy(
      (e: FitsError) =>
        e instanceof FitsError &&
        e.reason === 'io' &&
        e.message.includes('nope.fits.gz') &&
        e.message.includes('OBS_ID 99999'),
    );
  });

  it('a missing HDU type of a run is named', () => {
    expect(() => store.observation(23523).location('psf')).toThrow(
      /OBS_ID 23523.*'psf'.*events, gti, aeff, edisp, bkg/,
    );
  });

  it('a missing store is an error naming the tried paths', async () => {
    await expect(openDataStore(join(dir, 'nowhere'))).rejects.toThrow(/nowhere\/hdu-index\.fits\.gz/);
  });
});

describe('path and sky helpers', () => {
  it('expands variables like os.path.expandvars and joins like pathlib', () => {
    expect(expandVars('$A/${B}/$C/x', { A: 'a', B: 'b' })).toBe('a/b/$C/x');
    expect(joinPath('/base', '../d', 'f')).toBe('/base/../d/f');
    expect(joinPath('/base', '/abs/d', 'f')).toBe('/abs/d/f');
  });

  it('Galactic ↔ ICRS round-trips and matches astropy at the Galactic centre', () => {
    const [ra, dec] = galacticToIcrs(0, 0);
    expect(ra).toBeCloseTo(266.40498829, 6); // astropy: Galactic (0, 0) in ICRS
    expect(dec).toBeCloseTo(-28.93617776, 6);
    const [l, b] = icrsToGalactic(ra, dec);
    expect(Math.abs(l > 180 ? l - 360 : l)).toBeLessThan(1e-10);
    expect(Math.abs(b)).toBeLessThan(1e-10);
    expect(angularSeparation(0, 89.9, 180, 89.9)).toBeCloseTo(0.2, 12);
  });
});

// FITS compares column names without regard to case, and the HDU index's columns were read so: a store written with
// lower-case names (obs_id, file_dir, …) selected by obs_ids, but a cone (RA_PNT) or a time range (TSTART) on it
// failed with "no such column", though the column was there. (gammapy 1.0 refuses such a store: KeyError 'FILE_DIR'.)
describe('obs index columns', () => {
  it('are found whatever the case of their names', () => {
    const file = join(dir, 'lower-obs-index.fits');
    writeFits(file, [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'OBS_INDEX',
        columns: [
          { name: 'obs_id', data: BigInt64Array.of(23523n, 23526n) },
          { name: 'ra_pnt', data: Float64Array.of(83.63, 85.25) },
          { name: 'Dec_Pnt', data: Float64Array.of(22.01, 22.5) },
          { name: 'tstart', data: Float64Array.of(1e8, 2e8) },
        ],
      },
    ]);
    const index = readObsIndex(readFitsSync(file));
    expect(index.obsIds).toEqual([23523, 23526]);
    expect(obsNumber(index, 1, 'RA_PNT')).toBe(85.25);
    expect(obsNumber(index, 0, 'DEC_PNT')).toBe(22.01);
    expect(obsNumber(index, 1, 'TSTART')).toBe(2e8);
    // A column that is not there is still said so, with the names as the file writes them.
    expect(() => obsNumber(index, 0, 'TSTOP')).toThrow(
      'no such column; columns: obs_id, ra_pnt, Dec_Pnt, tstart',
    );
  });

  // gammapy 1.0 selects such a store by obs_time all the same (it reads the runs' GTIs); pipe cannot, and said only
  // "column 'TSTART': no such column".
  it('an obs_time selection on an index without TSTART or TSTOP says why pipe needs them', () => {
    const file = join(dir, 'no-times-obs-index.fits');
    writeFits(file, [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'OBS_INDEX',
        cards: [
          { key: 'MJDREFI', value: 51910 },
          { key: 'MJDREFF', value: 0.000742870370370241 },
        ],
        columns: [
          { name: 'OBS_ID', data: BigInt64Array.of(23523n) },
          { name: 'TSTART', data: Float64Array.of(1e8) },
        ],
      },
    ]);
    const index = readObsIndex(readFitsSync(file));
    expect(() => selectObservations(index, [{ type: 'time', mjdStart: 53000, mjdStop: 54000 }])).toThrow(
      `${file}[HDU 'OBS_INDEX'] column 'TSTOP': no such column (columns: OBS_ID, TSTART): pipe places the runs in time for observations.obs_time by the obs index's TSTART and TSTOP, where gammapy 1.0 reads each run's GTI from its events file; add TSTOP (seconds from MJDREFI/MJDREFF) to the obs index, or select the runs by obs_ids`,
    );
    // Without obs_time the index is fine.
    expect(selectObservations(index, [{ type: 'ids', obsIds: [23523] }]).obsIds).toEqual([23523]);
  });
});

/**
 * Broken inputs found by a sweep of damaged data stores: each is refused with an error naming the file, the HDU
 * and the column (or the config key), never a crash or a silently wrong product.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAnalysisConfig } from '../src/config/index.js';
import { Observation, obsNumber, openDataStore, requireHdus, selectObservations } from '../src/dl3/index.js';
import {
  emptyPrimary,
  encodeFits,
  FitsError,
  parseFits,
  readFitsSync,
  writeFits,
} from '../src/fits/index.js';
import { readIrf } from '../src/irf/index.js';
import { loadObservationData } from '../src/makers/index.js';
import { SHARED } from './shared-dir.js';

const HESS = `${SHARED}/data/hess-dl3-dr1`;
const dir = mkdtempSync(join(tmpdir(), 'broken-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(f: () => unknown): FitsError {
  try {
    f();
  } catch (e) {
    if (e instanceof FitsError) return e;
    throw e;
  }
  throw new Error('expected a FitsError');
}

/** `store`/hdu-index.fits with these rows: [OBS_ID, HDU_TYPE (= HDU_CLASS), FILE_DIR, FILE_NAME, HDU_NAME]. */
function writeHduIndex(store: string, rows: Array<[number, string, string, string, string]>): void {
  const col = (k: number) => rows.map((r) => r[k] as string);
  writeFits(join(store, 'hdu-index.fits'), [
    emptyPrimary(),
    {
      kind: 'bintable',
      name: 'HDU_INDEX',
      columns: [
        { name: 'OBS_ID', data: BigInt64Array.from(rows.map((r) => BigInt(r[0]))) },
        { name: 'HDU_TYPE', data: col(1) },
        { name: 'HDU_CLASS', data: col(1) },
        { name: 'FILE_DIR', data: col(2) },
        { name: 'FILE_NAME', data: col(3) },
        { name: 'HDU_NAME', data: col(4) },
      ],
    },
  ]);
}

async function asyncErrorOf(f: () => Promise<unknown>): Promise<FitsError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof FitsError) return e;
    throw e;
  }
  throw new Error('expected a FitsError');
}

describe('data store index tables', () => {
  it('refuses an obs-index with a repeated OBS_ID, naming the file, the column and both rows', async () => {
    const store = join(dir, 'dup-obs');
    mkdirSync(store);
    copyFileSync(join(HESS, 'hdu-index.fits.gz'), join(store, 'hdu-index.fits.gz'));
    const t = readFitsSync(join(HESS, 'obs-index.fits.gz')).hdu('OBS_INDEX').table();
    const ids = Array.from(t.float64('OBS_ID').slice(0, 3));
    ids.push(ids[0] as number);
    writeFits(join(store, 'obs-index.fits.gz'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'OBS_INDEX',
        columns: [
          { name: 'OBS_ID', data: BigInt64Array.from(ids.map((id) => BigInt(id))) },
          { name: 'RA_PNT', data: Float32Array.from(t.float64('RA_PNT').slice(0, 4)) },
        ],
      },
    ]);
    const err = await asyncErrorOf(() => openDataStore(store));
    expect(err.reason).toBe('bad-value');
    expect(err.file).toBe(join(store, 'obs-index.fits.gz'));
    expect(err.column).toBe('OBS_ID');
    expect(err.message).toContain(`OBS_ID ${ids[0]} is in rows 1 and 4`);
  });

  it('names a text cell where an obs-index number is expected as text (it read "value 83.63333 is not a number")', () => {
    const index = {
      file: '/x/obs-index.fits',
      obsIds: [23523],
      rows: [{ TSTART: '83.63333' }],
      columns: ['TSTART'],
    };
    expect(() => obsNumber(index as never, 0, 'TSTART')).toThrow(
      "OBS_ID 23523: the column holds text ('83.63333'), where a number is expected",
    );
  });

  // Found by writing an index from another producer: a text OBS_ID column ('23523', TFORM '6A') was said to hold "6
  // values per row", the string's width read as a count.
  it('names an index column written as text where numbers are expected, with its first value', async () => {
    const store = join(dir, 'text-obs-id');
    mkdirSync(store);
    copyFileSync(join(HESS, 'obs-index.fits.gz'), join(store, 'obs-index.fits.gz'));
    writeFits(join(store, 'hdu-index.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'HDU_INDEX',
        columns: [
          { name: 'OBS_ID', data: ['23523'] },
          { name: 'HDU_TYPE', data: ['events'] },
          { name: 'HDU_CLASS', data: ['events'] },
          { name: 'FILE_DIR', data: [`${HESS}/data`] },
          { name: 'FILE_NAME', data: ['hess_dl3_dr1_obs_id_023523.fits.gz'] },
          { name: 'HDU_NAME', data: ['EVENTS'] },
        ],
      },
    ]);
    const err = await asyncErrorOf(async () => (await openDataStore(store)).observation(23523));
    expect([err.file, err.hdu, err.column, err.detail]).toEqual([
      join(store, 'hdu-index.fits'),
      'HDU_INDEX',
      'OBS_ID',
      "column holds text (TFORM '5A', row 1: '23523'), where a number is expected",
    ]);
  });

  it('reads obs-index columns by their unit (RA_PNT in rad, TSTART/TSTOP in ms), as gammapy does', async () => {
    const store = join(dir, 'obs-units');
    mkdirSync(store);
    copyFileSync(join(HESS, 'hdu-index.fits.gz'), join(store, 'hdu-index.fits.gz'));
    const t = readFitsSync(join(HESS, 'obs-index.fits.gz')).hdu('OBS_INDEX');
    const table = t.table();
    const rad = (c: string) => table.float64(c).map((v) => (v * Math.PI) / 180);
    const ms = (c: string) => table.float64(c).map((v) => v * 1000);
    writeFits(join(store, 'obs-index.fits.gz'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'OBS_INDEX',
        cards: [
          { key: 'MJDREFI', value: t.header.number('MJDREFI') },
          { key: 'MJDREFF', value: t.header.number('MJDREFF') },
          { key: 'TIMESYS', value: 'TT' },
        ],
        columns: [
          { name: 'OBS_ID', data: BigInt64Array.from(table.float64('OBS_ID'), (v) => BigInt(v)) },
          { name: 'RA_PNT', data: rad('RA_PNT'), unit: 'rad' },
          { name: 'DEC_PNT', data: rad('DEC_PNT'), unit: 'rad' },
          { name: 'TSTART', data: ms('TSTART'), unit: 'ms' },
          { name: 'TSTOP', data: ms('TSTOP'), unit: 'ms' },
        ],
      },
    ]);
    const ds = await openDataStore(store);
    const cone = { type: 'cone', frame: 'icrs', lon: 83.633, lat: 22.014, radius: 5 } as const;
    // runs 23523 and 23526 of 2004-12-04 (gammapy 1.0 selects these from this index)
    const time = { type: 'time', mjdStart: 53343.9, mjdStop: 53343.99 } as const;
    expect(ds.select([cone, time]).obsIds).toEqual([23523, 23526]);
  });

  it('names HDU_TYPEs in other letters when a run lacks the lower-case types gammapy matches', () => {
    const row = (hduType: string, r: number) => ({
      obsId: 7,
      hduType,
      hduClass: hduType.toLowerCase(),
      fileDir: '',
      fileName: 'f.fits',
      hduName: hduType,
      row: r,
    });
    const got = requireHdus(
      [row('events', 0), row('GTI', 1), row('Aeff', 2)],
      [7],
      ['events', 'gti', 'aeff'],
    );
    expect(got.obsIds).toEqual([]);
    expect(got.warnings).toEqual([
      { reason: 'missing-hdu', obsId: 7, missing: ['gti', 'aeff'], otherCase: ['GTI', 'Aeff'] },
    ]);
  });
});

describe('runs', () => {
  /** A store with run 23523: the DR1 events, and a GTI table of these rows in a file of its own. */
  async function gtiStore(name: string, start: number[], stop: number[], unit = 's') {
    const store = join(dir, name);
    mkdirSync(store);
    copyFileSync(join(HESS, 'obs-index.fits.gz'), join(store, 'obs-index.fits.gz'));
    writeFits(join(store, 'gti.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'GTI',
        rows: start.length,
        columns: [
          { name: 'START', data: Float64Array.from(start), unit },
          { name: 'STOP', data: Float64Array.from(stop), unit },
        ],
      },
    ]);
    const run = 'hess_dl3_dr1_obs_id_023523.fits.gz';
    writeHduIndex(store, [
      [23523, 'events', `${HESS}/data`, run, 'EVENTS'],
      [23523, 'gti', '.', 'gti.fits', 'GTI'],
    ]);
    return { store, obs: (await openDataStore(store)).observation(23523) };
  }

  it('refuses a GTI table with no rows, naming the file and HDU', async () => {
    const { store, obs } = await gtiStore('empty-gti', [], []);
    const err = await asyncErrorOf(() => obs.livetime());
    expect(err.reason).toBe('bad-value');
    expect(err.file).toBe(`${store}/./gti.fits`);
    expect(err.hdu).toBe('GTI');
    expect(err.detail).toBe('the GTI table has no rows: the run has no good time interval');
  });

  it('refuses a reversed or non-finite interval, naming the column and row (gammapy counts it silently)', async () => {
    const reversed = await gtiStore('reversed-gti', [100, 300], [200, 250]);
    const err = await asyncErrorOf(() => reversed.obs.livetime());
    expect(err.reason).toBe('bad-value');
    expect(err.hdu).toBe('GTI');
    expect(err.column).toBe('STOP');
    expect(err.detail).toBe('row 2 (1-based): STOP 250 is before START 300');
    const nan = await gtiStore('nan-gti', [Number.NaN], [200]);
    const err2 = await asyncErrorOf(() => nan.obs.gti());
    expect(err2.column).toBe('START');
    expect(err2.detail).toBe('row 1 (1-based): START NaN, STOP 200: not a finite interval');
    // An interval of zero length is no error: it adds no ontime.
    const empty = await gtiStore('zero-gti', [100, 300], [200, 300]);
    expect((await empty.obs.gti()).ontime).toBe(100);
  });

  // Found by breaking a run's GTI: two rows sharing time counted it twice into the livetime and the exposure, silently
  // (gammapy sums them as written).
  it('refuses GTI rows that overlap, naming both rows and the time counted twice; rows out of order are read', async () => {
    const overlap = await gtiStore('overlap-gti', [1000, 100, 150], [1100, 200, 300]);
    const err = await asyncErrorOf(() => overlap.obs.livetime());
    expect([err.reason, err.file, err.hdu, err.column]).toEqual([
      'bad-value',
      `${overlap.store}/./gti.fits`,
      'GTI',
      'START',
    ]);
    expect(err.detail).toBe(
      'rows 2 and 3 (1-based) overlap: START 100, STOP 200 and START 150, STOP 300 share 50 s, which the livetime would count twice (gammapy 1.0 sums the rows as written)',
    );
    // One row inside another, listed first.
    const inside = await gtiStore('inside-gti', [120, 100], [130, 200]);
    expect((await asyncErrorOf(() => inside.obs.gti())).detail).toMatch(
      /^rows 1 and 2 \(1-based\) overlap: .* share 10 s/,
    );
    // Out of order, or one ending where the next starts: no time is counted twice.
    const unordered = await gtiStore('unordered-gti', [300, 100, 200], [400, 200, 250]);
    expect((await unordered.obs.gti()).ontime).toBe(250);
  });

  it('refuses a GTI column holding several values per row (a 2D START read as rows doubled the livetime)', async () => {
    const { store } = await gtiStore('vector-gti', [100], [200]);
    writeFits(join(store, 'gti.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'GTI',
        rows: 1,
        columns: [
          { name: 'START', data: Float64Array.of(100, 100), repeat: 2, unit: 's' },
          { name: 'STOP', data: Float64Array.of(200, 200), repeat: 2, unit: 's' },
        ],
      },
    ]);
    const err = await asyncErrorOf(async () => (await openDataStore(store)).observation(23523).livetime());
    expect([err.hdu, err.column, err.detail]).toEqual([
      'GTI',
      'START',
      "column holds 2 values per row (TFORM '2D'), where one is expected",
    ]);
  });

  // Found by a cross-check on LST-1-like runs of several GTI rows: gammapy 1.0's select_time tests obs_time against
  // the first GTI row only (Observation.tstop) and drops the run; pipe keeps its rows inside the interval, and says so.
  it('flags a time cut that misses the first of several GTI rows (gammapy 1.0 drops that run), not one that meets it', async () => {
    const { store } = await gtiStore('gti-rows', [0, 1000, 2000], [900, 1900, 2900]);
    writeFits(join(store, 'gti.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'GTI',
        columns: [
          { name: 'START', data: Float64Array.of(0, 1000, 2000), unit: 's' },
          { name: 'STOP', data: Float64Array.of(900, 1900, 2900), unit: 's' },
        ],
        cards: [
          { key: 'MJDREFI', value: 51910 },
          { key: 'MJDREFF', value: 0 },
          { key: 'TIMESYS', value: 'TT' },
        ],
      },
    ]);
    const run = (await openDataStore(store)).observation(23523);
    const cut = (fromS: number, toS: number) =>
      new Observation(run.obsId, run.locations, run.obsIndexRow, {
        start: 51910 + fromS / 86400,
        stop: 51910 + toS / 86400,
      }).gti();
    const missed = await cut(1500, 2500);
    expect(missed.ontime).toBeCloseTo(900, 5);
    expect(missed.firstRowOutsideCut).toBe(true);
    const met = await cut(500, 1500);
    expect(met.ontime).toBeCloseTo(900, 5);
    expect(met.firstRowOutsideCut).toBeUndefined();
    expect(met.spanOutsideCut).toBeUndefined();
    // A cut between two rows holds none: the run's span is kept to say so (gammapy 1.0 leaves such a run out).
    const gap = await cut(950, 990);
    expect(gap.ontime).toBe(0);
    expect(gap.spanOutsideCut?.start).toBeCloseTo(51910, 12);
    expect(gap.spanOutsideCut?.stop).toBeCloseTo(51910 + 2900 / 86400, 12);
  });

  it('reads GTI START/STOP by their TUNIT (ms: the ontime in seconds, as gammapy); a non-time unit is refused', async () => {
    const ms = await gtiStore('gti-ms', [100_000, 300_000], [200_000, 350_000], 'ms');
    expect((await ms.obs.gti()).ontime).toBe(150);
    const metres = await gtiStore('gti-m', [100], [200], 'm');
    const err = await asyncErrorOf(() => metres.obs.gti());
    expect(err.reason).toBe('unknown-unit');
    expect(err.hdu).toBe('GTI');
    expect(err.column).toBe('START');
  });
});

describe('dead time', () => {
  it('refuses a run without DEADC (gammapy: KeyError), naming the EVENTS HDU and what LIVETIME/ONTIME gives', async () => {
    const store = join(dir, 'no-deadc');
    mkdirSync(store);
    writeFits(join(store, 'run.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'EVENTS',
        cards: [
          { key: 'ONTIME', value: 100 },
          { key: 'LIVETIME', value: 90 },
        ],
        columns: [
          { name: 'TIME', data: Float64Array.of(10), unit: 's' },
          { name: 'RA', data: Float32Array.of(83.6), unit: 'deg' },
          { name: 'DEC', data: Float32Array.of(22), unit: 'deg' },
          { name: 'ENERGY', data: Float32Array.of(1), unit: 'TeV' },
        ],
      },
      {
        kind: 'bintable',
        name: 'GTI',
        columns: [
          { name: 'START', data: Float64Array.of(0), unit: 's' },
          { name: 'STOP', data: Float64Array.of(100), unit: 's' },
        ],
      },
    ]);
    writeFits(join(store, 'obs-index.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'OBS_INDEX',
        columns: [
          { name: 'OBS_ID', data: BigInt64Array.of(1n) },
          { name: 'RA_PNT', data: Float32Array.of(83.6), unit: 'deg' },
          { name: 'DEC_PNT', data: Float32Array.of(22.5), unit: 'deg' },
        ],
      },
    ]);
    writeHduIndex(store, [
      [1, 'events', '.', 'run.fits', 'EVENTS'],
      [1, 'gti', '.', 'run.fits', 'GTI'],
    ]);
    const obs = (await openDataStore(store)).observation(1);
    const err = await asyncErrorOf(() => obs.livetime());
    expect(err.hdu).toBe('EVENTS');
    expect(err.file).toBe(`${store}/./run.fits`);
    expect(err.detail).toBe(
      'OBS_ID 1: no DEADC (dead-time correction) in the EVENTS header nor the obs index, needed for the livetime (its LIVETIME/ONTIME is 0.900000: add DEADC = that to the EVENTS header or the obs index)',
    );
  });
});

describe('pointing', () => {
  async function run(name: string, ra: string, dec = '22.01') {
    const store = join(dir, name);
    mkdirSync(store);
    writeFits(join(store, 'run.fits'), [
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'EVENTS',
        cards: [
          { key: 'DEADC', value: 0.9 },
          { key: 'RA_PNT', value: ra },
          { key: 'DEC_PNT', value: dec },
        ],
        columns: [
          { name: 'TIME', data: Float64Array.of(10), unit: 's' },
          { name: 'RA', data: Float32Array.of(83.6), unit: 'deg' },
          { name: 'DEC', data: Float32Array.of(22), unit: 'deg' },
          { name: 'ENERGY', data: Float32Array.of(1), unit: 'TeV' },
        ],
      },
      {
        kind: 'bintable',
        name: 'GTI',
        columns: [
          { name: 'START', data: Float64Array.of(0), unit: 's' },
          { name: 'STOP', data: Float64Array.of(100), unit: 's' },
        ],
      },
    ]);
    writeFits(join(store, 'obs-index.fits'), [
      emptyPrimary(),
      { kind: 'bintable', name: 'OBS_INDEX', columns: [{ name: 'OBS_ID', data: BigInt64Array.of(1n) }] },
    ]);
    writeHduIndex(store, [
      [1, 'events', '.', 'run.fits', 'EVENTS'],
      [1, 'gti', '.', 'run.fits', 'GTI'],
    ]);
    return loadObservationData((await openDataStore(store)).observation(1), []);
  }

  it("reads RA_PNT/DEC_PNT written as strings ('83.63'), as gammapy's Angle(value, unit='deg') does", async () => {
    expect(await run('pnt-string', '83.63')).toMatchObject({ pointing: { ra: 83.63, dec: 22.01 } });
  });

  // Found by fuzzing: the run failed as if its cutout missed the map, blaming datasets.geom.selection.offset_max.
  it('refuses a DEC_PNT beyond ±90°, naming the run and the file', async () => {
    const got = await run('pnt-dec', '83.63', '95');
    expect(got).toEqual({
      reason: 'pointing-invalid',
      message: `OBS_ID 1: DEC_PNT 95 deg in the EVENTS header (${join(dir, 'pnt-dec')}/./run.fits) is outside [-90, 90] deg`,
    });
  });

  it('refuses an obs-index pointing the cone cannot place (NaN, or DEC_PNT beyond ±90°), naming the run', async () => {
    for (const [name, dec] of [
      ['cone-nan', Number.NaN],
      ['cone-dec', 95],
    ] as const) {
      const store = join(dir, name);
      mkdirSync(store);
      writeFits(join(store, 'obs-index.fits'), [
        emptyPrimary(),
        {
          kind: 'bintable',
          name: 'OBS_INDEX',
          columns: [
            { name: 'OBS_ID', data: BigInt64Array.of(1n, 2n) },
            { name: 'RA_PNT', data: Float32Array.of(83.6, 83.6), unit: 'deg' },
            { name: 'DEC_PNT', data: Float32Array.of(22, dec), unit: 'deg' },
          ],
        },
      ]);
      writeHduIndex(store, [[1, 'events', '.', 'run.fits', 'EVENTS']]);
      const index = (await openDataStore(store)).obsIndex;
      const err = errorOf(() =>
        selectObservations(index, [{ type: 'cone', frame: 'icrs', lon: 83.6, lat: 22, radius: 5 }]),
      );
      expect(err.file).toBe(join(store, 'obs-index.fits'));
      expect(err.column).toBe('DEC_PNT');
      expect(err.detail).toBe(
        Number.isNaN(dec)
          ? 'OBS_ID 2: DEC_PNT NaN deg is not a finite angle'
          : 'OBS_ID 2: DEC_PNT 95 deg is outside [-90, 90] deg',
      );
    }
  });

  it('names a pointing keyword that holds no angle, instead of calling it missing', async () => {
    const got = await run('pnt-bad', 'unknown');
    expect(got).toMatchObject({ reason: 'pointing-missing' });
    expect((got as { message: string }).message).toBe(
      `OBS_ID 1: RA_PNT is "unknown" in the EVENTS header (${join(dir, 'pnt-bad')}/./run.fits), not an angle in degrees`,
    );
  });
});

/** A store with one run (23523) whose EVENTS HDU has these columns. */
async function eventsStore(name: string, columns: TableColumnSpec[]) {
  const store = join(dir, name);
  mkdirSync(store);
  copyFileSync(join(HESS, 'obs-index.fits.gz'), join(store, 'obs-index.fits.gz'));
  writeFits(join(store, 'events.fits'), [emptyPrimary(), { kind: 'bintable', name: 'EVENTS', columns }]);
  writeHduIndex(store, [[23523, 'events', '.', 'events.fits', 'EVENTS']]);
  return { store, obs: (await openDataStore(store)).observation(23523) };
}

describe('events', () => {
  // Found by an adversarial review: a '2E' ENERGY read its 2 × rows values as rows (counts 787 → 864, exit 0), a
  // '2D' GTI doubled the livetime, and a '2E' DEC was blamed on RA at a row past the table's end.
  it('refuses a column holding several values per row where one is expected, naming file, HDU and column', async () => {
    for (const column of ['ENERGY', 'DEC'] as const) {
      const spec = (name: string, values: number[]) =>
        name === column
          ? {
              name,
              data: Float32Array.from([...values, ...values]),
              repeat: 2,
              unit: name === 'ENERGY' ? 'TeV' : 'deg',
            }
          : { name, data: Float32Array.from(values), unit: name === 'ENERGY' ? 'TeV' : 'deg' };
      const { store, obs } = await eventsStore(`vector-${column}`, [
        { name: 'TIME', data: Float64Array.of(1, 2), unit: 's' },
        spec('RA', [10, 11]),
        spec('DEC', [20, 21]),
        spec('ENERGY', [1, 2]),
      ]);
      const err = await asyncErrorOf(() => obs.events());
      expect([err.file, err.hdu, err.column, err.detail]).toEqual([
        `${store}/./events.fits`,
        'EVENTS',
        column,
        "column holds 2 values per row (TFORM '2E'), where one is expected",
      ]);
    }
  });

  it('refuses a NaN RA or DEC, naming the column and row', async () => {
    for (const column of ['RA', 'DEC'] as const) {
      const pos = (c: string) => Float32Array.of(10, c === column ? Number.NaN : 20);
      const { obs } = await eventsStore(`nan-${column}`, [
        { name: 'TIME', data: Float64Array.of(1, 2), unit: 's' },
        { name: 'RA', data: pos('RA'), unit: 'deg' },
        { name: 'DEC', data: pos('DEC'), unit: 'deg' },
        { name: 'ENERGY', data: Float32Array.of(1, 2), unit: 'TeV' },
      ]);
      const err = await asyncErrorOf(() => obs.events());
      expect(err.column).toBe(column);
      expect(err.detail).toBe(
        column === 'RA'
          ? 'row 2 (1-based): RA NaN deg is not a finite angle'
          : 'row 2 (1-based): DEC NaN deg is not a number',
      );
    }
  });

  it('reads EVENTS without TIME (a 3D map needs no event time, as gammapy); a run cut in time names the column', async () => {
    const { obs } = await eventsStore('no-time', [
      { name: 'RA', data: Float32Array.of(83, 84), unit: 'deg' },
      { name: 'DEC', data: Float32Array.of(22, 23), unit: 'deg' },
      { name: 'ENERGY', data: Float32Array.of(1, 2), unit: 'TeV' },
    ]);
    const events = await obs.events();
    expect([events.rows, events.time, Array.from(events.dec)]).toEqual([2, undefined, [22, 23]]);
    const cut = new Observation(obs.obsId, obs.locations, obs.obsIndexRow, { start: 53343.9, stop: 53344 });
    const err = await asyncErrorOf(() => cut.events());
    expect([err.hdu, err.column]).toEqual(['EVENTS', 'TIME']);
    expect(err.detail).toMatch(/^no such column; columns: RA, DEC, ENERGY/);
  });

  it('refuses an event energy that is not positive and finite, naming the row', async () => {
    for (const [name, bad] of [
      ['energy-neg', -1.5],
      ['energy-nan', Number.NaN],
    ] as const) {
      const { store, obs } = await eventsStore(name, [
        { name: 'TIME', data: Float64Array.of(1, 2), unit: 's' },
        { name: 'RA', data: Float32Array.of(83, 83), unit: 'deg' },
        { name: 'DEC', data: Float32Array.of(22, 22), unit: 'deg' },
        { name: 'ENERGY', data: Float32Array.of(1, bad), unit: 'TeV' },
      ]);
      const err = await asyncErrorOf(() => obs.events());
      expect(err.reason).toBe('bad-value');
      expect(err.file).toBe(`${store}/./events.fits`);
      expect(err.column).toBe('ENERGY');
      expect(err.detail).toBe(`row 2 (1-based): ENERGY ${bad} is not a positive finite energy`);
    }
  });

  it('refuses an ENERGY column without a unit (TeV or GeV?), as gammapy does, and reads GeV by its TUNIT', async () => {
    const cols = (unit: string | undefined): TableColumnSpec[] => [
      { name: 'TIME', data: Float64Array.of(1), unit: 's' },
      { name: 'RA', data: Float32Array.of(83), unit: 'deg' },
      { name: 'DEC', data: Float32Array.of(22), unit: 'deg' },
      { name: 'ENERGY', data: Float32Array.of(1500), ...(unit ? { unit } : {}) },
    ];
    const none = await eventsStore('energy-nounit', cols(undefined));
    const err = await asyncErrorOf(() => none.obs.events());
    expect(err.reason).toBe('unknown-unit');
    expect(err.file).toBe(`${none.store}/./events.fits`);
    expect(err.hdu).toBe('EVENTS');
    expect(err.column).toBe('ENERGY');
    expect(err.detail).toContain('ENERGY has no unit (no TUNIT)');
    const gev = await eventsStore('energy-gev', cols('GeV'));
    // astropy converts the float32 column in float32: 1500 GeV is 1.5000001 TeV there, and so here
    expect((await gev.obs.events()).energy[0]).toBe(Math.fround(1.5000001));
  });

  it('converts a float32 ENERGY column in float32, as astropy does for gammapy (its bin at an edge)', async () => {
    // astropy: (np.float32([999.99994, 3162.2776]) * u.GeV).to_value('TeV') == float32 [1.0, 3.1622777]
    const gev = await eventsStore('energy-gev-f32', [
      { name: 'TIME', data: Float64Array.of(1, 2), unit: 's' },
      { name: 'RA', data: Float32Array.of(83, 83), unit: 'deg' },
      { name: 'DEC', data: Float32Array.of(22, 22), unit: 'deg' },
      { name: 'ENERGY', data: Float32Array.of(999.99994, 3162.2776), unit: 'GeV' },
    ]);
    const energy = (await gev.obs.events()).energy;
    expect(energy[0]).toBe(1); // float64 would give 0.99999994, below a 1 TeV edge
    expect(energy[1]).toBe(Math.fround(3.1622777));
    const f64 = await eventsStore('energy-gev-f64', [
      { name: 'TIME', data: Float64Array.of(1), unit: 's' },
      { name: 'RA', data: Float32Array.of(83), unit: 'deg' },
      { name: 'DEC', data: Float32Array.of(22), unit: 'deg' },
      { name: 'ENERGY', data: Float64Array.of(999.99994), unit: 'GeV' },
    ]);
    expect((await f64.obs.events()).energy[0]).toBe(999.99994 * 0.001);
  });

  it('reads RA and DEC by their unit, and refuses a unit that is no angle', async () => {
    const cols = (raUnit: string, ra: number, dec: number): TableColumnSpec[] => [
      { name: 'TIME', data: Float64Array.of(1), unit: 's' },
      { name: 'RA', data: Float64Array.of(ra), unit: raUnit },
      { name: 'DEC', data: Float64Array.of(dec), unit: raUnit },
      { name: 'ENERGY', data: Float32Array.of(1), unit: 'TeV' },
    ];
    const rad = await eventsStore('radec-rad', cols('rad', Math.PI / 2, Math.PI / 4));
    const ev = await rad.obs.events();
    expect(ev.ra[0]).toBeCloseTo(90, 12);
    expect(ev.dec[0]).toBeCloseTo(45, 12);
    const bad = await eventsStore('radec-tev', cols('TeV', 83, 22));
    const err = await asyncErrorOf(() => bad.obs.events());
    expect(err.reason).toBe('unknown-unit');
    expect(err.file).toBe(`${bad.store}/./events.fits`);
    expect(err.hdu).toBe('EVENTS');
    expect(err.column).toBe('RA');
    expect(err.detail).toBe("unit 'TeV' cannot be converted to deg");
  });

  it('refuses a declination beyond ±90°, naming the file, HDU, column and row', async () => {
    const { store, obs } = await eventsStore('dec-big', [
      { name: 'TIME', data: Float64Array.of(1, 2, 3), unit: 's' },
      { name: 'RA', data: Float32Array.of(83, 83, 83), unit: 'deg' },
      { name: 'DEC', data: Float32Array.of(22, 22, 200), unit: 'deg' },
      { name: 'ENERGY', data: Float32Array.of(1, 2, 3), unit: 'TeV' },
    ]);
    const err = await asyncErrorOf(() => obs.events());
    expect(err.reason).toBe('bad-value');
    expect(err.file).toBe(`${store}/./events.fits`);
    expect(err.hdu).toBe('EVENTS');
    expect(err.column).toBe('DEC');
    expect(err.detail).toBe('row 3 (1-based): DEC 200 deg is outside [-90, 90] deg');
  });
});

describe('FITS headers without END', () => {
  const bytes = () =>
    encodeFits([
      emptyPrimary(),
      { kind: 'bintable', name: 'EVENTS', columns: [{ name: 'ENERGY', data: new Float64Array(4) }] },
    ]);
  /** Blanks the END card of the header that starts at `offset`. */
  function dropEnd(b: Uint8Array, offset: number): Uint8Array {
    for (let p = offset; ; p += 80) {
      if (new TextDecoder().decode(b.subarray(p, p + 8)) === 'END     ') {
        b.fill(0x20, p, p + 80);
        return b;
      }
    }
  }

  it('a primary header running into the next HDU names HDU 0 and the XTENSION card', () => {
    const err = errorOf(() => parseFits(dropEnd(bytes(), 0), 'x.fits'));
    expect(err.reason).toBe('missing-end');
    expect(err.message).toMatch(
      /^x\.fits\[HDU 0\]: header has no END card: the XTENSION card of the next HDU follows at byte 2880$/,
    );
  });

  it('a table header running into its data names that HDU', () => {
    const err = errorOf(() => parseFits(dropEnd(bytes(), 2880), 'x.fits'));
    expect(err.reason).toBe('missing-end');
    expect(err.message).toMatch(
      /^x\.fits\[HDU 1\]: header has no END card: non-text bytes \(not a header card\) follow at byte 5760$/,
    );
  });
});

/** An AEFF_2D HDU with these energy and offset bin edges ([lo, hi]) and EFFAREA values (energy fastest). */
function aeffFile(
  name: string,
  axes: { energy: [number[], number[]]; theta: [number[], number[]]; values: number[] },
): string {
  const file = join(dir, name);
  const [eLo, eHi] = axes.energy;
  const [tLo, tHi] = axes.theta;
  const col = (n: string, data: number[], unit: string) => ({
    name: n,
    data: Float32Array.from(data),
    repeat: data.length,
    unit,
  });
  writeFits(file, [
    emptyPrimary(),
    {
      kind: 'bintable',
      name: 'AEFF',
      cards: [{ key: 'HDUCLAS4', value: 'AEFF_2D' }],
      columns: [
        col('ENERG_LO', eLo, 'TeV'),
        col('ENERG_HI', eHi, 'TeV'),
        col('THETA_LO', tLo, 'deg'),
        col('THETA_HI', tHi, 'deg'),
        {
          name: 'EFFAREA',
          data: Float32Array.from(axes.values),
          tdim: [eLo.length, tLo.length],
          unit: 'm2',
        },
      ],
    },
  ]);
  return file;
}

describe('IRF data', () => {
  it('refuses an IRF axis that is not strictly increasing, naming the column and the values', async () => {
    const file = aeffFile('aeff-axis.fits', {
      energy: [
        [2, 1],
        [3, 2],
      ],
      theta: [[0], [1]],
      values: [1, 2],
    });
    const err = await asyncErrorOf(() => readIrf(file, 'AEFF'));
    expect(err.reason).toBe('bad-value');
    expect(err.file).toBe(file);
    expect(err.column).toBe('ENERG_LO');
    expect(err.detail).toBe(
      'ENERG_LO/ENERG_HI edges are not strictly increasing: value 0 (0-based) is 2 TeV, value 1 is 1 TeV',
    );
  });

  it('refuses NaN in an AEFF, naming the file, HDU, column and the first bad bin', async () => {
    // FITS order (energy fastest): offset 1, energy 0 is NaN
    const file = aeffFile('aeff-nan.fits', {
      energy: [
        [1, 2],
        [2, 3],
      ],
      theta: [
        [0, 1],
        [1, 2],
      ],
      values: [1, 2, Number.NaN, 4],
    });
    const err = await asyncErrorOf(() => readIrf(file, 'AEFF'));
    expect(err.reason).toBe('bad-value');
    expect(err.file).toBe(file);
    expect(err.hdu).toBe('AEFF');
    expect(err.column).toBe('EFFAREA');
    expect(err.detail).toBe(
      '1 of 4 values are not finite, the first (NaN) at bin [energy_true 0, offset 1] (0-based); IRF data must be finite numbers',
    );
  });
});

describe('analysis config', () => {
  it('refuses a latitude beyond ±90° at its key (map centre and obs_cone)', () => {
    const { issues } = readAnalysisConfig({
      observations: {
        datastore: 'store',
        obs_cone: { frame: 'icrs', lon: '83.633 deg', lat: '122 deg', radius: '5 deg' },
      },
      datasets: {
        type: '3d',
        geom: { wcs: { skydir: { frame: 'icrs', lon: '83.633 deg', lat: '-90.5 deg' } } },
      },
    });
    expect(issues).toContainEqual({
      path: ['observations', 'obs_cone', 'lat'],
      message: 'lat must be within -90 deg and 90 deg, got 122 deg',
    });
    expect(issues).toContainEqual({
      path: ['datasets', 'geom', 'wcs', 'skydir', 'lat'],
      message: 'lat must be within -90 deg and 90 deg, got -90.5 deg',
    });
  });
});

describe('FITS layout', () => {
  it('an invalid NAXISn value is shown', () => {
    const b = encodeFits([
      emptyPrimary(),
      { kind: 'bintable', name: 'EVENTS', columns: [{ name: 'ENERGY', data: Float64Array.of(1, 2) }] },
    ]);
    const text = new TextDecoder('latin1').decode(b.subarray(2880, 5760));
    const at = 2880 + text.indexOf('NAXIS2  =');
    b.set(new TextEncoder().encode('NAXIS2  =                   -2'), at);
    const err = errorOf(() => parseFits(b, 'x.fits'));
    expect(err.message).toBe("x.fits[HDU 'EVENTS']: NAXIS2 = -2 is not a non-negative integer");
  });

  it('a table whose NAXIS1 disagrees with its TFORMs is reported at that table, not at the HDU after it', () => {
    const b = encodeFits([
      emptyPrimary(),
      {
        kind: 'bintable',
        name: 'EVENTS',
        columns: [{ name: 'ENERGY', data: new Float64Array(400).fill(1) }],
      },
      { kind: 'bintable', name: 'GTI', columns: [{ name: 'START', data: Float64Array.of(0) }] },
    ]);
    const text = new TextDecoder('latin1').decode(b.subarray(2880, 5760));
    const at = 2880 + text.indexOf('NAXIS1  =');
    b.set(new TextEncoder().encode('NAXIS1  =                    7'), at); // 8-byte rows declared as 7
    const err = errorOf(() => parseFits(b, 'x.fits'));
    expect(err.hdu).toBe('EVENTS');
    expect(err.message).toBe("x.fits[HDU 'EVENTS']: column widths add up to 8 bytes but NAXIS1 is 7");
  });
});

/**
 * DL3 time references in TT, TAI, UTC or TDB (LST-1 and MAGIC: UTC from MJD 40587), taken to TT as astropy takes them for
 * gammapy. Expected values from astropy 5 (Debian), e.g. (Time(40587, format='mjd', scale='utc').tt - …).sec.
 */
import { describe, expect, it } from 'vitest';
import { parseTime } from '../src/config/quantity.js';
import { metOf, runTimeSpan, selectObservations } from '../src/dl3/index.js';
import type { ObsIndex } from '../src/dl3/index-tables.js';
import { tdbMinusTt, utcToTt } from '../src/dl3/time-scales.js';
import { FitsHeader } from '../src/fits/index.js';

const header = (timesys: string, mjdrefi: number, mjdreff = 0) =>
  new FitsHeader([
    { key: 'MJDREFI', value: mjdrefi },
    { key: 'MJDREFF', value: mjdreff },
    { key: 'TIMESYS', value: timesys },
  ]);

describe('TT − UTC', () => {
  it('follows erfa: the pre-1972 drift (1970: 40.184082 s) and every leap second', () => {
    const astropy: Array<[number, number]> = [
      [37000.25, 33.213342],
      [39000.75, 36.234846],
      [40587, 40.184082],
      [40587.3, 40.1848596],
      [44239.5, 51.184],
      [53343.9, 64.184],
      [57754.5, 69.184],
    ];
    for (const [mjd, seconds] of astropy) expect((utcToTt(mjd) - mjd) * 86400).toBeCloseTo(seconds, 5);
  });

  it('config times before 1996 get their leap seconds too (1995: 29 s, was 0)', () => {
    const t = parseTime('1995-06-01T00:00:00');
    expect(t.ok && t.value).toBeCloseTo(49869.000708148145, 9);
  });
});

describe('a UTC time reference (LST-1, MAGIC)', () => {
  const at = { file: 'events.fits', hdu: 'EVENTS' };
  // run 23523 of H.E.S.S. DR1 written as LST-1 writes times: seconds after 1970-01-01 UTC
  const shift = 978307223.9999179; // TT seconds from MJD 40587 UTC to DR1's MJDREF 51910.000742870370370241 TT
  const tstart = 1102198049.999918; // DR1's 123890826 + shift, as the obs index stores it
  const tstop = 1102199736.999918;

  it('refuses a TIMESYS that is not a string, as the obs index does (it was taken as TT)', () => {
    const numeric = new FitsHeader([
      { key: 'MJDREFI', value: 51910 },
      { key: 'TIMESYS', value: 1 },
    ]);
    expect(() => metOf(53343.925, numeric, at)).toThrow("TIMESYS is '1'");
  });

  it('gives the same seconds as the TT reference of the same instant', () => {
    const mjd = 53343.925;
    expect(metOf(mjd, header('UTC', 40587), at) - shift).toBeCloseTo(
      metOf(mjd, header('TT', 51910, 0.000742870370370241), at),
      4,
    );
    expect(metOf(mjd, header('TAI', 51910), at) - metOf(mjd, header('TT', 51910), at)).toBeCloseTo(
      -32.184,
      6,
    );
  });

  it('selects and cuts runs in time as gammapy does (taken as TT, a run moved 40 s early)', () => {
    const index: ObsIndex = {
      file: 'obs-index.fits.gz',
      header: { MJDREFI: 40587, MJDREFF: 0, TIMESYS: 'UTC' },
      obsIds: [23523],
      rows: [{ OBS_ID: 23523, TSTART: tstart, TSTOP: tstop }],
      columns: ['OBS_ID', 'TSTART', 'TSTOP'],
    };
    const span = runTimeSpan(index, 23523);
    // gammapy's ObservationTable.time_start/stop: 2004-12-04T22:08:10.184 TT to 22:36:17.184 TT
    expect(span.start).toBeCloseTo(53343.92234009259, 9);
    expect(span.stop).toBeCloseTo(53343.94186555556, 9);
    // an interval ending 20 s before the run does not hold it whole (it held it with the reference taken as TT)
    const stop = span.stop - 20 / 86400;
    const whole = selectObservations(index, [{ type: 'time', mjdStart: span.start - 1, mjdStop: stop }]);
    expect(whole.obsIds).toEqual([]);
  });

  it('reads TDB (barycentred files) within 25 µs of astropy, which gammapy uses', () => {
    // (Time(m, format='mjd', scale='tdb') - Time(m, format='mjd', scale='tdb').tt).sec, astropy 5 (erfa's dtdb)
    const astropy: Array<[number, number]> = [
      [51910.0, -7.8580342233181e-5],
      [53343.9, -7.927184924483299e-4],
      [55000.3, 4.689674824476242e-4],
      [58000.7, -1.4553079381585121e-3],
      [60500.1, -9.743962436914444e-5],
    ];
    for (const [mjd, seconds] of astropy) expect(Math.abs(tdbMinusTt(mjd) - seconds)).toBeLessThan(25e-6);
    // A MET in a TDB reference is that much off the TT one: the reference's TDB − TT.
    const d = metOf(53343.9, header('TDB', 51910), at) - metOf(53343.9, header('TT', 51910), at);
    expect(Math.abs(d - -7.8580342233181e-5)).toBeLessThan(25e-6);
  });

  it('refuses a time scale it does not read, naming the header', () => {
    expect(() => metOf(53343.9, header('TCB', 51910), at)).toThrow(
      "events.fits[HDU 'EVENTS']: TIMESYS is 'TCB': pipe reads time references in TT, TAI, UTC or TDB only",
    );
  });

  it('refuses a table without a time reference (taken as MJD 0, a cut dropped every event without a word)', () => {
    const none = new FitsHeader([{ key: 'TIMESYS', value: 'TT' }]);
    expect(() => metOf(53343.9, none, at)).toThrow(
      "events.fits[HDU 'EVENTS']: no time reference (MJDREFI and MJDREFF, or MJDREF)",
    );
    const index: ObsIndex = {
      file: 'obs-index.fits.gz',
      header: {},
      obsIds: [1],
      rows: [{ OBS_ID: 1, TSTART: 0, TSTOP: 10 }],
      columns: ['OBS_ID', 'TSTART', 'TSTOP'],
    };
    expect(() => selectObservations(index, [{ type: 'time', mjdStart: 53000, mjdStop: 54000 }])).toThrow(
      "obs-index.fits.gz[HDU 'OBS_INDEX']: no time reference",
    );
    // MJDREF alone (the FITS time standard's single keyword) is a reference
    const single = new FitsHeader([{ key: 'MJDREF', value: 51910.5 }]);
    expect(metOf(51911.5, single, at)).toBeCloseTo(86400, 6);
    // a quoted number is one, as gammapy's float(meta['MJDREFI']) reads it
    const quoted = new FitsHeader([
      { key: 'MJDREFI', value: '51910' },
      { key: 'MJDREFF', value: '0.5' },
    ]);
    expect(metOf(51911.5, quoted, at)).toBeCloseTo(86400, 6);
  });
});

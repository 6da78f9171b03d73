/** Dataset GTIs: gammapy's GTI.stack onto one reference, then GTI.union (makers/gti.ts). */
import { describe, expect, it } from 'vitest';
import { type GoodTimeIntervals, STACK_REFERENCE, stackGtis, timeReferenceOf } from '../src/makers/gti.js';

const gti = (mjd: number, timesys: string, intervals: Array<[number, number]>): GoodTimeIntervals => ({
  ref: { mjd, timesys },
  start: Float64Array.from(intervals, (i) => i[0]),
  stop: Float64Array.from(intervals, (i) => i[1]),
});

describe('stackGtis', () => {
  it('merges overlapping and touching intervals, and keeps apart ones with a gap (GTI.union, merge_equal)', () => {
    const s = stackGtis(
      [
        gti(55000, 'TT', [
          [10, 20],
          [30, 40],
        ]),
        gti(55000, 'TT', [
          [15, 25],
          [40, 45],
          [46, 50],
        ]),
      ],
      {
        mjd: 55000,
        timesys: 'TT',
      },
    );
    expect(Array.from(s.start)).toEqual([10, 30, 46]);
    expect(Array.from(s.stop)).toEqual([25, 45, 50]);
  });

  it('moves each run onto the stack reference: a day later is 86400 s later', () => {
    const s = stackGtis([gti(55001, 'TT', [[0, 100]]), gti(55000, 'TT', [[0, 100]])], {
      mjd: 55000,
      timesys: 'TT',
    });
    expect(Array.from(s.start)).toEqual([0, 86400]);
    expect(Array.from(s.stop)).toEqual([100, 86500]);
  });

  it('converts a UTC reference (LST-1, MAGIC) to TT: 69.184 s apart in 2021 (37 leap seconds + 32.184)', () => {
    const s = stackGtis([gti(59215, 'UTC', [[0, 10]])], { mjd: 59215, timesys: 'TT' });
    expect(s.start[0]).toBeCloseTo(69.184, 6);
    expect(s.stop[0]).toBeCloseTo(79.184, 6);
  });

  it("uses gammapy's reference for a created dataset, 2000-01-01 UTC in TT", () => {
    expect(STACK_REFERENCE.timesys).toBe('tt');
    expect((STACK_REFERENCE.mjd - 51544) * 86400).toBeCloseTo(64.184, 6);
  });

  it('leaves out a GTI on a scale it cannot convert', () => {
    const s = stackGtis([gti(55000, 'GPS', [[0, 1]]), gti(55000, 'TT', [[5, 6]])], {
      mjd: 55000,
      timesys: 'TT',
    });
    expect(Array.from(s.start)).toEqual([5]);
  });
});

describe('timeReferenceOf', () => {
  it('reads MJDREFI + MJDREFF, else MJDREF, TIMESYS defaulting to TT, and nothing without them', () => {
    expect(timeReferenceOf({ MJDREFI: 51910, MJDREFF: 0.5, TIMESYS: 'UTC' })).toEqual({
      mjd: 51910.5,
      timesys: 'UTC',
    });
    expect(timeReferenceOf({ MJDREF: 40587 })).toEqual({ mjd: 40587, timesys: 'TT' });
    expect(timeReferenceOf({ TIMESYS: 'TT' })).toBeUndefined();
  });
});

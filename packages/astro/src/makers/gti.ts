/**
 * A dataset's good time intervals, as gammapy's MapDataset keeps them (its `gti`): seconds after a reference time,
 * written as the dataset file's GTI table (START, STOP; MJDREFI, MJDREFF, TIMESYS), which gammapy's MapDataset.read
 * reads back (its light curves and `info_dict` ontime need them). A run's are its DL3 GTI rows, cut to
 * observations.obs_time, on the run's own reference; a stack's are every run's on the reference of a dataset gammapy
 * creates (2000-01-01 UTC, kept in TT), merged where they overlap or touch, as MapDataset.stack does (GTI.stack, then
 * GTI.union).
 */
import { mjdInTt, referenceMjdOf, type TimeRefKeywords, utcToTt } from '../dl3/time-scales.js';
import type { FitsHeader } from '../fits/header.js';
import type { HduSpec } from '../fits/write.js';

/** A time reference: MJDREFI + MJDREFF (days) in the scale TIMESYS names ('TT', 'UTC', …). */
export interface TimeReference {
  mjd: number;
  timesys: string;
}

export interface GoodTimeIntervals {
  ref: TimeReference;
  /** Seconds after `ref` (SI seconds whatever the scale, as astropy adds them). */
  start: Float64Array;
  stop: Float64Array;
}

/** gammapy's MapDataset.create(reference_time="2000-01-01"): that UTC midnight, which its GTI keeps in TT. */
export const STACK_REFERENCE: TimeReference = { mjd: utcToTt(51544), timesys: 'tt' };

/** The time reference a header names (MJDREFI + MJDREFF, else MJDREF; TIMESYS default TT), or undefined. */
export function timeReferenceOf(keywords: TimeRefKeywords): TimeReference | undefined {
  const mjd = referenceMjdOf(keywords);
  if (mjd === undefined) return undefined;
  return { mjd, timesys: keywords.TIMESYS === undefined ? 'TT' : String(keywords.TIMESYS).trim() };
}

/**
 * The intervals of several GTIs on one reference, sorted and merged where they overlap or touch (gammapy's
 * GTI.stack of each onto the first, then GTI.union). A GTI on a scale pipe cannot convert is left out.
 */
export function stackGtis(gtis: readonly GoodTimeIntervals[], ref = STACK_REFERENCE): GoodTimeIntervals {
  const to = mjdInTt(ref.mjd, ref.timesys) as number;
  const intervals: Array<[number, number]> = [];
  for (const gti of gtis) {
    const from = mjdInTt(gti.ref.mjd, gti.ref.timesys);
    if (from === undefined) continue;
    const shift = (from - to) * 86400;
    for (let i = 0; i < gti.start.length; i++)
      intervals.push([(gti.start[i] as number) + shift, (gti.stop[i] as number) + shift]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, stop] of intervals) {
    const last = merged.at(-1);
    if (last && !(last[1] < start)) last[1] = Math.max(last[1], stop);
    else merged.push([start, stop]);
  }
  return {
    ref,
    start: Float64Array.from(merged, (m) => m[0]),
    stop: Float64Array.from(merged, (m) => m[1]),
  };
}

/** The GTI table of a dataset file, as gammapy's MapDataset.write writes it. */
export function gtiHdu(gti: GoodTimeIntervals): HduSpec {
  const mjdrefi = Math.floor(gti.ref.mjd);
  return {
    kind: 'bintable',
    name: 'GTI',
    cards: [
      { key: 'MJDREFI', value: mjdrefi },
      { key: 'MJDREFF', value: gti.ref.mjd - mjdrefi },
      { key: 'TIMESYS', value: gti.ref.timesys },
      { key: 'TIMEUNIT', value: 's' },
    ],
    columns: [
      { name: 'START', data: gti.start, unit: 's' },
      { name: 'STOP', data: gti.stop, unit: 's' },
    ],
  };
}

/** The GTI a dataset file's GTI table holds, or why it cannot be read. */
export function gtiOfTable(
  header: FitsHeader,
  column: (name: string) => Float64Array,
): GoodTimeIntervals | string {
  const ref = timeReferenceOf(header.toRecord());
  if (!ref) return 'GTI has no time reference (MJDREFI, MJDREFF)';
  return { ref, start: column('START'), stop: column('STOP') };
}

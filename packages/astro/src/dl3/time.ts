/**
 * gammapy 1.0's time filter of an observation (Observation.select_time → ObservationFilter): the events with
 * start ≤ TIME < stop (EventList.select_time) and the GTI rows that overlap the interval, clipped to it
 * (GTI.select_time). The ontime, livetime, exposure and background of the run follow from the clipped GTI.
 */
import type { FitsHeader, FitsLocation } from '../fits/index.js';
import { mjdRefTt, type TimeRefKeywords } from './time-scales.js';

/** A time interval, MJD (TT): `observations.obs_time` as the config reads it. */
export interface TimeRange {
  start: number;
  stop: number;
}

/**
 * An MJD (TT) as seconds after the reference of a table's header (MJDREFI + MJDREFF, in its TIMESYS), as gammapy's
 * time_relative_to_ref: the reference summed into one float64 MJD first (time_ref_from_dict), then taken to TT.
 */
export function metOf(mjdTt: number, header: FitsHeader, where: FitsLocation): number {
  // The keywords as values, as the obs-index path passes them (a TIMESYS that is no string is refused, not TT).
  const get = (key: keyof TimeRefKeywords) => header.get(key);
  const ref = mjdRefTt(
    { MJDREFI: get('MJDREFI'), MJDREFF: get('MJDREFF'), MJDREF: get('MJDREF'), TIMESYS: get('TIMESYS') },
    where,
  );
  return (mjdTt - ref) * 86400;
}

/** Indices of the times t with start ≤ t < stop (MET, s). */
export function rowsInTime(time: Float64Array, start: number, stop: number): Uint32Array {
  let n = 0;
  for (let i = 0; i < time.length; i++) {
    const t = time[i] as number;
    if (start <= t && t < stop) n++;
  }
  const rows = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < time.length; i++) {
    const t = time[i] as number;
    if (start <= t && t < stop) rows[n++] = i;
  }
  return rows;
}

/** values[rows[i]] for each i. */
export function takeRows(values: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i] as number] as number;
  return out;
}

/** The GTI rows with START < stop and STOP > start, each clipped to [start, stop] (MET, s). */
export function clipGti(
  start: Float64Array,
  stop: Float64Array,
  from: number,
  to: number,
): { start: Float64Array; stop: Float64Array } {
  const keep: number[] = [];
  for (let i = 0; i < start.length; i++)
    if ((start[i] as number) < to && (stop[i] as number) > from) keep.push(i);
  const clip = (v: number) => Math.min(Math.max(v, from), to);
  return {
    start: Float64Array.from(keep, (i) => clip(start[i] as number)),
    stop: Float64Array.from(keep, (i) => clip(stop[i] as number)),
  };
}

/**
 * Observation selection over the observation index (gammapy ObservationTable.select_*): by id, by cone
 * around a sky position, by time range; and the required-HDU check that skips incomplete runs.
 */

import { FitsError } from '../fits/errors.js';
import type { HduIndexRow, ObsIndex } from './index-tables.js';
import { obsNumber } from './index-tables.js';
import { angularSeparation, type SkyFrame, toIcrs } from './sky.js';
import { mjdRefTt } from './time-scales.js';

/** One selection criterion; several are combined with AND, in order. */
export type ObsSelection =
  | { type: 'ids'; obsIds: readonly number[] }
  /** Pointings (RA_PNT, DEC_PNT of the obs index, ICRS) strictly closer than `radius` (deg) to the centre. */
  | { type: 'cone'; frame: SkyFrame; lon: number; lat: number; radius: number }
  /**
   * Runs inside [mjdStart, mjdStop] (MJD, TT): TSTART/TSTOP after MJDREFI+MJDREFF in the index's TIMESYS.
   * With `partialOverlap`, runs that overlap the range at all.
   */
  | { type: 'time'; mjdStart: number; mjdStop: number; partialOverlap?: boolean };

/** Something the selection could not honour, as a value for the caller to log. */
export type SelectionWarning =
  | { reason: 'unknown-obs-id'; obsId: number }
  /** `otherCase`: the run's HDU_TYPEs that name a missing type in other letters ('AEFF'), which gammapy does not match. */
  | { reason: 'missing-hdu'; obsId: number; missing: string[]; otherCase?: string[] };

export interface SelectionResult {
  /** Selected OBS_IDs, in obs-index order (or in the order of an `ids` criterion). */
  obsIds: number[];
  warnings: SelectionWarning[];
}

/** Applies the criteria to the observation index. */
export function selectObservations(index: ObsIndex, criteria: readonly ObsSelection[]): SelectionResult {
  let rows = index.obsIds.map((_, i) => i);
  const warnings: SelectionWarning[] = [];
  for (const c of criteria) {
    if (c.type === 'ids') {
      const byId = new Map(rows.map((r) => [index.obsIds[r] as number, r]));
      const next: number[] = [];
      for (const id of c.obsIds) {
        const r = byId.get(id);
        if (r === undefined) warnings.push({ reason: 'unknown-obs-id', obsId: id });
        else next.push(r);
      }
      rows = next;
    } else if (c.type === 'cone') {
      const [ra0, dec0] = toIcrs(c.frame, c.lon, c.lat);
      rows = rows.filter(
        (r) =>
          angularSeparation(ra0, dec0, pointingOf(index, r, 'RA_PNT'), pointingOf(index, r, 'DEC_PNT')) <
          c.radius,
      );
    } else {
      if (rows.length > 0) requireTimeColumns(index);
      const mjdRef = indexMjdRefTt(index);
      const lo = (c.mjdStart - mjdRef) * 86400;
      const hi = (c.mjdStop - mjdRef) * 86400;
      rows = rows.filter((r) => {
        const start = obsNumber(index, r, 'TSTART');
        const stop = obsNumber(index, r, 'TSTOP');
        // gammapy's Observations.select_time keeps a run when tstart < stop and tstop > start (then cuts it).
        return c.partialOverlap ? start < hi && stop > lo : lo <= start && hi >= stop;
      });
    }
  }
  return { obsIds: rows.map((r) => index.obsIds[r] as number), warnings };
}

/**
 * A pointing angle of the obs index for the cone: NaN or a latitude beyond ±90° is refused, naming the run (gammapy's
 * SkyCoord refuses the latitude; a NaN left the run out of every cone without a word).
 */
function pointingOf(index: ObsIndex, row: number, column: 'RA_PNT' | 'DEC_PNT'): number {
  const v = obsNumber(index, row, column);
  if (Number.isFinite(v) && (column === 'RA_PNT' || Math.abs(v) <= 90)) return v;
  throw new FitsError(
    'bad-value',
    { file: index.file, hdu: 'OBS_INDEX', column },
    `OBS_ID ${index.obsIds[row]}: ${column} ${v} deg is ${Number.isFinite(v) ? 'outside [-90, 90] deg' : 'not a finite angle'}`,
  );
}

/**
 * Keeps the runs that have every HDU type in `required` (e.g. events, gti, aeff, edisp, psf, bkg); the others
 * are dropped with a warning naming the run and the missing types.
 */
export function requireHdus(
  hduIndex: readonly HduIndexRow[],
  obsIds: readonly number[],
  required: readonly string[],
): SelectionResult {
  const types = new Map<number, Set<string>>();
  for (const row of hduIndex) {
    const s = types.get(row.obsId) ?? new Set<string>();
    types.set(row.obsId, s);
    s.add(row.hduType);
  }
  const out: number[] = [];
  const warnings: SelectionWarning[] = [];
  for (const id of obsIds) {
    const have = types.get(id) ?? new Set<string>();
    const missing = required.filter((t) => !have.has(t));
    if (missing.length === 0) {
      out.push(id);
      continue;
    }
    const otherCase = [...have].filter((t) => missing.includes(t.toLowerCase()));
    warnings.push({
      reason: 'missing-hdu',
      obsId: id,
      missing,
      ...(otherCase.length > 0 ? { otherCase } : {}),
    });
  }
  return { obsIds: out, warnings };
}

/** The obs index's time reference as MJD (TT). */
function indexMjdRefTt(index: ObsIndex): number {
  return mjdRefTt(index.header, { file: index.file, hdu: 'OBS_INDEX' });
}

/**
 * gammapy 1.0 places runs in time by their GTIs (the events files); pipe by the obs index, which GADF gives TSTART and
 * TSTOP but some stores leave out: said so, not only "no such column".
 */
function requireTimeColumns(index: ObsIndex): void {
  const upper = new Set(index.columns.map((c) => c.toUpperCase()));
  const lacking = ['TSTART', 'TSTOP'].filter((c) => !upper.has(c));
  if (lacking.length > 0)
    throw new FitsError(
      'missing-column',
      { file: index.file, hdu: 'OBS_INDEX', column: lacking[0] },
      `no such column (columns: ${index.columns.join(', ')}): pipe places the runs in time for observations.obs_time by the obs index's TSTART and TSTOP, where gammapy 1.0 reads each run's GTI from its events file; add ${lacking.join(' and ')} (seconds from MJDREFI/MJDREFF) to the obs index, or select the runs by obs_ids`,
    );
}

/** A run's time span from the obs index (TSTART/TSTOP), in MJD (TT). */
export function runTimeSpan(index: ObsIndex, obsId: number): { start: number; stop: number } {
  requireTimeColumns(index);
  const row = index.obsIds.indexOf(obsId);
  const mjdRef = indexMjdRefTt(index);
  return {
    start: mjdRef + obsNumber(index, row, 'TSTART') / 86400,
    stop: mjdRef + obsNumber(index, row, 'TSTOP') / 86400,
  };
}

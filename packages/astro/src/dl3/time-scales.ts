/**
 * Time scales of DL3 time references, as astropy converts them for gammapy (time_ref_from_dict: MJDREFI + MJDREFF
 * in the header's TIMESYS, default TT). H.E.S.S. writes TT; LST-1 and MAGIC write UTC with MJDREF 40587 (1970),
 * 69 s or more away from TT: taken as TT, a run's start and stop, its events and GTI move by that much.
 */
// The two modules it needs, not the FITS package's index: the config loader (quantity.ts) imports this file.
import { FitsError, type FitsLocation } from '../fits/errors.js';
import { numericValue } from '../fits/header.js';

const TT_MINUS_TAI = 32.184;

/**
 * TAI − UTC from each date on (erfa's eraDat, which astropy uses): [MJD, seconds, drift MJD, drift s/day]. Before
 * 1972 UTC ran at its own rate: TAI − UTC = seconds + (MJD − drift MJD) × drift.
 */
const TAI_MINUS_UTC: ReadonlyArray<readonly [number, number, number, number]> = [
  [36934, 1.417818, 37300, 0.001296],
  [37300, 1.422818, 37300, 0.001296],
  [37512, 1.372818, 37300, 0.001296],
  [37665, 1.845858, 37665, 0.0011232],
  [38334, 1.945858, 37665, 0.0011232],
  [38395, 3.24013, 38761, 0.001296],
  [38486, 3.34013, 38761, 0.001296],
  [38639, 3.44013, 38761, 0.001296],
  [38761, 3.54013, 38761, 0.001296],
  [38820, 3.64013, 38761, 0.001296],
  [38942, 3.74013, 38761, 0.001296],
  [39004, 3.84013, 38761, 0.001296],
  [39126, 4.31317, 39126, 0.002592],
  [39887, 4.21317, 39126, 0.002592],
  ...(
    [
      [41317, 10],
      [41499, 11],
      [41683, 12],
      [42048, 13],
      [42413, 14],
      [42778, 15],
      [43144, 16],
      [43509, 17],
      [43874, 18],
      [44239, 19],
      [44786, 20],
      [45151, 21],
      [45516, 22],
      [46247, 23],
      [47161, 24],
      [47892, 25],
      [48257, 26],
      [48804, 27],
      [49169, 28],
      [49534, 29],
      [50083, 30],
      [50630, 31],
      [51179, 32],
      [53736, 33],
      [54832, 34],
      [56109, 35],
      [57204, 36],
      [57754, 37],
    ] as const
  ).map(([mjd, s]) => [mjd, s, 0, 0] as const),
];

/** TAI − UTC in seconds at a UTC date (MJD); 0 before 1960, as erfa (which warns of a dubious year). */
export function taiMinusUtc(mjdUtc: number): number {
  let out = 0;
  for (const [from, seconds, driftFrom, drift] of TAI_MINUS_UTC)
    if (mjdUtc >= from) out = seconds + (mjdUtc - driftFrom) * drift;
  return out;
}

/** UTC (MJD) → TT (MJD), as astropy's Time(mjd, scale='utc').tt. */
export function utcToTt(mjdUtc: number): number {
  return mjdUtc + (taiMinusUtc(mjdUtc) + TT_MINUS_TAI) / 86400;
}

/** TT (MJD) → UTC (MJD): the inverse of {@link utcToTt}, the leap seconds looked up at the UTC date itself. */
export function ttToUtc(mjdTt: number): number {
  const first = mjdTt - (taiMinusUtc(mjdTt) + TT_MINUS_TAI) / 86400;
  return mjdTt - (taiMinusUtc(first) + TT_MINUS_TAI) / 86400;
}

/**
 * TDB − TT in seconds at a date (MJD): the two-term series of the Explanatory Supplement, within 25 µs of erfa's
 * full one (astropy's Time(…, scale='tdb').tt), far below a DL3 time's use (run selection, GTI cuts).
 */
export function tdbMinusTt(mjd: number): number {
  const g = ((357.53 + 0.98560028 * (mjd - 51544.5)) * Math.PI) / 180;
  return 0.001657 * Math.sin(g) + 0.000014 * Math.sin(2 * g);
}

/** A header's time reference keywords, as values. */
export interface TimeRefKeywords {
  MJDREFI?: unknown;
  MJDREFF?: unknown;
  /** The reference as one number (FITS time standard), when MJDREFI/MJDREFF are absent. */
  MJDREF?: unknown;
  TIMESYS?: unknown;
}

/**
 * The reference time of a DL3 table (MJDREFI + MJDREFF in its TIMESYS) as MJD (TT). Seconds after it are SI
 * seconds whatever the scale (astropy adds a TimeDelta to a UTC time in TAI), so a MET t is MJD (TT) ref + t/86400.
 * TIMESYS TT (the default), TAI, UTC and TDB (barycentred files) are read; another scale is refused, naming the
 * header.
 */
export function mjdRefTt(keywords: TimeRefKeywords, where: FitsLocation): number {
  const mjd = referenceMjd(keywords, where);
  const timesys = keywords.TIMESYS ?? 'TT';
  const tt = mjdInTt(mjd, timesys);
  if (tt === undefined)
    throw new FitsError(
      'bad-value',
      where,
      `TIMESYS is '${String(timesys).trim().toUpperCase()}': pipe reads time references in TT, TAI, UTC or TDB only`,
    );
  return tt;
}

/** An MJD in time scale `timesys` (TT, TAI, UTC or TDB; any case) as MJD (TT), or undefined for another scale. */
export function mjdInTt(mjd: number, timesys: unknown): number | undefined {
  switch (String(timesys).trim().toUpperCase()) {
    case 'TT':
      return mjd;
    case 'TAI':
      return mjd + TT_MINUS_TAI / 86400;
    case 'UTC':
      return utcToTt(mjd);
    case 'TDB':
      return mjd - tdbMinusTt(mjd) / 86400;
    default:
      return undefined;
  }
}

/**
 * MJDREFI + MJDREFF (MJDREFF 0 when absent), else MJDREF. Without any, the times have no reference: taken as MJD 0
 * they matched no obs_time (a run's 1.2e8 s are 1862), so the selection kept nothing or a cut dropped every event
 * without a word. gammapy 1.0 fails there too (KeyError 'MJDREFI').
 */
function referenceMjd(keywords: TimeRefKeywords, where: FitsLocation): number {
  const mjd = referenceMjdOf(keywords);
  if (mjd === undefined)
    throw new FitsError(
      'bad-header',
      where,
      `no time reference (MJDREFI and MJDREFF, or MJDREF): the TSTART, TSTOP, TIME, START and STOP seconds cannot be placed in time for observations.obs_time`,
    );
  return mjd;
}

/** MJDREFI + MJDREFF (MJDREFF 0 when absent), else MJDREF, in the header's own scale; undefined without any. */
export function referenceMjdOf(keywords: TimeRefKeywords): number | undefined {
  // gammapy takes float(meta[key]): a quoted number ('51910') is one too
  const i = numericValue(keywords.MJDREFI);
  const mjd = i !== undefined ? i + (numericValue(keywords.MJDREFF) ?? 0) : numericValue(keywords.MJDREF);
  return mjd !== undefined && Number.isFinite(mjd) ? mjd : undefined;
}

/**
 * What the reduction of one run reads from the data store: pointing, times, events and IRF tables. Built from a
 * dl3 Observation by {@link loadObservationData}; tests and notebooks can build it from anything else.
 */
import type { Observation } from '../dl3/index.js';
import { mjdRefTt, ttToUtc } from '../dl3/time-scales.js';
import { utcToUt1 } from '../dl3/ut1.js';
import { type BinTable, numericValue } from '../fits/index.js';
import { type IrfTable, readIrfHdu } from '../irf/index.js';
import type { Epoch, Site } from '../wcs/index.js';
import { type GoodTimeIntervals, timeReferenceOf } from './gti.js';
import type { EventCoords, Pointing } from './maps.js';

export interface ObservationData {
  obsId: number;
  /** ICRS pointing from the EVENTS header (float64). */
  pointing: Pointing;
  /** Σ GTI, s. */
  ontime: number;
  /** obs_time cuts this run of several GTI rows outside its first row, where gammapy 1.0 drops it (dl3 Gti). */
  firstRowOutsideCut?: boolean;
  /** obs_time holds none of this run's GTI rows: the run's span before the cut, MJD (TT) (dl3 Gti). */
  spanOutsideCut?: { start: number; stop: number };
  /** Dead-time correction (EVENTS header DEADC; 1 when absent). */
  deadc: number;
  /**
   * The GTI rows (cut to obs_time) on the GTI table's time reference (the EVENTS header's when the table has none);
   * absent when neither names one.
   */
  gti?: GoodTimeIntervals;
  events: EventCoords;
  aeff?: IrfTable;
  edisp?: IrfTable;
  psf?: IrfTable;
  bkg?: IrfTable;
  /**
   * The run's mid time and the observatory, for a background aligned with alt/az (read only then), or why they cannot
   * be had (a missing or bad EVENTS keyword).
   */
  horizon?: Horizon;
}

/** An alt/az frame's inputs, or what is missing from the EVENTS header (`where`) to make one. */
export type Horizon =
  | { epoch: Epoch; site: Site }
  | { missing: string; where: { file: string; hdu: string } };

export interface ObservationDataFailure {
  reason: 'pointing-missing' | 'pointing-invalid';
  message: string;
}

/** The IRF HDU types to read; a type the run lacks is left undefined. */
export type IrfType = 'aeff' | 'edisp' | 'psf' | 'bkg';

/** Reads what the reduction needs (FITS problems throw FitsError naming file and HDU). */
export async function loadObservationData(
  obs: Observation,
  irfs: readonly IrfType[] = ['aeff', 'edisp', 'psf', 'bkg'],
): Promise<ObservationData | ObservationDataFailure> {
  const [events, times, meta, gti] = await Promise.all([obs.events(), obs.livetime(), obs.meta(), obs.gti()]);
  const ra = degrees(meta.RA_PNT);
  const dec = degrees(meta.DEC_PNT);
  if (ra === undefined || dec === undefined) {
    const [key, value] = ra === undefined ? ['RA_PNT', meta.RA_PNT] : ['DEC_PNT', meta.DEC_PNT];
    return {
      reason: 'pointing-missing',
      message:
        value === undefined || value === null
          ? `OBS_ID ${obs.obsId}: ${key} missing from the EVENTS header (${obs.location('events').path}) and the obs index`
          : `OBS_ID ${obs.obsId}: ${key} is ${JSON.stringify(value)} in the EVENTS header (${obs.location('events').path}), not an angle in degrees`,
    };
  }
  // astropy's Latitude refuses it (gammapy fails there); read as is, the run's cutout is placed nowhere sensible and
  // the failure blamed datasets.geom.selection.offset_max.
  if (Math.abs(dec) > 90)
    return {
      reason: 'pointing-invalid',
      message: `OBS_ID ${obs.obsId}: DEC_PNT ${dec} deg in the EVENTS header (${obs.location('events').path}) is outside [-90, 90] deg`,
    };
  const data: ObservationData = {
    obsId: obs.obsId,
    pointing: { ra, dec },
    ontime: times.ontime,
    ...(times.firstRowOutsideCut ? { firstRowOutsideCut: true } : {}),
    ...(times.spanOutsideCut ? { spanOutsideCut: times.spanOutsideCut } : {}),
    deadc: times.deadc,
    events: {
      ra: events.ra,
      dec: events.dec,
      energy: events.energy,
      radecFloat32: isFloat32Column(events.table, 'RA') && isFloat32Column(events.table, 'DEC'),
    },
  };
  const ref = timeReferenceOf(gti.header.toRecord()) ?? timeReferenceOf(meta);
  if (ref) data.gti = { ref, start: gti.start, stop: gti.stop };
  for (const type of irfs) {
    if (!obs.locations.has(type)) continue;
    const hdu = await obs.hdu(type);
    data[type] = readIrfHdu(hdu, obs.location(type).hduClass);
  }
  if (data.bkg?.fovAlignment?.toUpperCase() === 'ALTAZ') {
    // gammapy's DataStore.obs() builds the pointing from the EVENTS header alone (obs_info=None): not the obs index.
    const events = await obs.hdu('events');
    data.horizon = horizonOf(events.header.toRecord(), { file: events.location.file, hdu: 'EVENTS' });
  }
  return data;
}

/**
 * gammapy's FixedPointingInfo.altaz_frame: the observatory (GEOLON, GEOLAT in degrees; earth_location_from_dict also
 * requires GEOALT or ALTITUDE, unused here at this accuracy) and the run's mid time, time_ref + (TSTART + TSTOP)/2,
 * with UT1 from the IERS table astropy bundles (dl3/ut1.ts).
 */
function horizonOf(header: Record<string, unknown>, where: { file: string; hdu: string }): Horizon {
  const bad: string[] = [];
  const number = (key: string): number => {
    const v = degrees(header[key]);
    if (v !== undefined) return v;
    bad.push(
      header[key] === undefined
        ? `${key} is missing`
        : `${key} is ${JSON.stringify(header[key])}, not a number`,
    );
    return Number.NaN;
  };
  const [lon, lat, start, stop] = ['GEOLON', 'GEOLAT', 'TSTART', 'TSTOP'].map(number) as [
    number,
    number,
    number,
    number,
  ];
  if (Math.abs(lat) > 90) bad.push(`GEOLAT ${lat} deg is outside [-90, 90]`);
  if (header.GEOALT === undefined && header.ALTITUDE === undefined)
    bad.push('GEOALT or ALTITUDE is missing (gammapy refuses a site without its height)');
  let ref = Number.NaN;
  try {
    ref = mjdRefTt(header, where);
  } catch (e) {
    bad.push((e as Error).message);
  }
  if (bad.length > 0) return { missing: bad.join('; '), where };
  const tt = ref + (start + stop) / 2 / 86400;
  return { epoch: { tt, ut1: utcToUt1(ttToUtc(tt)) }, site: { lon, lat } };
}

/**
 * A pointing keyword in degrees: a number, or a string holding one ('83.63'), which gammapy's Angle(value,
 * unit='deg') reads too (a header writer that quotes numbers made the run fail as if it had no pointing).
 */
function degrees(value: unknown): number | undefined {
  const n = numericValue(value);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

function isFloat32Column(table: BinTable, name: string): boolean {
  const col = table.column(name);
  return col.kind === 'numeric' && col.data instanceof Float32Array;
}

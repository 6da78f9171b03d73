/**
 * What the reduction of one run reads from the data store: pointing, times, events and IRF tables. Built from a
 * dl3 Observation by {@link loadObservationData}; tests and notebooks can build it from anything else.
 */
import type { Observation } from '../dl3/index.js';
import { type BinTable, numericValue } from '../fits/index.js';
import { type IrfTable, readIrfHdu } from '../irf/index.js';
import type { EventCoords, Pointing } from './maps.js';

export interface ObservationData {
  obsId: number;
  /** ICRS pointing from the EVENTS header (float64). */
  pointing: Pointing;
  /** Σ GTI, s. */
  ontime: number;
  /** Dead-time correction (EVENTS header DEADC; 1 when absent). */
  deadc: number;
  events: EventCoords;
  aeff?: IrfTable;
  edisp?: IrfTable;
  psf?: IrfTable;
  bkg?: IrfTable;
}

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
  const [events, times, meta] = await Promise.all([obs.events(), obs.livetime(), obs.meta()]);
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
    deadc: times.deadc,
    events: {
      ra: events.ra,
      dec: events.dec,
      energy: events.energy,
      radecFloat32: isFloat32Column(events.table, 'RA') && isFloat32Column(events.table, 'DEC'),
    },
  };
  for (const type of irfs) {
    if (!obs.locations.has(type)) continue;
    const hdu = await obs.hdu(type);
    data[type] = readIrfHdu(hdu, obs.location(type).hduClass);
  }
  return data;
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

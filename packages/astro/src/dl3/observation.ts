/**
 * One run of a data store: where its HDUs are, its events, GTI, metadata and livetime. Files are read on
 * first use and kept for the life of the object.
 */
import {
  type BinTable,
  type FitsColumn,
  FitsError,
  type FitsFile,
  type FitsHeader,
  type FitsLocation,
  type FitsValue,
  type Hdu,
  readFits,
} from '../fits/index.js';
import { type IrfTable, readIrfHdu } from '../irf/read.js';
import { requireUnitFactor } from '../irf/units.js';
import type { HduIndexRow, ObsValue } from './index-tables.js';
import type { ResolvedPath } from './paths.js';
import { clipGti, metOf, rowsInTime, type TimeRange, takeRows } from './time.js';

/** Where one HDU of a run is. */
export interface HduLocation extends ResolvedPath {
  obsId: number;
  hduType: string;
  hduClass: string;
  hduName: string;
}

/** The EVENTS of a run; the four main columns as float64 in s (MET), deg, deg, TeV. */
export interface EventList {
  obsId: number;
  file: string;
  rows: number;
  /**
   * TIME, when the file has it. A 3D map needs no event time unless the run is cut to a time range (then TIME is
   * required); gammapy reads an EVENTS table without it too.
   */
  time?: Float64Array;
  ra: Float64Array;
  dec: Float64Array;
  energy: Float64Array;
  /** All columns (e.g. DETX, MULTIP where present), every row of the file. */
  table: BinTable;
  /** When the run is cut to a time range: the rows of `table` the list holds (time, ra, … are those rows). */
  selected?: Uint32Array;
  header: FitsHeader;
}

/** Good time intervals, in s (MET, same MJDREF as the events). */
export interface Gti {
  start: Float64Array;
  stop: Float64Array;
  /** Σ (STOP − START). */
  ontime: number;
  header: FitsHeader;
  /**
   * A time cut (obs_time) of a run of several GTI rows whose first row lies outside the interval: gammapy 1.0's
   * Observations.select_time compares the interval with that row only (Observation.tstop is the first row's STOP)
   * and drops the run, where pipe keeps the rows inside the interval.
   */
  firstRowOutsideCut?: boolean;
  /**
   * A time cut (obs_time) that holds none of the run's GTI rows: the run's time span before the cut (MJD, TT). gammapy
   * 1.0 selects runs by their GTI and leaves such a run out; pipe selected it by the obs index's TSTART/TSTOP.
   */
  spanOutsideCut?: TimeRange;
}

/** A run of the data store. */
export class Observation {
  private readonly files = new Map<string, Promise<FitsFile>>();

  constructor(
    readonly obsId: number,
    /** Location per HDU type (the first index row of each type). */
    readonly locations: ReadonlyMap<string, HduLocation>,
    /** The run's row of the obs index (empty when the index lacks the run). */
    readonly obsIndexRow: Readonly<Record<string, ObsValue>>,
    /**
     * The interval the run is cut to (gammapy's Observation.select_time): events() keeps start ≤ TIME < stop,
     * gti() the intervals clipped to it, so the ontime and livetime shrink. Absent: the whole run.
     */
    readonly timeRange?: TimeRange,
  ) {}

  /** HDU types this run has. */
  get hduTypes(): string[] {
    return [...this.locations.keys()];
  }

  /** Location of an HDU type; throws `missing-hdu` naming the run and the types it has. */
  location(hduType: string): HduLocation {
    const loc = this.locations.get(hduType);
    if (loc) return loc;
    throw new FitsError(
      'missing-hdu',
      { file: `OBS_ID ${this.obsId}`, hdu: hduType },
      `the HDU index has no '${hduType}' row for this run; it has ${this.hduTypes.join(', ')}`,
    );
  }

  /**
   * The files the given HDU types (default: all) live in, sorted and unique: what a task reading this run
   * depends on, for content hashing.
   */
  filePaths(hduTypes?: readonly string[]): string[] {
    const locs = hduTypes ? hduTypes.map((t) => this.location(t)) : [...this.locations.values()];
    return [...new Set(locs.map((l) => l.path))].sort();
  }

  /** The opened file of an HDU type (shared between HDU types in one file). */
  async file(hduType: string): Promise<FitsFile> {
    const loc = this.location(hduType);
    if (!loc.exists) {
      throw new FitsError(
        'io',
        { file: loc.path, hdu: loc.hduName },
        `OBS_ID ${this.obsId} '${hduType}': file not found (tried ${loc.tried.join(', ')})`,
      );
    }
    let f = this.files.get(loc.path);
    if (!f) {
      f = readFits(loc.path);
      this.files.set(loc.path, f);
      f.catch(() => this.files.delete(loc.path));
    }
    return f;
  }

  /** The HDU of a type, found by the index's HDU_NAME (case-insensitive). */
  async hdu(hduType: string): Promise<Hdu> {
    return (await this.file(hduType)).hdu(this.location(hduType).hduName);
  }

  /** An IRF of the run (aeff, edisp, psf, bkg, …), read as the index's HDU_CLASS says. */
  async irf(hduType: string): Promise<IrfTable> {
    const loc = this.location(hduType);
    return readIrfHdu(await this.hdu(hduType), loc.hduClass);
  }

  /** The events: TIME, RA, DEC, ENERGY as float64 (energy converted to TeV by its TUNIT). */
  async events(): Promise<EventList> {
    const hdu = await this.hdu('events');
    const t = hdu.table();
    const energy = t.scalarFloat64('ENERGY');
    // An energy without a unit could be TeV or GeV (1000× apart): refused, as gammapy refuses it
    // (UnitConversionError: '' (dimensionless) and 'TeV').
    const energyUnit = t.column('ENERGY').unit?.trim() || hdu.header.string('EUNIT')?.trim();
    if (!energyUnit)
      throw new FitsError(
        'unknown-unit',
        { ...hdu.location, column: 'ENERGY' },
        'ENERGY has no unit (no TUNIT): it could be TeV or GeV, and gammapy refuses it too; set its TUNIT (e.g. TeV)',
      );
    const factor = requireUnitFactor(energyUnit, 'energy', { ...hdu.location, column: 'ENERGY' });
    const energyTeV = inLibraryUnit(energy, factor, t.column('ENERGY'));
    // An event energy must be a positive number: a negative, zero or NaN one falls in no energy bin and the
    // event would be dropped without a word.
    for (let r = 0; r < energyTeV.length; r++) {
      const e = energyTeV[r] as number;
      if (!(e > 0 && e < Number.POSITIVE_INFINITY))
        throw new FitsError(
          'bad-value',
          { ...hdu.location, column: 'ENERGY' },
          `row ${r + 1} (1-based): ENERGY ${String(energy[r])} is not a positive finite energy`,
        );
    }
    // Seconds since the reference time, by its TUNIT (none: seconds, as GADF); a non-time unit is refused. Without a
    // TIME column only a run cut to a time range fails (naming the column).
    const readTime = () =>
      inSeconds(t.scalarFloat64('TIME'), t.column('TIME').unit, { ...hdu.location, column: 'TIME' });
    const time = t.hasColumn('TIME') ? readTime() : undefined;
    // RA and DEC in degrees, by their TUNIT (none: degrees, as GADF); a non-angle unit is refused.
    const angle = (column: 'RA' | 'DEC') => {
      const values = t.scalarFloat64(column);
      const factor = requireUnitFactor(t.column(column).unit?.trim() || 'deg', 'angle', {
        ...hdu.location,
        column,
      });
      return factor === 1 ? values : values.map((v) => v * factor);
    };
    const ra = angle('RA');
    const dec = angle('DEC');
    // A declination beyond ±90° is no sky position (astropy's Latitude, and so gammapy 1.0, refuses it); the
    // event would silently fall outside every map.
    // A NaN or infinite RA/DEC is no position either (astropy accepts NaN; the event then falls in no pixel).
    for (let r = 0; r < dec.length; r++) {
      const d = dec[r] as number;
      if (!(d >= -90 && d <= 90))
        throw new FitsError(
          'bad-value',
          { ...hdu.location, column: 'DEC' },
          `row ${r + 1} (1-based): DEC ${d} deg is ${Number.isNaN(d) ? 'not a number' : 'outside [-90, 90] deg'}`,
        );
      if (!Number.isFinite(ra[r] as number))
        throw new FitsError(
          'bad-value',
          { ...hdu.location, column: 'RA' },
          `row ${r + 1} (1-based): RA ${ra[r]} deg is not a finite angle`,
        );
    }
    const list: EventList = {
      obsId: this.obsId,
      file: hdu.file,
      rows: t.rows,
      ...(time ? { time } : {}),
      ra,
      dec,
      energy: energyTeV,
      table: t,
      header: hdu.header,
    };
    if (!this.timeRange) return list;
    const where = { ...hdu.location, column: 'TIME' };
    const times = time ?? readTime(); // no TIME column: the table's missing-column error
    const rows = rowsInTime(
      times,
      metOf(this.timeRange.start, hdu.header, where),
      metOf(this.timeRange.stop, hdu.header, where),
    );
    return {
      ...list,
      rows: rows.length,
      time: takeRows(times, rows),
      ra: takeRows(list.ra, rows),
      dec: takeRows(list.dec, rows),
      energy: takeRows(energyTeV, rows),
      selected: rows,
    };
  }

  /** The good time intervals (clipped to the time range, if any) and the ontime. */
  async gti(): Promise<Gti> {
    const hdu = await this.hdu('gti');
    const t = hdu.table();
    // A run without a single good time interval has no ontime, livetime or exposure: its events cannot be
    // used. gammapy 1.0 fails on it with an IndexError (Observation.tstart reads the first row).
    if (t.rows === 0)
      throw new FitsError(
        'bad-value',
        hdu.location,
        'the GTI table has no rows: the run has no good time interval',
      );
    let start = inSeconds(t.scalarFloat64('START'), t.column('START').unit, {
      ...hdu.location,
      column: 'START',
    });
    let stop = inSeconds(t.scalarFloat64('STOP'), t.column('STOP').unit, {
      ...hdu.location,
      column: 'STOP',
    });
    // A reversed or non-finite interval would count negative or NaN ontime into the livetime (gammapy sums it
    // silently): refused, naming the row.
    for (let i = 0; i < start.length; i++) {
      const a = start[i] as number;
      const b = stop[i] as number;
      if (!Number.isFinite(a) || !Number.isFinite(b) || b < a)
        throw new FitsError(
          'bad-value',
          { ...hdu.location, column: b < a ? 'STOP' : Number.isFinite(a) ? 'STOP' : 'START' },
          `row ${i + 1} (1-based): ${b < a ? `STOP ${b} is before START ${a}` : `START ${a}, STOP ${b}: not a finite interval`}`,
        );
    }
    // Intervals that overlap would count the shared time twice into the ontime, the livetime and the exposure (gammapy
    // sums them as written): refused, naming both rows. Rows in any order, or touching end to start, are fine.
    const order = [...start.keys()].sort((i, j) => (start[i] as number) - (start[j] as number));
    let reach = -1; // the row reaching furthest among those starting earlier
    for (const i of order) {
      if (reach >= 0 && (start[i] as number) < (stop[reach] as number)) {
        const [a, b] = [Math.min(reach, i), Math.max(reach, i)];
        const shared =
          Math.min(stop[a] as number, stop[b] as number) - Math.max(start[a] as number, start[b] as number);
        throw new FitsError(
          'bad-value',
          { ...hdu.location, column: 'START' },
          `rows ${a + 1} and ${b + 1} (1-based) overlap: START ${start[a]}, STOP ${stop[a]} and START ${start[b]}, STOP ${stop[b]} share ${shared} s, which the livetime would count twice (gammapy 1.0 sums the rows as written)`,
        );
      }
      if (reach < 0 || (stop[i] as number) > (stop[reach] as number)) reach = i;
    }
    let firstRowOutsideCut = false;
    let spanOutsideCut: TimeRange | undefined;
    if (this.timeRange) {
      const where = hdu.location;
      const from = metOf(this.timeRange.start, hdu.header, where);
      const to = metOf(this.timeRange.stop, hdu.header, where);
      firstRowOutsideCut = start.length > 1 && !((start[0] as number) < to && (stop[0] as number) > from);
      const first = start.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
      const last = stop.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
      ({ start, stop } = clipGti(start, stop, from, to));
      // The reference, MJD (TT), as metOf took it: from = (start − ref) · 86400.
      const ref = this.timeRange.start - from / 86400;
      if (start.length === 0) spanOutsideCut = { start: ref + first / 86400, stop: ref + last / 86400 };
    }
    let ontime = 0;
    for (let i = 0; i < start.length; i++) ontime += (stop[i] as number) - (start[i] as number);
    return {
      start,
      stop,
      ontime,
      header: hdu.header,
      ...(firstRowOutsideCut ? { firstRowOutsideCut } : {}),
      ...(spanOutsideCut ? { spanOutsideCut } : {}),
    };
  }

  /** Run metadata: the obs-index row, overwritten by every keyword of the EVENTS header (which wins). */
  async meta(): Promise<Record<string, ObsValue | FitsValue>> {
    const header = (await this.hdu('events')).header.toRecord();
    return { ...this.obsIndexRow, ...header };
  }

  /**
   * ontime = Σ GTI, deadc from the merged metadata, livetime = ontime × deadc. A run with DEADC in neither the EVENTS
   * header nor its obs-index row is refused, naming both: taking 1 would overstate the livetime silently. (gammapy 1.0
   * reads the EVENTS header only, and fails with a KeyError where pipe takes the obs index's value.)
   */
  async livetime(): Promise<{
    ontime: number;
    deadc: number;
    livetime: number;
    firstRowOutsideCut?: boolean;
    spanOutsideCut?: TimeRange;
  }> {
    const [gti, meta] = await Promise.all([this.gti(), this.meta()]);
    const deadc = meta.DEADC;
    if (typeof deadc !== 'number' || !(deadc > 0 && deadc <= 1)) {
      const events = await this.hdu('events');
      const live = meta.LIVETIME;
      const on = meta.ONTIME;
      const hint =
        typeof live === 'number' && typeof on === 'number' && on > 0
          ? ` (its LIVETIME/ONTIME is ${(live / on).toPrecision(6)}: add DEADC = that to the EVENTS header or the obs index)`
          : '';
      throw new FitsError(
        deadc === undefined ? 'bad-header' : 'bad-value',
        events.location,
        deadc === undefined
          ? `OBS_ID ${this.obsId}: no DEADC (dead-time correction) in the EVENTS header nor the obs index, needed for the livetime${hint}`
          : `OBS_ID ${this.obsId}: DEADC ${String(deadc)} is not a fraction in (0, 1]`,
      );
    }
    return {
      ontime: gti.ontime,
      deadc,
      livetime: gti.ontime * deadc,
      ...(gti.firstRowOutsideCut ? { firstRowOutsideCut: true } : {}),
      ...(gti.spanOutsideCut ? { spanOutsideCut: gti.spanOutsideCut } : {}),
    };
  }
}

/** Builds the per-type locations of a run from its index rows (first row of each type wins, as in gammapy). */
export function locationsOf(
  rows: readonly HduIndexRow[],
  resolve: (row: HduIndexRow) => ResolvedPath,
): Map<string, HduLocation> {
  const out = new Map<string, HduLocation>();
  for (const row of rows) {
    if (out.has(row.hduType)) continue;
    out.set(row.hduType, {
      ...resolve(row),
      obsId: row.obsId,
      hduType: row.hduType,
      hduClass: row.hduClass,
      hduName: row.hduName,
    });
  }
  return out;
}

/** Times in seconds: `values` converted by their column's unit (none: seconds); a non-time unit is refused. */
function inSeconds(values: Float64Array, unit: string | undefined, where: FitsLocation): Float64Array {
  const factor = requireUnitFactor(unit?.trim() || 's', 'time', where);
  return factor === 1 ? values : values.map((v) => v * factor);
}

/**
 * Column values times a unit factor, as astropy converts them for gammapy (Quantity.to): a float32 column stays
 * float32, the product rounded to float32, so an event within an ulp of a bin edge lands in gammapy's bin (GeV
 * energies binned in TeV: 999.99994 GeV is 1.0 TeV there, 0.99999994 TeV in float64, below the first edge).
 */
function inLibraryUnit(values: Float64Array, factor: number, column: FitsColumn): Float64Array {
  if (factor === 1) return values;
  if (column.kind === 'numeric' && column.data instanceof Float32Array) {
    const k = Math.fround(factor);
    return values.map((v) => Math.fround(k * v));
  }
  return values.map((v) => v * factor);
}

/**
 * The two index tables of a DL3 data store (GADF 0.2): the HDU index (where each HDU of each run is) and the
 * observation index (one row of metadata per run).
 */
import { type BinTable, FitsError, type FitsFile, type FitsValue } from '../fits/index.js';
import { unitFactor } from '../irf/units.js';

/** HDU types of the HDU index (gammapy's VALID_HDU_TYPE). */
export type HduType = 'events' | 'gti' | 'aeff' | 'edisp' | 'psf' | 'bkg' | 'rad_max' | (string & {});

/** One row of the HDU index, string cells stripped. */
export interface HduIndexRow {
  obsId: number;
  hduType: string;
  hduClass: string;
  fileDir: string;
  fileName: string;
  hduName: string;
  /** Row number in the index (0-based). */
  row: number;
}

function indexTable(file: FitsFile, extname: string): BinTable {
  // HDU 1 is the index by the format; look it up by name when present.
  return (file.find(extname) ?? file.hdu(1)).table();
}

function ids(table: BinTable): number[] {
  return Array.from(table.scalarFloat64('OBS_ID'));
}

/** Reads the rows of an HDU index file. */
export function readHduIndex(file: FitsFile): HduIndexRow[] {
  const t = indexTable(file, 'HDU_INDEX');
  const obsIds = ids(t);
  const col = (name: string) => t.strings(name).map((s) => s.trim());
  const [types, classes, dirs, names, hdus] = [
    'HDU_TYPE',
    'HDU_CLASS',
    'FILE_DIR',
    'FILE_NAME',
    'HDU_NAME',
  ].map(col) as string[][];
  return obsIds.map((obsId, row) => ({
    obsId,
    hduType: (types as string[])[row] as string,
    hduClass: (classes as string[])[row] as string,
    fileDir: (dirs as string[])[row] as string,
    fileName: (names as string[])[row] as string,
    hduName: (hdus as string[])[row] as string,
    row,
  }));
}

/** The observation index: its header (MJDREF…) and one metadata record per run, in file order. */
export interface ObsIndex {
  file: string;
  header: Record<string, FitsValue>;
  /** OBS_ID per row. */
  obsIds: number[];
  /**
   * Column name (upper case: FITS compares names without regard to case, as the HDU index's columns are read) → value
   * per row (numbers as float64 — float32 columns keep their float32 values).
   */
  rows: Record<string, ObsValue>[];
  columns: string[];
}

export type ObsValue = number | string | boolean | bigint | null;

/** Reads an observation index file. */
export function readObsIndex(file: FitsFile): ObsIndex {
  const hdu = file.find('OBS_INDEX') ?? file.hdu(1);
  const t = hdu.table();
  const obsIds = ids(t);
  // One row per run: a repeated OBS_ID would reduce the run twice (gammapy 1.0 does, counting its events and
  // livetime double) and give two tasks the same output.
  const firstRow = new Map<number, number>();
  obsIds.forEach((id, r) => {
    const first = firstRow.get(id);
    if (first !== undefined)
      throw new FitsError(
        'bad-value',
        { file: file.path, hdu: hdu.name || 1, column: 'OBS_ID' },
        `OBS_ID ${id} is in rows ${first + 1} and ${r + 1} (1-based); each run must have one row`,
      );
    firstRow.set(id, r);
  });
  const rows: Record<string, ObsValue>[] = obsIds.map(() => ({}));
  for (const name of t.columnNames) {
    const col = t.column(name);
    if (col.repeat !== 1 && col.kind !== 'string') continue; // vector cells are not run metadata
    const factor = toLibraryUnit(col.unit);
    for (let r = 0; r < t.rows; r++) {
      const v = t.cell(name, r);
      (rows[r] as Record<string, ObsValue>)[name.toUpperCase()] =
        typeof v === 'bigint' ? Number(v) * factor : typeof v === 'number' ? v * factor : (v as ObsValue);
    }
  }
  return { file: file.path, header: hdu.header.toRecord(), obsIds, rows, columns: t.columnNames };
}

/**
 * The factor taking a column of angles to degrees or of times to seconds, by its TUNIT (1 for anything else): gammapy
 * reads RA_PNT/DEC_PNT and TSTART/TSTOP as quantities (SkyCoord(..., unit='deg') and Quantity(..., 's') convert a
 * column in rad or ms), so an index in rad selected no run by cone, or the wrong ones, taken as degrees.
 */
function toLibraryUnit(unit: string | undefined): number {
  if (!unit?.trim()) return 1;
  return unitFactor(unit, 'angle') ?? unitFactor(unit, 'time') ?? 1;
}

/** A numeric obs-index value, or a FitsError naming the file, column and run. */
export function obsNumber(index: ObsIndex, row: number, column: string): number {
  const v = index.rows[row]?.[column];
  if (typeof v === 'number') return v;
  throw new FitsError(
    v === undefined ? 'missing-column' : 'bad-value',
    { file: index.file, hdu: 'OBS_INDEX', column },
    v === undefined
      ? `no such column; columns: ${index.columns.join(', ')}`
      : typeof v === 'string'
        ? `OBS_ID ${index.obsIds[row]}: the column holds text ('${v}'), where a number is expected`
        : `OBS_ID ${index.obsIds[row]}: value ${String(v)} is not a number`,
  );
}

/**
 * IRF readers for the GADF 0.2 classes gammapy 1.0 reads: AEFF_2D, EDISP_2D, PSF_TABLE, PSF_3GAUSS, PSF_KING,
 * BKG_2D, BKG_3D, RAD_MAX_2D. Each becomes an {@link IrfTable}: axes in gammapy's order with edges, nodes and
 * interpolation scale, and data as float64 in C order over those axes, in library units.
 */
import {
  FitsError,
  type FitsFile,
  type FitsHeader,
  type FitsLocation,
  type Hdu,
  numericValue,
  readFits,
} from '../fits/index.js';
import { energyPrefix, type IrfAxis, readAxis } from './axes.js';
import { type CellLayout, cellToAxisOrder } from './layout.js';
import { isFitsRateUnit, LIBRARY_UNIT, type Quantity, requireUnitFactor, unitFactor } from './units.js';

export type IrfClass =
  | 'aeff_2d'
  | 'edisp_2d'
  | 'psf_table'
  | 'psf_3gauss'
  | 'psf_king'
  | 'bkg_2d'
  | 'bkg_3d'
  | 'rad_max_2d';

/** A data array of an IRF: C order over the IRF's axes (last axis fastest). */
export interface IrfArray {
  /** Source column. */
  column: string;
  data: Float64Array;
  /** Unit of `data` (converted to library units, or the file's unit when no conversion applies). */
  unit: string;
}

/** An IRF table read from one HDU. */
export interface IrfTable {
  hduClass: IrfClass;
  file: string;
  hdu: string;
  header: FitsHeader;
  /** Axes in gammapy order (e.g. energy_true, offset for AEFF; energy, fov_lon, fov_lat for BKG_3D). */
  axes: IrfAxis[];
  shape: number[];
  /** C-order strides over `shape`: value(i…) = data[Σ i_k · strides[k]]. */
  strides: number[];
  /** The main quantity (EFFAREA, MATRIX, RPSF, BKG, RAD_MAX); for parametric PSFs, the first parameter. */
  data: Float64Array;
  unit: string;
  /** Every data column by gammapy parameter name (e.g. sigma_1, scale, gamma); one entry for table IRFs. */
  arrays: Record<string, IrfArray>;
  /** AEFF energy thresholds from LO_THRES/HI_THRES (TeV), when the header has them. */
  thresholds?: { lo?: number; hi?: number };
  /** FOVALIGN of backgrounds ('RADEC' by default, as gammapy). */
  fovAlignment?: string;
  /** HDUCLAS3 is POINT-LIKE. */
  pointLike: boolean;
}

interface DataSpec {
  /** gammapy parameter name → candidate column names (first present wins). */
  columns: Record<string, string[]>;
  quantity: Record<string, Quantity | 'keep'>;
}

interface ClassSpec {
  axes: (table: import('../fits/index.js').BinTable, where: FitsLocation) => IrfAxis[];
  layout: CellLayout;
  data: DataSpec;
}

const SPECS: Record<IrfClass, ClassSpec> = {
  aeff_2d: {
    axes: (t, w) => [readAxis(t, energyPrefix(t, w), w, 'energy_true'), readAxis(t, 'THETA', w)],
    layout: 'transpose',
    data: { columns: { aeff: ['EFFAREA'] }, quantity: { aeff: 'area' } },
  },
  edisp_2d: {
    axes: (t, w) => [
      readAxis(t, energyPrefix(t, w), w, 'energy_true'),
      readAxis(t, 'MIGRA', w),
      readAxis(t, 'THETA', w),
    ],
    layout: 'transpose',
    data: { columns: { edisp: ['MATRIX'] }, quantity: { edisp: 'dimensionless' } },
  },
  psf_table: {
    axes: (t, w) => [
      readAxis(t, energyPrefix(t, w), w, 'energy_true'),
      readAxis(t, 'THETA', w),
      readAxis(t, 'RAD', w),
    ],
    layout: 'transpose',
    data: { columns: { psf: ['RPSF'] }, quantity: { psf: 'solid-angle-density' } },
  },
  psf_3gauss: {
    axes: (t, w) => [readAxis(t, energyPrefix(t, w), w, 'energy_true'), readAxis(t, 'THETA', w)],
    layout: 'transpose',
    data: {
      columns: {
        sigma_1: ['SIGMA_1'],
        sigma_2: ['SIGMA_2'],
        sigma_3: ['SIGMA_3'],
        scale: ['SCALE'],
        ampl_2: ['AMPL_2'],
        ampl_3: ['AMPL_3'],
      },
      quantity: {
        sigma_1: 'angle',
        sigma_2: 'angle',
        sigma_3: 'angle',
        scale: 'keep',
        ampl_2: 'keep',
        ampl_3: 'keep',
      },
    },
  },
  psf_king: {
    axes: (t, w) => [readAxis(t, energyPrefix(t, w), w, 'energy_true'), readAxis(t, 'THETA', w)],
    layout: 'transpose',
    data: { columns: { gamma: ['GAMMA'], sigma: ['SIGMA'] }, quantity: { gamma: 'keep', sigma: 'angle' } },
  },
  bkg_2d: {
    axes: (t, w) => [readAxis(t, energyPrefix(t, w), w, 'energy'), readAxis(t, 'THETA', w)],
    layout: 'background',
    data: { columns: { bkg: ['BKG', 'BGD'] }, quantity: { bkg: 'bkg-rate' } },
  },
  bkg_3d: {
    axes: (t, w) => [
      readAxis(t, energyPrefix(t, w), w, 'energy'),
      readAxis(t, 'DETX', w),
      readAxis(t, 'DETY', w),
    ],
    layout: 'background',
    data: { columns: { bkg: ['BKG', 'BGD'] }, quantity: { bkg: 'bkg-rate' } },
  },
  rad_max_2d: {
    axes: (t, w) => [readAxis(t, energyPrefix(t, w), w, 'energy'), readAxis(t, 'THETA', w)],
    layout: 'transpose',
    data: { columns: { rad_max: ['RAD_MAX'] }, quantity: { rad_max: 'angle' } },
  },
};

const PARAMETRIC = new Set<IrfClass>(['psf_3gauss', 'psf_king']);
const BACKGROUNDS = new Set<IrfClass>(['bkg_2d', 'bkg_3d']);

/** The IRF class of an HDU from HDUCLAS4 (or HDUCLAS2 and the columns present), or undefined. */
export function irfClassOf(hdu: Hdu): IrfClass | undefined {
  const c4 = hdu.header.string('HDUCLAS4')?.trim().toLowerCase();
  if (c4 && c4 in SPECS) return c4 as IrfClass;
  const c2 = hdu.header.string('HDUCLAS2')?.trim().toUpperCase();
  const t = hdu.kind === 'bintable' ? hdu.table() : undefined;
  const has = (c: string) => t?.hasColumn(c) ?? false;
  if (c2 === 'EFF_AREA') return 'aeff_2d';
  if (c2 === 'EDISP') return 'edisp_2d';
  if (c2 === 'RAD_MAX') return 'rad_max_2d';
  if (c2 === 'BKG') return has('DETX_LO') ? 'bkg_3d' : 'bkg_2d';
  if (c2 === 'RPSF' || c2 === 'PSF')
    return has('RPSF') ? 'psf_table' : has('SIGMA_1') ? 'psf_3gauss' : has('GAMMA') ? 'psf_king' : undefined;
  return undefined;
}

/** Reads an IRF HDU. `hduClass` (e.g. the index's HDU_CLASS) overrides the header's HDUCLAS keywords. */
export function readIrfHdu(hdu: Hdu, hduClass?: string): IrfTable {
  try {
    return readIrfHduAs(hdu, hduClass);
  } catch (error) {
    // A column the class needs is missing because the HDU is of another class than the index says (gammapy 1.0's
    // DataStore.from_events_files writes psf_3gauss and bkg_3d for every run, whatever its file holds): say so.
    const own = hduClass === undefined ? undefined : classOfContent(hdu);
    if (!(error instanceof FitsError) || error.reason !== 'missing-column') throw error;
    if (own === undefined || own === hduClass?.trim().toLowerCase()) throw error;
    throw new FitsError(
      error.reason,
      {
        file: error.file,
        ...(error.hdu !== undefined ? { hdu: error.hdu } : {}),
        ...(error.column !== undefined ? { column: error.column } : {}),
      },
      `${error.detail}: the HDU index gives it HDU_CLASS '${hduClass?.trim()}', but it holds a ${own.toUpperCase()} (its ${hdu.header.string('HDUCLAS4') ? 'HDUCLAS4' : 'columns'}); gammapy 1.0 reads it as the index says and fails too: correct HDU_CLASS in the HDU index (gammapy's DataStore.from_events_files writes psf_3gauss and bkg_3d whatever the files hold)`,
    );
  }
}

/** An IRF HDU's class from its HDUCLAS keywords, else from its columns (gammapy 1.0 writes a parametric PSF without HDUCLASn). */
function classOfContent(hdu: Hdu): IrfClass | undefined {
  const c = irfClassOf(hdu);
  if (c !== undefined || hdu.kind !== 'bintable') return c;
  const t = hdu.table();
  if (t.hasColumn('RPSF')) return 'psf_table';
  if (t.hasColumn('SIGMA_1') && t.hasColumn('SCALE')) return 'psf_3gauss';
  if (t.hasColumn('GAMMA') && t.hasColumn('SIGMA')) return 'psf_king';
  if (t.hasColumn('BKG')) return t.hasColumn('DETX_LO') ? 'bkg_3d' : 'bkg_2d';
  return undefined;
}

function readIrfHduAs(hdu: Hdu, hduClass?: string): IrfTable {
  const where = hdu.location;
  const cls = (hduClass?.trim().toLowerCase() as IrfClass | undefined) ?? irfClassOf(hdu);
  if (cls === undefined || !(cls in SPECS)) {
    throw new FitsError(
      'bad-value',
      where,
      `not a known IRF HDU (HDU class '${hduClass ?? hdu.header.string('HDUCLAS4') ?? hdu.header.string('HDUCLAS2') ?? '?'}'); known: ${Object.keys(SPECS).join(', ')}`,
    );
  }
  const spec = SPECS[cls];
  const table = hdu.table();
  // An IRF is one row of arrays (gammapy reads the first row): a table without one has nothing to read.
  if (table.rows === 0)
    throw new FitsError(
      'bad-value',
      where,
      `the ${cls.toUpperCase()} table has no rows: an IRF is written as one row of arrays (its axes and values)`,
    );
  const axes = spec.axes(table, where);
  const shape = axes.map((a) => a.nbin);
  const arrays: Record<string, IrfArray> = {};
  for (const [param, candidates] of Object.entries(spec.data.columns)) {
    const column = candidates.find((c) => table.hasColumn(c)) ?? (candidates[0] as string);
    const col = table.column(column); // throws missing-column with the list
    const at = { ...where, column: col.name };
    if (col.kind !== 'numeric')
      throw new FitsError('bad-value', at, `data column is ${col.kind}, not numeric`);
    const quantity = spec.data.quantity[param] as Quantity | 'keep';
    const fileUnit = col.unit ?? '';
    let factor = 1;
    let unit = fileUnit;
    if (quantity !== 'keep') {
      // gammapy assumes s-1 MeV-1 sr-1 for a background without a usable unit
      const bkgFallback = quantity === 'bkg-rate' && fileUnit.trim() === '';
      factor = bkgFallback ? 1 : requireUnitFactor(fileUnit, quantity, at);
      // A unit astropy does not parse in TUNIT gammapy 1.0 replaces by s-1 MeV-1 sr-1 (with a warning): where that
      // reads the rates otherwise than the unit says, the two readings differ by the factor, and neither is sure.
      if (quantity === 'bkg-rate' && !bkgFallback && factor !== 1 && !isFitsRateUnit(fileUnit))
        throw new FitsError(
          'unknown-unit',
          at,
          `unit '${fileUnit}' is not written in the FITS form astropy reads a TUNIT in (e.g. 'TeV-1 s-1 sr-1'): gammapy 1.0 then takes the rates as s-1 MeV-1 sr-1, ${(1 / factor).toPrecision(6)} times what the unit says; write the TUNIT in that form`,
        );
      unit = LIBRARY_UNIT[quantity];
    } else if (unitFactor(fileUnit, 'dimensionless') === 1) unit = '';
    const cell = table.cell(col.name, 0);
    const flat = typeof cell === 'number' ? [cell] : (cell as ArrayLike<number>);
    const layout: CellLayout = PARAMETRIC.has(cls) && col.tdim === undefined ? 'reshape' : spec.layout;
    const data = cellToAxisOrder(flat, col.tdim, shape, layout, factor, at);
    // A background's non-finite cells are holes that gammapy's MapDatasetMaker fills along energy, as zeros are
    // (interp_missing_data; makers/irf-inputs.ts fillBackgroundHoles): they are data, not damage.
    if (!BACKGROUNDS.has(cls)) requireFinite(data, axes, shape, at);
    if (PARAMETRIC.has(cls) && param.startsWith('sigma')) {
      for (let i = 0; i < data.length; i++) if (data[i] === 0) data[i] = 1; // gammapy: sigma written as 0 means 1
    }
    arrays[param] = { column: col.name, data, unit };
  }
  const first = Object.values(arrays)[0] as IrfArray;
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const out: IrfTable = {
    hduClass: cls,
    file: hdu.file,
    hdu: hdu.name,
    header: hdu.header,
    axes,
    shape,
    strides,
    data: first.data,
    unit: first.unit,
    arrays,
    pointLike: hdu.header.string('HDUCLAS3')?.trim().toUpperCase() === 'POINT-LIKE',
  };
  if (cls === 'aeff_2d') {
    const lo = threshold(hdu, 'LO_THRES');
    const hi = threshold(hdu, 'HI_THRES');
    if (lo !== undefined || hi !== undefined)
      out.thresholds = { ...(lo !== undefined ? { lo } : {}), ...(hi !== undefined ? { hi } : {}) };
  }
  if (BACKGROUNDS.has(cls)) out.fovAlignment = hdu.header.string('FOVALIGN')?.trim() ?? 'RADEC';
  return out;
}

/**
 * An AEFF energy threshold keyword (TeV), a number or a string holding one ('5.0'). Another value is refused: taken
 * as absent it silently dropped that side's cut ("no default thresholds") while the header has one; gammapy 1.0
 * fails on a quoted threshold (a TypeError in its energy mask).
 */
function threshold(hdu: Hdu, key: 'LO_THRES' | 'HI_THRES'): number | undefined {
  const v = hdu.header.get(key);
  const n = numericValue(v);
  if (n === undefined) return undefined;
  if (Number.isFinite(n)) return n;
  throw new FitsError(
    'bad-value',
    hdu.location,
    `${key} is ${JSON.stringify(String(v))}, not an energy in TeV`,
  );
}

/**
 * IRF values must be numbers: a NaN or infinite value would flow silently into the exposure, background or
 * kernels and from there into every product. Names the first bad bin by its axis indices.
 */
function requireFinite(
  data: Float64Array,
  axes: readonly IrfAxis[],
  shape: readonly number[],
  at: FitsLocation,
) {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return;
  const index: string[] = [];
  let rest = first;
  for (let k = shape.length - 1; k >= 0; k--) {
    const n = shape[k] as number;
    index.unshift(`${axes[k]?.name ?? `axis ${k}`} ${rest % n}`);
    rest = Math.floor(rest / n);
  }
  throw new FitsError(
    'bad-value',
    at,
    `${bad} of ${data.length} values are not finite, the first (${String(data[first])}) at bin [${index.join(', ')}] (0-based); IRF data must be finite numbers`,
  );
}

/** Reads the IRF in HDU `hduName` (EXTNAME, case-insensitive, spaces allowed) of a file or opened FitsFile. */
export async function readIrf(
  file: string | FitsFile,
  hduName: string | number,
  hduClass?: string,
): Promise<IrfTable> {
  const f = typeof file === 'string' ? await readFits(file) : file;
  return readIrfHdu(f.hdu(hduName), hduClass);
}

/** The value of an IRF array at integer indices (one per axis). */
export function irfValue(irf: Pick<IrfTable, 'strides'>, data: Float64Array, ...index: number[]): number {
  let o = 0;
  for (let k = 0; k < index.length; k++) o += (index[k] as number) * (irf.strides[k] as number);
  return data[o] as number;
}

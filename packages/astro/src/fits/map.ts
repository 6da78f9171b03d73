/**
 * The gammapy 1.0 WCS map file format (as `Map.write` produces it): the primary HDU holds the image (cube
 * [E][y][x]) with the celestial WCS header, and a `<NAME>_BANDS` table lists the non-spatial axis bins.
 */
import type { NumericArray } from './bigendian.js';
import type { CardInput } from './cards.js';
import { FitsError } from './errors.js';
import { type FitsFile, readFitsSync } from './file.js';
import type { FitsHeader } from './header.js';
import { type HduSpec, type WriteFitsOptions, writeFits, writeFitsAsync } from './write.js';
import type { TableColumnSpec } from './write-table.js';

/** A non-spatial map axis: reconstructed or true energy, or the PSF's offset from the source (rad). */
export interface MapAxisSpec {
  /**
   * 'reco' → columns ENERGY, E_MIN, E_MAX; 'true' → ENERGY_TRUE, ENERGY_TRUE_MIN, ENERGY_TRUE_MAX; 'rad' → RAD,
   * RAD_MIN, RAD_MAX (gammapy's names for its energy, energy_true and rad axes).
   */
  kind: 'reco' | 'true' | 'rad';
  /** Bin edges (n + 1 values), in `unit`. */
  edges: ArrayLike<number>;
  unit: string;
  /** Axis interpolation scale written as INTERP<n> (default 'log' for energies, 'lin' for rad, as gammapy's). */
  interp?: 'log' | 'lin' | 'sqrt';
}

export interface MapFitsSpec {
  /** Image values in [E][y][x] order (or [y][x] without an axis). Float32Array, Uint8Array (masks), … */
  data: NumericArray;
  /** C-order shape: [nE, ny, nx] or [ny, nx]; with two axes [n2, n1, ny, nx]. */
  shape: number[];
  /** Celestial WCS cards (WCSAXES, CRPIX1/2, CDELT1/2, CUNIT1/2, CTYPE1/2, CRVAL1/2, LONPOLE, LATPOLE, RADESYS, …). */
  wcsHeader: CardInput[];
  axis?: MapAxisSpec;
  /**
   * Several non-spatial axes, the first the fastest after x and y (FITS NAXIS3), as gammapy's IRF maps: a PSF map's
   * [rad, energy_true], an EDISP kernel map's [energy, energy_true]. The bands table then has a row per
   * combination, the first axis varying fastest. Instead of `axis`.
   */
  axes?: MapAxisSpec[];
  /** BUNIT, e.g. 'm2 s'; '' for dimensionless. */
  bunit?: string;
  /** The META card (gammapy's JSON of map metadata), default '{}'. */
  meta?: string;
  /** More cards for the primary header (after BUNIT). */
  extraHeader?: CardInput[];
  /** Name of the image HDU; gammapy writes 'PRIMARY' and the bands table as '<NAME>_BANDS'. */
  hduName?: string;
}

/** Column names of the bands table for each axis kind. */
function bandColumns(kind: MapAxisSpec['kind']): { centre: string; lo: string; hi: string } {
  if (kind === 'rad') return { centre: 'RAD', lo: 'RAD_MIN', hi: 'RAD_MAX' };
  return kind === 'reco'
    ? { centre: 'ENERGY', lo: 'E_MIN', hi: 'E_MAX' }
    : { centre: 'ENERGY_TRUE', lo: 'ENERGY_TRUE_MIN', hi: 'ENERGY_TRUE_MAX' };
}

/** Bin centre on the axis scale (log: sqrt(lo·hi)); gammapy's own value can differ from it in the last bit. */
function binCentre(lo: number, hi: number, interp: 'log' | 'lin' | 'sqrt'): number {
  if (interp === 'log') return Math.sqrt(lo * hi);
  if (interp === 'sqrt') return ((Math.sqrt(lo) + Math.sqrt(hi)) / 2) ** 2;
  return (lo + hi) / 2;
}

/** The HDUs of a gammapy map file, for writing or embedding. */
export function mapHdus(spec: MapFitsSpec): HduSpec[] {
  const name = spec.hduName ?? 'PRIMARY';
  const bandsName = `${name}_BANDS`;
  const cards: CardInput[] = [...spec.wcsHeader];
  const shapeXY = [spec.shape[spec.shape.length - 1], spec.shape[spec.shape.length - 2]];
  const hdus: HduSpec[] = [];
  const axes = spec.axes ?? (spec.axis ? [spec.axis] : []);
  if (axes.length > 0) {
    const sizes = axes.map((a) => a.edges.length - 1);
    // C order: the last axis first, then y and x.
    const expected = [...[...sizes].reverse(), shapeXY[1], shapeXY[0]];
    if (spec.shape.length !== expected.length || spec.shape.some((n, i) => n !== expected[i])) {
      throw new FitsError(
        'write-failed',
        { file: '<map>', hdu: name },
        `shape ${spec.shape.join('×')} does not match the axes' bins (${sizes.join(', ')})`,
      );
    }
    const axisCards: CardInput[] = [];
    for (const [k, axis] of axes.entries()) {
      const cols = bandColumns(axis.kind);
      axisCards.push(
        { key: `AXCOLS${k + 1}`, value: `${cols.lo},${cols.hi}` },
        { key: `INTERP${k + 1}`, value: interpOf(axis) },
      );
    }
    cards.push(
      ...axisCards,
      { key: 'WCSSHAPE', value: `(${[...shapeXY, ...sizes].join(',')})` },
      { key: 'BANDSHDU', value: bandsName },
    );
    // One row per combination of bins, the first axis fastest (gammapy's meshgrid, raveled).
    const rows = sizes.reduce((a, b) => a * b, 1);
    const columns: TableColumnSpec[] = [
      { name: 'CHANNEL', data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) },
    ];
    let stride = 1;
    for (const [k, axis] of axes.entries()) {
      const cols = bandColumns(axis.kind);
      const n = sizes[k] as number;
      const interp = interpOf(axis);
      const bin = (r: number) => Math.floor(r / stride) % n;
      const lo = Float64Array.from({ length: rows }, (_, r) => axis.edges[bin(r)] as number);
      const hi = Float64Array.from({ length: rows }, (_, r) => axis.edges[bin(r) + 1] as number);
      const centre = lo.map((l, i) => binCentre(l, hi[i] as number, interp));
      columns.push(
        { name: cols.centre, data: centre, unit: axis.unit },
        { name: cols.lo, data: lo, unit: axis.unit },
        { name: cols.hi, data: hi, unit: axis.unit },
      );
      stride *= n;
    }
    hdus.push({ kind: 'bintable', name: bandsName, cards: axisCards, columns });
  } else {
    if (spec.shape.length !== 2)
      throw new FitsError(
        'write-failed',
        { file: '<map>', hdu: name },
        `a map without an axis needs a 2-D shape, got ${spec.shape.join('×')}`,
      );
    cards.push({ key: 'WCSSHAPE', value: `(${shapeXY.join(',')})` });
  }
  cards.push(
    { key: 'META', value: spec.meta ?? '{}' },
    { key: 'BUNIT', value: spec.bunit ?? '' },
    ...(spec.extraHeader ?? []),
  );
  const image: HduSpec = { kind: 'image', data: spec.data, shape: spec.shape, cards };
  if (name !== 'PRIMARY') image.name = name;
  return [image, ...hdus];
}

/** An axis's interpolation scale: as given, else gammapy's default for its kind. */
function interpOf(axis: MapAxisSpec): 'log' | 'lin' | 'sqrt' {
  return axis.interp ?? (axis.kind === 'rad' ? 'lin' : 'log');
}

/** Writes a map in gammapy's format (gzip when the path ends in .gz), atomically. */
export function writeMapFits(path: string, spec: MapFitsSpec, options: WriteFitsOptions = {}): void {
  writeFits(path, mapHdus(spec), options);
}

/** As {@link writeMapFits}, compressing on the thread pool (several maps at once). */
export function writeMapFitsAsync(
  path: string,
  spec: MapFitsSpec,
  options: WriteFitsOptions = {},
): Promise<void> {
  return writeFitsAsync(path, mapHdus(spec), options);
}

/** A map read back from a gammapy map file. */
export interface MapFitsContent {
  data: NumericArray;
  shape: number[];
  header: FitsHeader;
  /** Axis edges from the bands table (undefined for a 2-D image), with the unit of the edge columns. */
  axis?: { kind: 'reco' | 'true'; name: string; edges: Float64Array; unit: string | undefined };
  bunit: string | undefined;
}

/** Reads a gammapy map file (the primary image, or the image HDU `hduName`, and its bands table). */
export function readMapFits(pathOrFile: string | FitsFile, hduName: string | number = 0): MapFitsContent {
  const file = typeof pathOrFile === 'string' ? readFitsSync(pathOrFile) : pathOrFile;
  const hdu = file.hdu(hduName);
  const image = hdu.image();
  const out: MapFitsContent = {
    data: image.data,
    shape: image.shape,
    header: hdu.header,
    bunit: hdu.header.string('BUNIT'),
  };
  const bandsName = hdu.header.string('BANDSHDU');
  if (bandsName !== undefined) {
    const bands = file.hdu(bandsName);
    const axcols = (bands.header.string('AXCOLS1') ?? hdu.header.string('AXCOLS1') ?? 'E_MIN,E_MAX').split(
      ',',
    );
    const [loName, hiName] = [axcols[0] as string, (axcols[1] ?? axcols[0]) as string];
    const t = bands.table();
    const lo = t.scalarFloat64(loName);
    const hi = t.scalarFloat64(hiName);
    const edges = new Float64Array(lo.length + 1);
    edges.set(lo);
    edges[lo.length] = hi[hi.length - 1] as number;
    const kind = /TRUE/i.test(loName) ? 'true' : 'reco';
    out.axis = { kind, name: kind === 'true' ? 'energy_true' : 'energy', edges, unit: t.column(loName).unit };
  }
  return out;
}

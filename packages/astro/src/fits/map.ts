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

/** A non-spatial map axis (energy). */
export interface MapAxisSpec {
  /** 'reco' → columns ENERGY, E_MIN, E_MAX; 'true' → ENERGY_TRUE, ENERGY_TRUE_MIN, ENERGY_TRUE_MAX. */
  kind: 'reco' | 'true';
  /** Bin edges (n + 1 values), in `unit`. */
  edges: ArrayLike<number>;
  unit: string;
  /** Axis interpolation scale written as INTERP1 (default 'log'). */
  interp?: 'log' | 'lin' | 'sqrt';
}

export interface MapFitsSpec {
  /** Image values in [E][y][x] order (or [y][x] without an axis). Float32Array, Uint8Array (masks), … */
  data: NumericArray;
  /** C-order shape: [nE, ny, nx] or [ny, nx]. */
  shape: number[];
  /** Celestial WCS cards (WCSAXES, CRPIX1/2, CDELT1/2, CUNIT1/2, CTYPE1/2, CRVAL1/2, LONPOLE, LATPOLE, RADESYS, …). */
  wcsHeader: CardInput[];
  axis?: MapAxisSpec;
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
function bandColumns(kind: 'reco' | 'true'): { centre: string; lo: string; hi: string } {
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
  if (spec.axis) {
    const { edges, unit, kind } = spec.axis;
    const n = edges.length - 1;
    if (spec.shape.length !== 3 || spec.shape[0] !== n) {
      throw new FitsError(
        'write-failed',
        { file: '<map>', hdu: name },
        `shape ${spec.shape.join('×')} does not match ${n} axis bins`,
      );
    }
    const cols = bandColumns(kind);
    const axcols = `${cols.lo},${cols.hi}`;
    const interp = spec.axis.interp ?? 'log';
    cards.push(
      { key: 'AXCOLS1', value: axcols },
      { key: 'INTERP1', value: interp },
      { key: 'WCSSHAPE', value: `(${[...shapeXY, n].join(',')})` },
      { key: 'BANDSHDU', value: bandsName },
    );
    const lo = Float64Array.from({ length: n }, (_, i) => edges[i] as number);
    const hi = Float64Array.from({ length: n }, (_, i) => edges[i + 1] as number);
    const centre = lo.map((l, i) => binCentre(l, hi[i] as number, interp));
    hdus.push({
      kind: 'bintable',
      name: bandsName,
      cards: [
        { key: 'AXCOLS1', value: axcols },
        { key: 'INTERP1', value: interp },
      ],
      columns: [
        { name: 'CHANNEL', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) },
        { name: cols.centre, data: centre, unit },
        { name: cols.lo, data: lo, unit },
        { name: cols.hi, data: hi, unit },
      ],
    });
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

/**
 * A MapDataset as one multi-HDU FITS file (how the engine passes datasets between tasks). Layout, close to
 * gammapy's MapDataset.write (its MapDataset.read opens it): COUNTS, EXPOSURE, BACKGROUND, MASK_SAFE as gammapy maps
 * (each with its *_BANDS table), optional PSF / PSF_EXPOSURE / EDISP / EDISP_EXPOSURE maps on the IRF grid, and the
 * primary header's PIPEDSET card holding the versioned JSON of the rest (name, placement, times, per-run values).
 */
import {
  type CardInput,
  emptyPrimary,
  type FitsFile,
  type HduSpec,
  loadFileBytesWhole,
  type MapAxisSpec,
  type MapFitsSpec,
  mapHdus,
  parseFits,
  readFits,
  readFitsSync,
  type WriteFitsOptions,
  writeFits,
} from '../fits/index.js';
import { nbins } from '../geom/energy-axis.js';
import { npix, type WcsGeom } from '../geom/wcs-geom.js';
import { isWcsFailure, parseWcsHeader, wcsHeaderCards } from '../wcs/header.js';
import { isMapProjection } from '../wcs/wcs.js';
import type { MapDataset, Placement, RunMeta } from './dataset.js';
import { gtiHdu, gtiOfTable } from './gti.js';

/**
 * Version of the PIPEDSET record; readers refuse other versions. 2: COUNTS may be stored as integers (see
 * countsOnDisk); a version-1 file (float32 counts) reads the same.
 */
export const DATASET_FORMAT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

interface DatasetRecord {
  version: number;
  name: string;
  placement: Placement;
  livetime: number;
  ontime: number;
  runs: RunMeta[];
  energyEdges: number[];
  energyTrueEdges: number[];
  radEdges?: number[];
}

export interface DatasetReadFailure {
  reason: 'dataset-invalid';
  file: string;
  message: string;
}

/** The HDUs of a dataset file. */
export function datasetHdus(ds: MapDataset): HduSpec[] {
  const { geom, irfGeom } = ds;
  const nE = nbins(ds.energy);
  const nT = nbins(ds.energyTrue);
  const wcs = wcsHeaderCards(geom.wcs);
  const reco: MapAxisSpec = { kind: 'reco', edges: ds.energy.edges, unit: 'TeV' };
  const truth: MapAxisSpec = { kind: 'true', edges: ds.energyTrue.edges, unit: 'TeV' };
  const record: DatasetRecord = {
    version: DATASET_FORMAT_VERSION,
    name: ds.name,
    placement: ds.placement,
    livetime: ds.livetime,
    ontime: ds.ontime,
    runs: ds.runs,
    energyEdges: Array.from(ds.energy.edges),
    energyTrueEdges: Array.from(ds.energyTrue.edges),
    ...(ds.psf ? { radEdges: Array.from(ds.psf.radEdges) } : {}),
  };
  const primary: CardInput[] = [{ key: 'PIPEDSET', value: JSON.stringify(record) }];
  const hdus: HduSpec[] = [
    emptyPrimary(primary),
    ...mapHdus({
      hduName: 'COUNTS',
      data: countsOnDisk(ds.counts),
      shape: [nE, geom.ny, geom.nx],
      wcsHeader: wcs,
      axis: reco,
    }),
    ...mapHdus({
      hduName: 'EXPOSURE',
      data: ds.exposure,
      shape: [nT, geom.ny, geom.nx],
      wcsHeader: wcs,
      axis: truth,
      bunit: 'm2 s',
      meta: JSON.stringify({ livetime: `${ds.livetime} s` }),
    }),
    ...mapHdus({
      hduName: 'BACKGROUND',
      data: ds.background,
      shape: [nE, geom.ny, geom.nx],
      wcsHeader: wcs,
      axis: reco,
    }),
    ...mapHdus({
      hduName: 'MASK_SAFE',
      data: ds.maskSafe,
      shape: [nE, geom.ny, geom.nx],
      wcsHeader: wcs,
      axis: reco,
    }),
  ];
  // gammapy's MapDatasetOnOff.write names them so.
  if (ds.onOff)
    for (const [hduName, data] of [
      ['COUNTS_OFF', ds.onOff.countsOff],
      ['ACCEPTANCE', ds.onOff.acceptance],
      ['ACCEPTANCE_OFF', ds.onOff.acceptanceOff],
    ] as const)
      hdus.push(...mapHdus({ hduName, data, shape: [nE, geom.ny, geom.nx], wcsHeader: wcs, axis: reco }));
  // The IRF maps as gammapy's PSFMap and EDispKernelMap write them, so that gammapy's MapDataset.read opens the file:
  // [rad, energy_true] and [energy, energy_true] axes in *_BANDS tables, and their exposure maps with the first axis
  // squashed to one bin (the same values: a size-1 axis does not move a byte).
  const irfWcs = wcsHeaderCards(irfGeom.wcs);
  const irfMap = (hduName: string, data: MapFitsSpec['data'], axes: MapAxisSpec[], bunit: string) =>
    mapHdus({
      hduName,
      data,
      shape: [...axes.map((a) => a.edges.length - 1).reverse(), irfGeom.ny, irfGeom.nx],
      wcsHeader: irfWcs,
      axes,
      bunit,
    });
  const squashed = (axis: MapAxisSpec): MapAxisSpec => ({
    ...axis,
    edges: [axis.edges[0] as number, axis.edges[axis.edges.length - 1] as number],
  });
  if (ds.psf) {
    const rad: MapAxisSpec = { kind: 'rad', edges: ds.psf.radEdges, unit: 'deg' };
    hdus.push(
      ...irfMap('PSF', ds.psf.data, [rad, truth], 'sr-1'),
      ...irfMap('PSF_EXPOSURE', ds.psf.exposure, [squashed(rad), truth], 'm2 s'),
    );
  }
  if (ds.edisp) {
    hdus.push(
      ...irfMap('EDISP', ds.edisp.data, [reco, truth], ''),
      ...irfMap('EDISP_EXPOSURE', ds.edisp.exposure, [squashed(reco), truth], 'm2 s'),
    );
  }
  if (ds.gti) hdus.push(gtiHdu(ds.gti));
  return hdus;
}

/**
 * The counts cube in the smallest integer type that holds every value exactly (uint8, uint16, int32), or as it is
 * (float32) when one is not a whole number in int32's range (or is −0). A run's counts are mostly zeros and ones:
 * as uint8 its file is 1.2 MB smaller (of 9.7 MB on PKS 2155's 200×200×10 maps), bytes that are otherwise
 * written, hashed, copied into the cache, synced to disk and read back by the stack. Read back as float32.
 */
function countsOnDisk(counts: Float32Array): Float32Array | Uint8Array | Uint16Array | Int32Array {
  let max = 0;
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    if (!(Number.isInteger(v) && v >= 0) || (v === 0 && 1 / v < 0)) return counts;
    if (v > max) max = v;
  }
  const out =
    max <= 0xff
      ? new Uint8Array(counts.length)
      : max <= 0xffff
        ? new Uint16Array(counts.length)
        : max <= 0x7fffffff
          ? new Int32Array(counts.length)
          : undefined;
  if (!out) return counts;
  out.set(counts);
  return out;
}

/** COUNTS as float32, from the float32 or whole-number integer pixels {@link countsOnDisk} writes. */
function countsFromDisk(data: unknown): Float32Array | string {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Int32Array)
    return new Float32Array(data);
  return 'COUNTS has the wrong pixel type';
}

/** Writes a dataset (gzip when the path ends in .gz), atomically. */
export function writeDataset(path: string, ds: MapDataset, options: WriteFitsOptions = {}): void {
  writeFits(path, datasetHdus(ds), options);
}

function geomOf(file: FitsFile, name: string): WcsGeom | string {
  const h = file.hdu(name);
  const wcs = parseWcsHeader(h.header);
  if (isWcsFailure(wcs)) return `${name}: ${wcs.message}`;
  // A map grid: the kernels project CAR and TAN only (other projections are read for exclusion masks).
  if (!isMapProjection(wcs.projection))
    return `${name}: projection ${wcs.projection} is not CAR or TAN (a dataset's map)`;
  const naxes = h.image().naxes;
  return { wcs, nx: naxes[0] as number, ny: naxes[1] as number };
}

function as<T>(data: unknown, ctor: new (...a: never[]) => T, hdu: string): T | string {
  return data instanceof ctor ? data : `${hdu} has the wrong pixel type`;
}

/** Reads a dataset written by {@link writeDataset}. FITS-level problems throw FitsError. */
export function readDataset(path: string): MapDataset | DatasetReadFailure {
  // The file's bytes are ours and read once: images are decoded where they lie, not copied.
  return datasetOfFile(readFitsSync(path, { decodeInPlace: true }), path);
}

/** {@link readDataset} with the file read (and gunzipped) on the thread pool. */
export async function readDatasetAsync(path: string): Promise<MapDataset | DatasetReadFailure> {
  return datasetOfFile(await readFits(path, { decodeInPlace: true }), path);
}

/**
 * The datasets of `paths`, in order, each file read on the thread pool while the caller works on the one before
 * (on two cores, the read of run i + 1 overlaps the stacking of run i); one read ahead, so at most two datasets
 * are in memory. A dataset's arrays are valid until the caller asks for the next one: their memory is
 * then reused (the caller copies what it keeps, as DatasetStacker.add does).
 */
export async function* readDatasetsInOrder(
  paths: readonly string[],
): AsyncGenerator<MapDataset | DatasetReadFailure> {
  const read = (path: string, reuse: Uint8Array | undefined) => {
    const bytes = loadFileBytesWhole(path, reuse);
    // A read the caller no longer waits for (it stopped at a failure) must not be an unhandled rejection.
    bytes.catch(() => undefined);
    return bytes;
  };
  // Two buffers take turns: the dataset the caller holds lives in one (decoded in place), the next file is read
  // into the other, which held the dataset before (the caller is done with it once it asks for the next).
  let spare: Uint8Array | undefined;
  let next = paths.length > 0 ? read(paths[0]!, undefined) : undefined;
  for (let i = 0; i < paths.length; i++) {
    const bytes = await next!;
    next = i + 1 < paths.length ? read(paths[i + 1]!, spare) : undefined;
    yield datasetOfFile(parseFits(bytes, paths[i]!, { decodeInPlace: true }), paths[i]!);
    spare = bytes;
  }
}

function datasetOfFile(file: FitsFile, path: string): MapDataset | DatasetReadFailure {
  const bad = (message: string): DatasetReadFailure => ({ reason: 'dataset-invalid', file: path, message });
  const raw = file.hdu(0).header.string('PIPEDSET');
  if (raw === undefined) return bad('no PIPEDSET card: not a pipe dataset file');
  const rec = JSON.parse(raw) as DatasetRecord;
  if (!READABLE_VERSIONS.includes(rec.version))
    return bad(`dataset format version ${rec.version}; this reader knows ${READABLE_VERSIONS.join(' and ')}`);
  const geom = geomOf(file, 'COUNTS');
  if (typeof geom === 'string') return bad(geom);
  const counts = countsFromDisk(file.hdu('COUNTS').image().data);
  const exposure = as(file.hdu('EXPOSURE').image().data, Float32Array, 'EXPOSURE');
  const background = as(file.hdu('BACKGROUND').image().data, Float32Array, 'BACKGROUND');
  const maskSafe = as(file.hdu('MASK_SAFE').image().data, Uint8Array, 'MASK_SAFE');
  for (const v of [counts, exposure, background, maskSafe]) if (typeof v === 'string') return bad(v);
  let irfGeom: WcsGeom = geom;
  const ds: MapDataset = {
    name: rec.name,
    geom,
    irfGeom,
    placement: rec.placement,
    energy: { kind: 'reco', edges: Float64Array.from(rec.energyEdges) },
    energyTrue: { kind: 'true', edges: Float64Array.from(rec.energyTrueEdges) },
    counts: counts as Float32Array,
    exposure: exposure as Float32Array,
    background: background as Float32Array,
    maskSafe: maskSafe as Uint8Array,
    livetime: rec.livetime,
    ontime: rec.ontime,
    runs: rec.runs.map((r) => ({ ...r, fovNormErr: r.fovNormErr ?? Number.NaN })),
  };
  if (file.has('PSF') || file.has('EDISP')) {
    const g = geomOf(file, file.has('PSF') ? 'PSF' : 'EDISP');
    if (typeof g === 'string') return bad(g);
    irfGeom = g;
    ds.irfGeom = g;
  }
  if (file.has('PSF')) {
    const data = as(file.hdu('PSF').image().data, Float32Array, 'PSF');
    const exp = as(file.hdu('PSF_EXPOSURE').image().data, Float32Array, 'PSF_EXPOSURE');
    if (typeof data === 'string' || typeof exp === 'string' || !rec.radEdges)
      return bad('PSF maps unreadable (pixel type or rad axis)');
    ds.psf = { radEdges: Float64Array.from(rec.radEdges), data, exposure: exp };
  }
  if (file.has('EDISP')) {
    const data = as(file.hdu('EDISP').image().data, Float64Array, 'EDISP');
    const exp = as(file.hdu('EDISP_EXPOSURE').image().data, Float32Array, 'EDISP_EXPOSURE');
    if (typeof data === 'string' || typeof exp === 'string') return bad('EDISP maps unreadable (pixel type)');
    ds.edisp = { data, exposure: exp };
  }
  if (file.has('GTI')) {
    const table = file.hdu('GTI').table();
    const gti = gtiOfTable(table.header, (name) => table.scalarFloat64(name));
    if (typeof gti === 'string') return bad(gti);
    ds.gti = gti;
  }
  if (ds.counts.length !== nbins(ds.energy) * npix(geom))
    return bad('COUNTS shape does not match its energy axis');
  if (file.has('COUNTS_OFF')) {
    const offMap = (name: string): Float32Array | string => {
      if (!file.has(name)) return `${name} is missing beside COUNTS_OFF`;
      const data = as(file.hdu(name).image().data, Float32Array, name);
      return typeof data !== 'string' && data.length !== ds.counts.length
        ? `${name} is not the shape of COUNTS`
        : data;
    };
    const countsOff = offMap('COUNTS_OFF');
    const acceptance = offMap('ACCEPTANCE');
    const acceptanceOff = offMap('ACCEPTANCE_OFF');
    for (const v of [countsOff, acceptance, acceptanceOff]) if (typeof v === 'string') return bad(v);
    ds.onOff = {
      countsOff: countsOff as Float32Array,
      acceptance: acceptance as Float32Array,
      acceptanceOff: acceptanceOff as Float32Array,
    };
  }
  return ds;
}

export function isDatasetReadFailure(v: MapDataset | DatasetReadFailure): v is DatasetReadFailure {
  return 'reason' in v;
}

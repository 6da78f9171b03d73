/**
 * Writing FITS files: image HDUs and binary-table HDUs from typed arrays, optional gzip, atomic on disk
 * (temporary file, fsync, rename), so that no half-written file is ever visible under its final name.
 */
import { closeSync, createWriteStream, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gzip, gzipSync, constants as zlibConstants } from 'node:zlib';
import { type NumericArray, swapInPlace, toBigEndian } from './bigendian.js';
import { type CardInput, encodeHeader } from './cards.js';
import { FitsError } from './errors.js';
import { BLOCK } from './header.js';
import { encodeTable, type TableColumnSpec } from './write-table.js';

/** An image HDU. `shape` is in C order (slowest first, e.g. [energy][y][x]); `data` is in that order. */
export interface ImageHduSpec {
  kind: 'image';
  data: NumericArray;
  shape: number[];
  /** EXTNAME (not written for a primary HDU unless given). */
  name?: string;
  /** Extra cards after the structural ones; structural keywords given here are ignored. */
  cards?: CardInput[];
}

/** A binary-table HDU. */
export interface TableHduSpec {
  kind: 'bintable';
  name: string;
  columns: TableColumnSpec[];
  /** Row count; deduced from the first column when absent. */
  rows?: number;
  cards?: CardInput[];
}

export type HduSpec = ImageHduSpec | TableHduSpec;

/** Keywords the writer generates itself; the same keys among user cards are dropped. */
const STRUCTURAL =
  /^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|TTYPE\d+|TFORM\d+|TUNIT\d+|TDIM\d+|THEAP|EXTNAME|BSCALE|BZERO|END)$/;

const BITPIX: [new (...a: never[]) => NumericArray, number, bigint?][] = [
  [Uint8Array, 8],
  [Int8Array, 8, -128n],
  [Int16Array, 16],
  [Uint16Array, 16, 32768n],
  [Int32Array, 32],
  [Uint32Array, 32, 2147483648n],
  [BigInt64Array, 64],
  [BigUint64Array, 64, 9223372036854775808n],
  [Float32Array, -32],
  [Float64Array, -64],
];

function userCards(cards: CardInput[] | undefined): CardInput[] {
  return (cards ?? []).filter((c) => c.value === undefined || !STRUCTURAL.test(c.key.toUpperCase()));
}

function encodeImage(
  spec: ImageHduSpec,
  primary: boolean,
  extend: boolean,
  file: string,
  index: number,
): Part[] {
  const entry = BITPIX.find(([ctor]) => spec.data instanceof ctor);
  if (!entry) throw new FitsError('write-failed', { file, hdu: index }, 'unsupported image array type');
  const [, bitpix, zero] = entry;
  const count = spec.shape.length === 0 ? 0 : spec.shape.reduce((a, b) => a * b, 1);
  if (count !== spec.data.length) {
    throw new FitsError(
      'write-failed',
      { file, hdu: spec.name ?? index },
      `shape ${spec.shape.join('×')} needs ${count} values, data has ${spec.data.length}`,
    );
  }
  const naxes = [...spec.shape].reverse();
  const cards: CardInput[] = primary
    ? [{ key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' }]
    : [{ key: 'XTENSION', value: 'IMAGE', comment: 'Image extension' }];
  cards.push(
    { key: 'BITPIX', value: bitpix, comment: 'array data type' },
    { key: 'NAXIS', value: naxes.length, comment: 'number of array dimensions' },
  );
  for (const [i, n] of naxes.entries()) cards.push({ key: `NAXIS${i + 1}`, value: n });
  if (primary) {
    if (extend) cards.push({ key: 'EXTEND', value: true });
  } else
    cards.push(
      { key: 'PCOUNT', value: 0, comment: 'number of parameters' },
      { key: 'GCOUNT', value: 1, comment: 'number of groups' },
    );
  if (zero !== undefined)
    cards.push(
      { key: 'BSCALE', value: 1 },
      { key: 'BZERO', value: zero <= 2n ** 53n && zero >= -(2n ** 53n) ? Number(zero) : zero },
    );
  if (spec.name !== undefined) cards.push({ key: 'EXTNAME', value: spec.name, comment: 'extension name' });
  cards.push(...userCards(spec.cards));
  const data: NativeData = { native: spec.data, signFlip: zero !== undefined };
  return [encodeHeader(cards), ...pad(data, spec.data.byteLength)];
}

/** Image data still in native byte order: made big-endian when written (or joined into one buffer). */
interface NativeData {
  native: NumericArray;
  /** Unsigned integers stored as signed + BZERO: flip the sign bit of each word. */
  signFlip: boolean;
}

/** A piece of a FITS file: bytes as they are, or native image data. */
type Part = Uint8Array | NativeData;

/** Big-endian bytes of native data (a copy). */
function bigEndianBytes({ native, signFlip }: NativeData): Uint8Array {
  const data = toBigEndian(native);
  if (signFlip) flipSignBits(data, native.BYTES_PER_ELEMENT);
  return data;
}

function flipSignBits(bigEndian: Uint8Array, width: number): void {
  for (let i = 0; i < bigEndian.length; i += width) bigEndian[i] = (bigEndian[i] as number) ^ 0x80; // unsigned → signed + BZERO
}

const partBytes = (p: Part): Uint8Array => (p instanceof Uint8Array ? p : bigEndianBytes(p));

function encodeBinTable(spec: TableHduSpec, file: string): Uint8Array[] {
  const where = { file, hdu: spec.name };
  const table = encodeTable(spec.columns, spec.rows, where);
  const cards: CardInput[] = [
    { key: 'XTENSION', value: 'BINTABLE', comment: 'binary table extension' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 2, comment: 'number of array dimensions' },
    { key: 'NAXIS1', value: table.rowBytes, comment: 'length of dimension 1' },
    { key: 'NAXIS2', value: table.rows, comment: 'length of dimension 2' },
    { key: 'PCOUNT', value: 0, comment: 'number of group parameters' },
    { key: 'GCOUNT', value: 1, comment: 'number of groups' },
    { key: 'TFIELDS', value: spec.columns.length, comment: 'number of table fields' },
    // astropy's order for a table built from metadata: user cards, EXTNAME, then the column cards
    ...userCards(spec.cards),
    { key: 'EXTNAME', value: spec.name, comment: 'extension name' },
    ...table.columnCards,
  ];
  return [encodeHeader(cards), ...pad(table.bytes, table.bytes.length)];
}

/** The data and, as a separate part, the zeros that fill its last block (no copy of the data itself). */
function pad<T extends Part>(data: T, length: number): (T | Uint8Array)[] {
  const size = Math.ceil(length / BLOCK) * BLOCK;
  return size === length ? [data] : [data, new Uint8Array(size - length)];
}

/**
 * Encodes HDUs as FITS bytes. The first HDU must be an image (use an empty one, shape [] and an empty
 * Float32Array, for a table-only file); it becomes the primary HDU.
 */
export function encodeFits(hdus: readonly HduSpec[], file = '<memory>'): Uint8Array {
  return concatBytes(encodeParts(hdus, file).map(partBytes));
}

/** The pieces of {@link encodeFits} in order (headers, data, padding), image data left in native byte order. */
function encodeParts(hdus: readonly HduSpec[], file: string): Part[] {
  const first = hdus[0];
  if (first?.kind !== 'image')
    throw new FitsError('write-failed', { file, hdu: 0 }, 'the first HDU must be an image (the primary HDU)');
  return hdus.flatMap((h, i) =>
    h.kind === 'image' ? encodeImage(h, i === 0, hdus.length > 1, file, i) : encodeBinTable(h, file),
  );
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An empty primary HDU, for files whose content is all in extensions. */
export function emptyPrimary(cards?: CardInput[]): ImageHduSpec {
  return cards
    ? { kind: 'image', data: new Uint8Array(0), shape: [], cards }
    : { kind: 'image', data: new Uint8Array(0), shape: [] };
}

export interface WriteFitsOptions extends WriteFileOptions {
  /** gzip the file; default: when the path ends in `.gz`. */
  gzip?: boolean;
}

/** How a file is put on disk. */
export interface WriteFileOptions {
  /**
   * fsync before the rename (default true). A pipeline step passes false: the engine stores its outputs in the
   * cache and publishes them durably itself, so a second fsync of the step's temporary output only costs time.
   */
  durable?: boolean;
}

/**
 * gzip of FITS data. Run-length deflate: float pixels barely compress whatever the level, so the default
 * strategy's match search costs 2–5× the time for the same size, while RLE still shrinks masks and counts
 * (often better than level 6). The output is ordinary gzip (astropy and gammapy read it).
 */
export function gzipFits(raw: Uint8Array): Uint8Array {
  return gzipSync(raw, GZIP_OPTIONS);
}

const GZIP_OPTIONS = { level: 6, strategy: zlibConstants.Z_RLE };
const gzipAsync = promisify(gzip);

/**
 * Below this, a file is compressed on the calling thread: the thread pool's round trip (a zlib stream per call)
 * costs more than compressing it (the Crab excess map's one-bin products: ~40 kB each, well under a millisecond).
 * A 200² one-bin map (160 kB, ~1.7 ms) goes to the pool: an excess map's ten compress beside this thread's work.
 */
const POOL_GZIP_MIN_BYTES = 1 << 17;

/** {@link gzipFits} on the thread pool: several files compress in parallel while this thread goes on. */
export async function gzipFitsAsync(raw: Uint8Array): Promise<Uint8Array> {
  return raw.byteLength < POOL_GZIP_MIN_BYTES ? gzipFits(raw) : gzipAsync(raw, GZIP_OPTIONS);
}

/** As {@link writeFits}, with the gzip (when asked) done on the thread pool. */
export async function writeFitsAsync(
  path: string,
  hdus: readonly HduSpec[],
  options: WriteFitsOptions = {},
): Promise<void> {
  const parts = encodeParts(hdus, path);
  if (!(options.gzip ?? path.endsWith('.gz'))) return writePartsAtomic(path, parts, options);
  if (partsLength(parts) >= STREAM_GZIP_MIN_BYTES) return writeGzipStreamAtomic(path, parts, options);
  writeFileAtomic(path, await gzipFitsAsync(concatBytes(parts.map(partBytes))), options);
}

/**
 * From this size a gzip file is compressed as a stream, a chunk at a time, to disk: joined and compressed whole, a
 * survey's 960 MB exposure cube took its size three times over (the joined copy, zlib's output chunks, their join),
 * with four such products written at once.
 */
export const STREAM_GZIP_MIN_BYTES = 32 << 20;

function partsLength(parts: readonly Part[]): number {
  return parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.native.byteLength), 0);
}

/** As writePartsAtomic, gzip-compressed on the thread pool chunk by chunk: the bytes are never joined or copied whole. */
async function writeGzipStreamAtomic(
  path: string,
  parts: readonly Part[],
  options: WriteFileOptions,
): Promise<void> {
  const tmp = tempSibling(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const file = fd;
    const gz = createGzip({ ...GZIP_OPTIONS, chunkSize: SWAP_CHUNK });
    // To the file with the streams' backpressure: a slow disk holds zlib back, not compressed bytes in memory.
    const written = pipeline(gz, createWriteStream(tmp, { fd: file, autoClose: false }));
    written.catch(() => undefined); // awaited below; a failure also fails the feed
    // One chunk in flight: the swap buffer is reused once zlib has taken it (the write's callback).
    const feed = (bytes: Uint8Array) =>
      new Promise<void>((resolve, reject) => gz.write(bytes, (e) => (e ? reject(e) : resolve())));
    // A buffer of its own: several products are written at once.
    const swap = new Uint8Array(SWAP_CHUNK);
    for (const part of parts) for (const chunk of bigEndianChunks(part, swap)) await feed(chunk);
    gz.end();
    await written;
    if (options.durable !== false) fsyncSync(file);
    closeSync(file);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new FitsError('write-failed', { file: path }, `cannot write: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Writes HDUs to `path` atomically (temporary file in the same directory, fsync unless not durable, rename). */
export function writeFits(path: string, hdus: readonly HduSpec[], options: WriteFitsOptions = {}): void {
  const parts = encodeParts(hdus, path);
  // Uncompressed: the pieces go to disk one by one, image data byte-swapped through a small reused buffer, never
  // joined or copied whole (a dataset is tens of MB).
  if (options.gzip ?? path.endsWith('.gz'))
    writeFileAtomic(path, gzipFits(concatBytes(parts.map(partBytes))), options);
  else writePartsAtomic(path, parts, options);
}

/** Writes bytes to `path` via a temporary sibling, fsync (unless `durable: false`) and rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array, options: WriteFileOptions = {}): void {
  writePartsAtomic(path, [bytes], options);
}

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

/** Writes the pieces in order to `path` via a temporary sibling, fsync (unless `durable: false`) and rename. */
function writePartsAtomic(path: string, parts: readonly Part[], options: WriteFileOptions): void {
  const tmp = tempSibling(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const part of parts) {
        if (part instanceof Uint8Array) writeAllSync(fd, part);
        else writeBigEndian(fd, part);
      }
      if (options.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FitsError('write-failed', { file: path }, `cannot write: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Bytes per write of byte-swapped image data: a multiple of every word width, small enough to stay in cache. */
const SWAP_CHUNK = 1 << 20;
let swapBuffer: Uint8Array | undefined;

/** Native image data written big-endian, a chunk at a time through one reused buffer. */
function writeBigEndian(fd: number, data: NativeData): void {
  swapBuffer ??= new Uint8Array(SWAP_CHUNK);
  for (const chunk of bigEndianChunks(data, swapBuffer)) writeAllSync(fd, chunk);
}

/**
 * A part's bytes as the file holds them: bytes as they are; native data big-endian (and sign-flipped), a chunk at a
 * time in `swap`, which each chunk overwrites: a chunk is to be written before the next is asked for.
 */
function* bigEndianChunks(part: Part, swap: Uint8Array): Generator<Uint8Array> {
  // Bytes as they are go in pieces of the swap's size, not copied: a stream then holds one piece at a time, not a cube.
  if (part instanceof Uint8Array) {
    yield* pieces(part, swap.length);
    return;
  }
  const width = part.native.BYTES_PER_ELEMENT;
  const src = new Uint8Array(part.native.buffer, part.native.byteOffset, part.native.byteLength);
  if (width === 1 && !part.signFlip) {
    yield* pieces(src, swap.length);
    return;
  }
  for (let at = 0; at < src.length; at += swap.length) {
    const chunk = swap.subarray(0, Math.min(swap.length, src.length - at));
    chunk.set(src.subarray(at, at + chunk.length));
    if (width > 1) swapInPlace(chunk, width);
    if (part.signFlip) flipSignBits(chunk, width);
    yield chunk;
  }
}

function* pieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

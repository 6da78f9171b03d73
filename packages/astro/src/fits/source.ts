/**
 * Bytes of a FITS file from disk: plain or gzip-compressed (detected by the magic bytes, not the name).
 */
import { constants as bufferConstants } from 'node:buffer';
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { FitsError } from './errors.js';

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a file and decompresses it when it is gzip. */
export async function loadFitsBytes(path: string): Promise<Uint8Array> {
  // Not readFile: it refuses a file over 2 GiB (ERR_FS_FILE_TOO_LARGE), a plain event list of ~8e7 events.
  const raw = await loadFileBytesWhole(path);
  if (!isGzip(raw)) return raw;
  try {
    return await gunzipAsync(raw, { chunkSize: outputChunk(raw) });
  } catch (e) {
    throw gzipError(path, e);
  }
}

/** Deflate expands at most ~1032:1: an ISIZE beyond that is no size (a truncated file's last bytes). */
const MAX_INFLATE_RATIO = 1032;
const MIN_CHUNK = 64 * 1024;

/**
 * The output chunk for gunzipping `raw`: the size its gzip trailer (ISIZE) gives, so that the output is one buffer.
 * zlib's default of 16 KiB made a 2.2 GB event list 137,000 chunks, then copied them into one: 23 s and twice the
 * memory, against 13 s. ISIZE is the size mod 2³²: a larger (or multi-member) stream just takes more chunks.
 */
function outputChunk(raw: Uint8Array): number {
  if (raw.length < 18) return MIN_CHUNK;
  const isize = new DataView(raw.buffer, raw.byteOffset + raw.length - 4, 4).getUint32(0, true);
  const bound = Math.min(raw.length * MAX_INFLATE_RATIO, bufferConstants.MAX_LENGTH - 1, 0xffffffff - 1);
  return Math.max(MIN_CHUNK, Math.min(isize + 1, bound));
}

/**
 * Reads a file's bytes (as they are: no gunzip) in one read call on the thread pool, into a buffer of the file's
 * size: for reading a large file on another core while this thread works on the previous one. The file is opened
 * and sized here, synchronously (microseconds), so that the read is the only thing left for the thread pool: an
 * awaited open, stat and read each need this thread's event loop to issue the next, which it cannot while it
 * decodes the previous file, and the read then happened in the await instead of beside the work (readFile is worse:
 * 512 KiB chunks, one round trip each). With `reuse`, the bytes go into that buffer when it is large enough (its
 * earlier contents are lost).
 */
export function loadFileBytesWhole(path: string, reuse?: Uint8Array): Promise<Uint8Array> {
  let opened: OpenedWhole;
  try {
    opened = openWhole(path, reuse);
  } catch (e) {
    return Promise.reject(e);
  }
  const { fd: file, size, buf } = opened;
  return new Promise((resolve, reject) => {
    // Closes the file whatever the outcome; a file that shrank while read gives the bytes it had.
    const finish = (at: number, error?: unknown): void => {
      closeQuietly(file);
      if (error !== undefined) reject(ioError(path, error));
      else resolve(at === size ? buf : buf.subarray(0, at));
    };
    const readFrom = (at: number): void => {
      if (at >= size) return finish(at);
      try {
        // One read call takes at most 2³¹ − 1 bytes.
        read(file, buf, at, Math.min(size - at, MAX_READ), at, (err, bytesRead) => {
          if (err) finish(at, err);
          else if (bytesRead === 0) finish(at);
          else readFrom(at + bytesRead);
        });
      } catch (e) {
        finish(at, e);
      }
    };
    readFrom(0);
  });
}

const MAX_READ = 0x7fffffff;

interface OpenedWhole {
  fd: number;
  size: number;
  buf: Uint8Array;
}

/**
 * A file opened to be read whole: its descriptor, size and a buffer of that size (`reuse` when large enough: fresh
 * memory costs a page fault per 4 KiB on first touch, which for a stack of 8 MB dataset files took longer than
 * reading them, ~8 ms against ~1 ms each). Throws a FitsError naming the file; nothing stays open then.
 */
function openWhole(path: string, reuse?: Uint8Array): OpenedWhole {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    tooLargeCheck(path, size);
    const buf = reuse && reuse.byteLength >= size ? reuse.subarray(0, size) : Buffer.allocUnsafe(size);
    return { fd, size, buf };
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    throw e instanceof FitsError ? e : ioError(path, e);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing was written through it: a failed close loses nothing.
  }
}

/** Synchronous form of {@link loadFitsBytes}. */
export function loadFitsBytesSync(path: string): Uint8Array {
  return decompressIfGzip(readFileBytesSync(path), path);
}

/**
 * A file's bytes, read synchronously in calls of at most `maxRead` bytes: readFileSync refuses a file over 2 GiB
 * (ERR_FS_FILE_TOO_LARGE), and one read call takes at most 2³¹ − 1 bytes.
 */
export function readFileBytesSync(path: string, maxRead = MAX_READ): Uint8Array {
  const { fd, size, buf } = openWhole(path);
  try {
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, Math.min(size - at, maxRead), at);
      if (n === 0) break; // the file shrank while read: the bytes it had
      at += n;
    }
    return at === size ? buf : buf.subarray(0, at);
  } catch (e) {
    throw ioError(path, e);
  } finally {
    closeQuietly(fd);
  }
}

/** Files are read whole into one buffer: one larger than a Buffer can be is refused by name, not by a RangeError. */
function tooLargeCheck(path: string, size: number): void {
  if (size > bufferConstants.MAX_LENGTH)
    throw new FitsError(
      'io',
      { file: path },
      `file is ${sizeText(size)}: pipe reads a FITS file whole, in one buffer of at most ${sizeText(bufferConstants.MAX_LENGTH)} (split the events into several runs)`,
    );
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${bytes} bytes`;
}

/** Decompresses in-memory bytes when they are gzip (into at most `maxOutput` bytes, one Buffer's limit). */
export function decompressIfGzip(
  raw: Uint8Array,
  name: string,
  maxOutput: number = bufferConstants.MAX_LENGTH,
): Uint8Array {
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: maxOutput, chunkSize: outputChunk(raw) });
  } catch (e) {
    throw gzipError(name, e, maxOutput);
  }
}

function ioError(path: string, e: unknown): FitsError {
  const code = (e as NodeJS.ErrnoException).code;
  const what = code === 'ENOENT' ? 'no such file' : `cannot read file (${code ?? String(e)})`;
  return new FitsError('io', { file: path }, what, { cause: e });
}

function gzipError(path: string, e: unknown, maxOutput: number = bufferConstants.MAX_LENGTH): FitsError {
  const msg = (e as Error).message ?? String(e);
  // Not a corrupt stream: its content is larger than one buffer holds.
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
    return new FitsError(
      'io',
      { file: path },
      `decompresses to more than ${sizeText(maxOutput)}: pipe reads a FITS file whole, in one buffer of at most that size (split the events into several runs)`,
      { cause: e },
    );
  const truncated = /unexpected end/i.test(msg) || (e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR';
  return new FitsError(
    truncated ? 'truncated-gzip' : 'io',
    { file: path },
    truncated ? 'gzip stream is truncated (unexpected end of file)' : `gzip stream is corrupt: ${msg}`,
    { cause: e },
  );
}

import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fchmodSync,
  fsync,
  open as openCb,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { makeDirs } from './make-dirs.js';

/** Prefix of every temporary file; `verify()`/`gc()` recognise (and clean up) stale ones by it. */
export const TEMP_PREFIX = '.tmp-';
const STAGING_BYTES = 1 << 20;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * What makes a temp name unique within this process: a random token drawn once per thread (module instance)
 * and a counter. (A random draw per name cost ~15 µs here, a measurable share of storing 1,000 small outputs.)
 */
const UNIQUE = `${randomBytes(6).toString('hex')}.${threadId}`;
let tempCount = 0;

/** A temporary name next to `dest` (same directory, so the final rename is atomic), naming host and pid. */
export function tempPathFor(dest: string): string {
  return join(
    dirname(dest),
    `${TEMP_PREFIX}${HOST}~${process.pid}~${UNIQUE}.${tempCount++}~${basename(dest)}`,
  );
}

/** tempPathFor's names: `.tmp-<host>~<pid>~<12 hex>.<thread>.<n>~<name>`. */
const TEMP_NAME = /^\.tmp-[A-Za-z0-9._-]+~\d+~[0-9a-f]{12}\.\d+\.\d+~/;

/**
 * True when a temp file can no longer belong to a live writer: written by a dead process of this host,
 * or older than `maxAgeMs` (another host's, whose processes we cannot see — e.g. on a shared Slurm FS).
 */
export function isStaleTemp(name: string, mtimeMs: number, maxAgeMs: number, now = Date.now()): boolean {
  // Only a name tempPathFor makes: a user's own `.tmp-notes.txt` beside a product is not pipe's to remove.
  if (!TEMP_NAME.test(name)) return false;
  const [host, pidText] = name.slice(TEMP_PREFIX.length).split('~');
  if (host === HOST && pidText !== undefined && /^\d+$/.test(pidText) && !processAlive(Number(pidText)))
    return true;
  return now - mtimeMs > maxAgeMs;
}

/** Whether process `pid` of this host exists (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename in it survives a crash (best effort: some file systems refuse). */
export function syncDir(dir: string): Promise<void> {
  // Not supported everywhere (e.g. some network file systems); the rename itself is still atomic.
  return syncPath(dir).catch(() => undefined);
}

export interface StreamedFile {
  sha256: string;
  size: number;
}

/**
 * Write the first `length` bytes of `data` whole: a write may take fewer bytes than asked (a disk that fills up
 * takes what fits, and only the next write fails with ENOSPC), so the rest is written again until all is on disk.
 */
export async function writeAll(
  fh: Pick<FileHandle, 'write'>,
  data: Uint8Array,
  length: number,
): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(data, off, length - off);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    off += bytesWritten;
  }
}

/**
 * Write `chunks` to `dest` atomically: to a temp file in dest's directory, fsync, then rename. The data is
 * hashed on the way; with `expectedSha256`, a mismatch removes the temp file and leaves `dest` untouched.
 * Memory stays bounded by one chunk. Never leaves a partial file under `dest`.
 */
export async function writeStreamAtomic(
  dest: string,
  chunks: AsyncIterable<Uint8Array>,
  options: { expectedSha256?: string; mode?: number } = {},
): Promise<{ ok: true; file: StreamedFile } | { ok: false; actual: StreamedFile }> {
  await makeDirs(dirname(dest));
  const tmp = tempPathFor(dest);
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    try {
      // Network chunks are small (16-64 KiB): gather them into one reused 1 MiB buffer per write.
      const staging = Buffer.allocUnsafe(STAGING_BYTES);
      let used = 0;
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.byteLength;
        if (chunk.byteLength >= STAGING_BYTES) {
          if (used > 0) await writeAll(fh, staging, used);
          used = 0;
          await writeAll(fh, chunk, chunk.byteLength);
          continue;
        }
        if (used + chunk.byteLength > STAGING_BYTES) {
          await writeAll(fh, staging, used);
          used = 0;
        }
        staging.set(chunk, used);
        used += chunk.byteLength;
      }
      if (used > 0) await writeAll(fh, staging, used);
      if (options.mode !== undefined) await fh.chmod(options.mode); // open()'s mode is filtered by the umask
      await fh.sync();
    } finally {
      await fh.close();
    }
    const file = { sha256: hash.digest('hex'), size };
    if (options.expectedSha256 !== undefined && file.sha256 !== options.expectedSha256) {
      await rm(tmp, { force: true });
      return { ok: false, actual: file };
    }
    await rename(tmp, dest);
    await syncDir(dirname(dest));
    return { ok: true, file };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Write a small buffer atomically (temp + fsync + rename). */
export async function writeFileAtomic(dest: string, data: Uint8Array, mode = 0o644): Promise<void> {
  await writeStreamAtomic(
    dest,
    (async function* () {
      yield data;
    })(),
    { mode },
  );
}

/** A temp file written but not yet durable: its path, and its descriptor, still open for the fsync. */
export interface OpenTemp {
  path: string;
  fd: number;
}

/**
 * Write a small buffer to a new temp file next to `dest`, without fsync, and return it still open (the caller
 * makes it durable, e.g. through a GroupSync, before renaming it into place). Only the open, which creates the
 * file, goes to the thread pool: creating an inode can take a file system hundreds of µs of kernel time (ext4
 * looking past recently deleted inodes), which must not stall the engine's thread; writing a few KiB into the
 * page cache and fchmod take a few µs, on the calling thread. Small files are the common case of a pipeline's
 * products.
 */
export async function writeTemp(dest: string, data: Uint8Array, mode = 0o644): Promise<OpenTemp> {
  const path = tempPathFor(dest);
  await openingSlot();
  let fd: number;
  try {
    fd = await new Promise<number>((resolve, reject) =>
      openCb(path, 'wx', mode, (error, fd) => (error ? reject(error) : resolve(fd))),
    );
  } finally {
    openingDone();
  }
  try {
    let off = 0;
    while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
    fchmodSync(fd, mode); // open()'s mode is filtered by the umask
  } catch (e) {
    closeQuietly(fd);
    rmSync(path, { force: true });
    throw e;
  }
  return { path, fd };
}

/**
 * Opens of writeTemp in flight at most. The thread pool opens a file as soon as it is asked, and the descriptor is
 * this process's from then on, while the callback that hands it on waits for this thread: a burst of stores (a
 * 100,000-task fan-out ending its tasks faster than this thread stores them) asked for thousands of opens at once,
 * and the descriptors waiting for their callbacks ran the process into its limit (EMFILE at 20,000: manifests not
 * stored, tasks failed). The rest wait here, without a descriptor.
 */
const MAX_OPENING = 64;
let opening = 0;
const waitingToOpen: Array<() => void> = [];

/** Wait for an opening slot (taken when this resolves). */
function openingSlot(): Promise<void> {
  if (opening < MAX_OPENING) {
    opening++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waitingToOpen.push(resolve));
}

/** Give the slot to the next waiter, or back. */
function openingDone(): void {
  const next = waitingToOpen.shift();
  if (next) next();
  else opening--;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Only after an fsync (whose outcome is what counts) or a failure already being reported.
  }
}

/**
 * Group commit of fsyncs. Files written without fsync are queued with `add`; `flush()` resolves once
 * everything queued before the call is on disk (files, then the directories given for their renames).
 * Callers that flush while a round is running share the next round, so a burst of small writes costs
 * one round of parallel fsyncs rather than one fsync (and one directory fsync) each.
 */
export class GroupSync {
  /** Files to sync, by path; with their descriptor when the writer handed it over (see addOpen). */
  private files = new Map<string, number | undefined>();
  private dirs = new Set<string>();
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Descriptors held for coming rounds; past a bound, files are closed at once and opened again to be synced. */
  private held = 0;

  /** Queue a file (by path, e.g. a temp file to rename once durable) and/or a directory whose entries changed. */
  add(file: string | undefined, dir?: string): void {
    if (file !== undefined && !this.files.has(file)) this.files.set(file, undefined);
    if (dir !== undefined) this.dirs.add(dir);
  }

  /** Queue an open file (as writeTemp returns it): the group owns its descriptor and closes it once synced. */
  addOpen(temp: OpenTemp): void {
    const had = this.files.get(temp.path);
    if (had !== undefined) {
      closeQuietly(had);
      this.held--;
    }
    if (this.held >= MAX_HELD_FDS) {
      closeQuietly(temp.fd);
      this.files.set(temp.path, undefined);
      return;
    }
    this.held++;
    this.files.set(temp.path, temp.fd);
  }

  /** Resolves when everything added so far is durable; rejects when an fsync fails. */
  flush(): Promise<void> {
    if (this.files.size === 0 && this.dirs.size === 0) return this.running ?? Promise.resolve();
    this.next ??= (this.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        const files = [...this.files];
        const dirs = [...this.dirs];
        this.files.clear();
        this.dirs.clear();
        this.next = undefined;
        const round = syncRound(files, dirs).finally(() => {
          for (const [, fd] of files) if (fd !== undefined) this.held--;
        });
        this.running = round;
        const settle = () => {
          if (this.running === round) this.running = undefined;
        };
        round.then(settle, settle);
        return round;
      });
    return this.next;
  }
}

/** Bound on the descriptors a GroupSync keeps open between a write and its round. */
const MAX_HELD_FDS = 256;

/**
 * Files first (their data), then directories (the renames that name them); 8 at a time. Only the fsync goes to the
 * thread pool (a file not handed over open is opened and closed on the calling thread, a few µs): one hand-off
 * per file instead of three, each of which wakes a pool thread (~60 µs of this thread's time, here). Every
 * descriptor handed over is closed, whatever fails.
 */
async function syncRound(files: Array<[string, number | undefined]>, dirs: string[]): Promise<void> {
  try {
    for (let i = 0; i < files.length; i += 8) {
      // All settled before a failure is reported: no descriptor is closed under an fsync still running.
      const synced = await Promise.allSettled(files.slice(i, i + 8).map(([path, fd]) => syncPath(path, fd)));
      for (const s of synced) if (s.status === 'rejected') throw s.reason;
    }
  } finally {
    for (const [, fd] of files) if (fd !== undefined) closeQuietly(fd);
  }
  for (let i = 0; i < dirs.length; i += 8) await Promise.all(dirs.slice(i, i + 8).map(syncDir));
}

/**
 * fsync a file or directory: by its open descriptor (left open: the round closes it), else by path (opened
 * read-only, as fsync needs no write access, and closed here).
 */
function syncPath(file: string, open?: number): Promise<void> {
  let fd: number;
  try {
    fd = open ?? openSync(file, 'r');
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<void>((resolve, reject) => {
    fsync(fd, (error) => {
      if (open === undefined) closeQuietly(fd);
      if (error) reject(error);
      else resolve();
    });
  });
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<StreamedFile> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

/** True for "the file is not there" errors (ENOENT, and ENOTDIR for a missing parent). */
export const isMissing = (e: unknown): boolean =>
  ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException | undefined)?.code ?? '');

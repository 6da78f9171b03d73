import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fchmodSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

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

/**
 * True when a temp file can no longer belong to a live writer: written by a dead process of this host,
 * or older than `maxAgeMs` (another host's, whose processes we cannot see — e.g. on a shared Slurm FS).
 */
export function isStaleTemp(name: string, mtimeMs: number, maxAgeMs: number, now = Date.now()): boolean {
  if (!name.startsWith(TEMP_PREFIX)) return false;
  const [host, pidText] = name.slice(TEMP_PREFIX.length).split('~');
  if (host === HOST && pidText !== undefined && /^\d+$/.test(pidText) && !processAlive(Number(pidText)))
    return true;
  return now - mtimeMs > maxAgeMs;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename in it survives a crash (best effort: some file systems refuse). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not supported everywhere (e.g. some network file systems); the rename itself is still atomic.
  }
}

export interface StreamedFile {
  sha256: string;
  size: number;
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
  await mkdir(dirname(dest), { recursive: true });
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
          if (used > 0) await fh.write(staging, 0, used);
          used = 0;
          await fh.write(chunk);
          continue;
        }
        if (used + chunk.byteLength > STAGING_BYTES) {
          await fh.write(staging, 0, used);
          used = 0;
        }
        staging.set(chunk, used);
        used += chunk.byteLength;
      }
      if (used > 0) await fh.write(staging, 0, used);
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

/**
 * Write a small buffer to a temp file next to `dest` synchronously, without fsync, and return the temp
 * path (the caller makes it durable, e.g. through a GroupSync, before renaming it into place). Small
 * files are the common case of a pipeline's products: a few syscalls on the calling thread cost less
 * than one round trip through the thread pool.
 */
export function writeTempSync(dest: string, data: Uint8Array, mode = 0o644): string {
  const tmp = tempPathFor(dest);
  const fd = openSync(tmp, 'wx', mode);
  try {
    let off = 0;
    while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
    fchmodSync(fd, mode); // open()'s mode is filtered by the umask
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/**
 * Group commit of fsyncs. Files written without fsync are queued with `add`; `flush()` resolves once
 * everything queued before the call is on disk (files, then the directories given for their renames).
 * Callers that flush while a round is running share the next round, so a burst of small writes costs
 * one round of parallel fsyncs rather than one fsync (and one directory fsync) each.
 */
export class GroupSync {
  private files = new Set<string>();
  private dirs = new Set<string>();
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** Queue a file (by path, e.g. a temp file to rename once durable) and/or a directory whose entries changed. */
  add(file: string | undefined, dir?: string): void {
    if (file !== undefined) this.files.add(file);
    if (dir !== undefined) this.dirs.add(dir);
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
        const round = syncRound(files, dirs);
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

/** Files first (their data), then directories (the renames that name them); 8 at a time. */
async function syncRound(files: string[], dirs: string[]): Promise<void> {
  const syncFile = async (file: string) => {
    const fh = await open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  for (let i = 0; i < files.length; i += 8) await Promise.all(files.slice(i, i + 8).map(syncFile));
  for (let i = 0; i < dirs.length; i += 8) await Promise.all(dirs.slice(i, i + 8).map(syncDir));
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

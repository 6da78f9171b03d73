/**
 * One hash pass per stored output. A task's outputs are hashed once, by the thread that wrote them (the step's
 * worker, right after the step returned: the bytes are still in the page cache, and the main thread is free for
 * other tasks), and that hash travels with the file's identity (size, mtime and ctime in ns, inode, device) to
 * the engine, which addresses the output by it and hands both to the cache, so neither reads the file again.
 * A hash is only used while the file keeps the identity it was hashed with; a file changed since is hashed again.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
// The small module, not the package: worker threads hash outputs and should not load the cache backends.
import { type FileIdentity, identityOf, sameIdentity } from '@pipe/cache/types';
import { HASH_CHUNK as CHUNK, syncReadBuffer } from '../fingerprint/sync-read-buffer.js';

/** The SHA-256 of a file's bytes and the identity the file had while they were read. */
export interface WrittenHash {
  sha256: string;
  identity: FileIdentity;
}

/**
 * Hash a file synchronously in 1 MiB chunks through one reused buffer (no file-sized allocation). Undefined when
 * the file is missing, not a regular file, or changed while it was read.
 */
export function hashWrittenFileSync(file: string): WrittenHash | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return undefined;
    const hash = createHash('sha256');
    const buf = syncReadBuffer();
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(n === CHUNK ? buf : buf.subarray(0, n));
    }
    const identity = identityOf(before);
    return sameIdentity(identity, identityOf(fstatSync(fd, { bigint: true })))
      ? { sha256: hash.digest('hex'), identity }
      : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * As hashWrittenFileSync, on the thread pool (the main thread's fallback for outputs nobody hashed): the hash,
 * and the identity only if the file did not change while it was read.
 */
export async function hashOutputFile(file: string): Promise<{ sha256: string; identity?: FileIdentity }> {
  const fh = await open(file, 'r');
  try {
    const before = identityOf(await fh.stat({ bigint: true }));
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, before.size)));
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead));
    }
    const after = identityOf(await fh.stat({ bigint: true }));
    return { sha256: hash.digest('hex'), ...(sameIdentity(before, after) ? { identity: before } : {}) };
  } finally {
    await fh.close();
  }
}

/** Hashes of a task's outputs (by path), computed where they were written; absent files are left out. */
export function hashWrittenOutputs(outputs: Record<string, string>): Record<string, WrittenHash> {
  const hashes: Record<string, WrittenHash> = {};
  for (const file of Object.values(outputs)) {
    const h = hashWrittenFileSync(file);
    if (h) hashes[file] = h;
  }
  return hashes;
}

/** Hashes reported by workers, by output path, until the engine stores those outputs (main thread). */
const reported = new Map<string, WrittenHash>();
/** Bound on entries never taken (tasks that failed after writing): oldest first out. */
const MAX_REPORTED = 4096;

/** Remember the hashes a worker computed of the outputs it wrote. */
export function noteWrittenHashes(hashes: Record<string, WrittenHash> | undefined): void {
  if (!hashes) return;
  for (const [file, h] of Object.entries(hashes)) {
    reported.delete(file);
    reported.set(file, h);
    if (reported.size > MAX_REPORTED) reported.delete(reported.keys().next().value!);
  }
}

/** The reported hash of `file` if it still has the identity it was hashed with (the entry is consumed). */
export function takeWrittenHash(file: string, current: FileIdentity): WrittenHash | undefined {
  const h = reported.get(file);
  if (!h) return undefined;
  reported.delete(file);
  return sameIdentity(h.identity, current) ? h : undefined;
}

/**
 * File content hashes. Change detection of raw inputs uses XXH64 (xxhash-wasm), streamed in 1 MiB
 * chunks: one h64Raw over a large buffer is orders of magnitude slower than the streaming hasher.
 * Products (what goes to the cache) are addressed by SHA-256; `hashProduct` computes both in one read.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';
import { HASH_CHUNK as CHUNK, syncReadBuffer } from './sync-read-buffer.js';

let api: XXHashAPI | undefined;
let loading: Promise<XXHashAPI> | undefined;

/** Load the xxhash wasm module once (async; call before any *Sync hash). */
export async function loadXxhash(): Promise<XXHashAPI> {
  if (api) return api;
  loading ??= xxhash().then((a) => {
    api = a;
    return a;
  });
  return loading;
}

function loadedApi(): XXHashAPI {
  if (!api) throw new Error('loadXxhash() must be awaited before hashing synchronously');
  return api;
}

function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** XXH64 (hex) of a file, read synchronously in chunks (small files are the common case: no promise per file). */
export function xxh64FileSync(file: string): string {
  const h = loadedApi().create64();
  const fd = openSync(file, 'r');
  try {
    const buf = syncReadBuffer();
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(n === CHUNK ? buf : buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hex64(h.digest());
}

/** XXH64 (hex) of a string (used for code and small records). */
export function xxh64String(s: string): string {
  return hex64(loadedApi().h64(s));
}

/** The bytes of a file of at most one chunk (read on the calling thread), else undefined. */
function smallFile(file: string): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    if (fstatSync(fd).size > CHUNK) return undefined;
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface ProductHash {
  sha256: string;
  xxh64: string;
  size: number;
}

/** SHA-256 and XXH64 of a file in one streamed read (a small file in one synchronous read). */
export async function hashProduct(file: string): Promise<ProductHash> {
  const x = (await loadXxhash()).create64();
  const small = smallFile(file);
  if (small) {
    return {
      sha256: createHash('sha256').update(small).digest('hex'),
      xxh64: hex64(x.update(small).digest()),
      size: small.byteLength,
    };
  }
  const s = createHash('sha256');
  const fh = await open(file, 'r');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
      x.update(chunk);
      s.update(chunk);
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: s.digest('hex'), xxh64: hex64(x.digest()), size };
}

/**
 * The chunk size of pipe's streamed file hashes, and one read buffer per thread for the synchronous ones
 * (xxh64FileSync on the engine's thread, hashWrittenFileSync on a step's thread). Synchronous reads cannot
 * overlap on a thread, so they share it: a fresh 1 MiB per file hashed is an allocation and 1 MiB of external
 * memory each, which drives garbage collections. A module of its own: worker threads import it without xxhash.
 */
export const HASH_CHUNK = 1 << 20;

let buffer: Buffer | undefined;

/** This thread's read buffer of HASH_CHUNK bytes (its contents are garbage until read into). */
export function syncReadBuffer(): Buffer {
  buffer ??= Buffer.allocUnsafe(HASH_CHUNK);
  return buffer;
}

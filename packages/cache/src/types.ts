/**
 * The cache contract: one layout for the local store and remote HTTP caches.
 *   cas/<sha256>  output bytes, addressed by the SHA-256 of the bytes
 *   ac/<key>      a manifest (JSON), addressed by the task key (SHA-256 of the canonical fingerprint)
 */

export interface ManifestOutput {
  /** The output's name in the target (e.g. 'counts'). */
  name: string;
  /** Path relative to the workspace root; never absolute, never containing '..'. */
  path: string;
  sha256: string;
  size: number;
  /** Unix permission bits to restore (e.g. 0o644, 0o755). */
  mode: number;
}

export interface Manifest {
  version: 1;
  key: string;
  taskId: string;
  outputs: ManifestOutput[];
  /** Items produced by the task (for dynamic fan-out), if any. */
  items?: unknown[];
  /** Provenance record of the task that produced these outputs (no secrets). */
  provenance: Record<string, unknown>;
  createdAt: string;
}

/** Why a manifest was refused (on write, or on read from any backend). */
export interface ManifestProblem {
  /** Where in the manifest, as a JSON path (e.g. `outputs[2].path`). */
  at: string;
  reason:
    | 'not-an-object'
    | 'missing-field'
    | 'wrong-type'
    | 'unsupported-version'
    | 'bad-key'
    | 'key-mismatch'
    | 'bad-sha256'
    | 'bad-size'
    | 'bad-mode'
    | 'empty-path'
    | 'absolute-path'
    | 'parent-segment'
    | 'not-normalised'
    | 'duplicate-path';
  detail: string;
}

/**
 * An expected failure of a cache operation. Missing entries are not failures.
 * - corrupt: stored bytes do not match their hash / checksum (the entry is treated as missing);
 * - invalid-manifest: a manifest that parses but breaks the safety rules (e.g. `../` paths);
 * - unavailable: network error, timeout, 5xx (after retries), or a local I/O error;
 * - unauthorized: the server refused the credentials (401/403, or 400 "missing auth" from turbo);
 * - rejected: any other 4xx (413 too large, 415, 400 ...), never retried.
 */
export type CacheFailure =
  | { type: 'corrupt'; what: string; detail: string }
  | { type: 'invalid-manifest'; what: string; problems: ManifestProblem[] }
  /** `cause`, when HTTP knows it: the server answered 5xx, or did not answer in time (doctor's hints tell them apart). */
  /**
   * `local-disk`: this machine's side failed, not the remote (writing what it sent: ENOSPC; reading a blob to send:
   * gone, unreadable).
   */
  | { type: 'unavailable'; detail: string; cause?: 'server-error' | 'timeout' | 'local-disk' }
  | { type: 'unauthorized'; detail: string }
  | { type: 'rejected'; status: number; detail: string };

/** The result of every backend operation: a value, or an expected failure. Exceptions are bugs. */
export type CacheOutcome<T> = { ok: true; value: T } | { ok: false; failure: CacheFailure };

/**
 * A cache backend: the local store, a remote HTTP cache, or the tiered combination of both.
 * Missing entries are `undefined`/false (with ok: true); failures are values, never exceptions.
 */
export interface CacheBackend {
  readonly name: string;
  /** The manifest stored under `key`, validated (checksum, shape, safe paths) and checked to carry `key`. */
  getManifest(key: string): Promise<CacheOutcome<Manifest | undefined>>;
  /** Store a manifest under `manifest.key`; refuses an invalid one (`invalid-manifest`). */
  putManifest(manifest: Manifest): Promise<CacheOutcome<void>>;
  hasBlob(sha256: string): Promise<CacheOutcome<boolean>>;
  /**
   * Whether the blob is held with exactly its bytes: re-hashed where the backend can (a corrupt one is then
   * quarantined and not held); a backend that cannot answers as hasBlob. For a caller about to delete the only other
   * copy (a retired output).
   */
  verifyBlob?(sha256: string): Promise<CacheOutcome<boolean>>;
  /**
   * After a build: keep a local store within its size budget, evicting least recently used entries when over it
   * (the report then); undefined when within budget. Remote backends keep their own.
   */
  keepToBudget?(): Promise<CacheOutcome<BudgetReport | undefined>>;
  /** Stream a blob to `destPath` (atomically: temp + rename), verifying its hash; false if missing. */
  fetchBlob(sha256: string, destPath: string): Promise<CacheOutcome<boolean>>;
  /**
   * Store the file at `srcPath` as the blob `sha256`. Without `hashed`, the content is read and verified against
   * `sha256`. With `hashed`, the caller vouches that `sha256` is the hash of this file's bytes while it had the
   * identity `hashed` (it hashed them itself): a backend may then store the file without hashing it again, as
   * long as the file still has that identity before and after its bytes are taken (any write in between changes
   * mtime/ctime, and the backend falls back to verifying). A backend that reads the file anyway may ignore it.
   * `taken`, when given, is called once the backend has the file's bytes (a copy of its own or in memory) and no
   * longer reads `srcPath`: the caller may move the file on while the put goes on (fsync, rename, upload). A
   * backend may never call it; the caller then waits for the put to settle.
   */
  putBlob(
    sha256: string,
    srcPath: string,
    hashed?: FileIdentity,
    taken?: () => void,
  ): Promise<CacheOutcome<void>>;
  /**
   * Make every write made so far durable, including the last directory entries (a store that batches its
   * fsyncs leaves the last renames to a later round). Called when a build ends; optional for stores that
   * write durably at once.
   */
  sync?(): Promise<CacheOutcome<void>>;
}

/**
 * The identity of a file at the moment its bytes were hashed (from a bigint stat): a write, a truncation or a
 * replacement changes at least one field (mtime and ctime in nanoseconds), so an unchanged identity means the
 * hash still describes the file.
 */
export interface FileIdentity {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
}

/** The identity of a file from its bigint stat. */
export function identityOf(st: {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
}): FileIdentity {
  return {
    size: Number(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
    ino: String(st.ino),
    dev: String(st.dev),
  };
}

/** True when two identities describe the same, unchanged file. */
export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.dev === b.dev
  );
}

/** A warning from a cache that carries on (e.g. the remote failed and the session goes local-only). */
export interface CacheWarning {
  backend: string;
  operation: string;
  failure: CacheFailure;
  /** One line for a human, without secrets. */
  message: string;
}

export const ok = <T>(value: T): CacheOutcome<T> => ({ ok: true, value });
export const fail = <T = never>(failure: CacheFailure): CacheOutcome<T> => ({ ok: false, failure });

/** One line describing a failure (for warnings and reports). */
export function describeFailure(f: CacheFailure): string {
  switch (f.type) {
    case 'corrupt':
      return `corrupt ${f.what}: ${f.detail}`;
    case 'invalid-manifest':
      return `invalid manifest ${f.what}: ${f.problems.map((p) => `${p.at}: ${p.detail}`).join('; ')}`;
    case 'unavailable':
      return `unavailable: ${f.detail}`;
    case 'unauthorized':
      return `unauthorized: ${f.detail}`;
    case 'rejected':
      return `rejected (HTTP ${f.status}): ${f.detail}`;
  }
}

/** What a size-budget eviction did (a subset of a gc report). */
export interface BudgetReport {
  bytesBefore: number;
  bytesAfter: number;
  evicted: string[];
  overBudget: boolean;
  /** Why the store may be over its budget but was not checked now (the next build checks it). */
  deferred?: string;
}

/**
 * A size: bytes, or a number with a binary unit (K, M, G, T; KB/KiB spellings too, as du and Slurm read them), e.g.
 * 500M, 10G, 1.5T; undefined for anything else.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgtKMGT])(?:i?[bB])?|[bB])?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** unit);
}

let umask: number | undefined;

/**
 * The mode a restored file gets: the recorded one's permission bits (never setuid, setgid or sticky) less this
 * process's umask, as a file this user created would have. A manifest made on a CI runner with umask 000 (or one
 * that asks for 0o6777) does not make a developer's products writable by all.
 */
export function restoredMode(recorded: number): number {
  // process.umask() reads it (a documented, if discouraged, use); once per process.
  umask ??= process.umask();
  return recorded & 0o777 & ~umask;
}

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

export type CacheFailure =
  | { type: 'corrupt'; what: string; detail: string }
  | { type: 'unavailable'; detail: string }
  | { type: 'unauthorized'; detail: string };

/** A cache backend. Missing entries are `undefined`/false, never exceptions; failures are values. */
export interface CacheBackend {
  readonly name: string;
  getManifest(key: string): Promise<Manifest | undefined>;
  putManifest(manifest: Manifest): Promise<void>;
  hasBlob(sha256: string): Promise<boolean>;
  /** Stream a blob to `destPath` (atomically: temp + rename), verifying its hash; false if missing or corrupt. */
  fetchBlob(sha256: string, destPath: string): Promise<boolean>;
  /** Store the file at `srcPath` as the blob `sha256` (streamed). */
  putBlob(sha256: string, srcPath: string): Promise<void>;
}

import type { LocalStore } from './local-store.js';
import {
  type BudgetReport,
  type CacheBackend,
  type CacheFailure,
  type CacheOutcome,
  type CacheWarning,
  describeFailure,
  type FileIdentity,
  fail,
  type Manifest,
  ok,
} from './types.js';

/**
 * How the remote is used:
 * - off: local only;
 * - read: read remote hits into the local store, never upload anything (what an untrusted client, e.g. a
 *   CI job on a fork, must use: it cannot poison the shared cache);
 * - write: upload, never read (e.g. a trusted job that must recompute everything);
 * - readwrite: both.
 */
export type RemoteMode = 'off' | 'read' | 'write' | 'readwrite';

export interface TieredCacheOptions {
  local: LocalStore;
  remote?: CacheBackend;
  mode: RemoteMode;
  /**
   * When true, a remote that fails (unreachable, refused credentials) is an error returned to the caller;
   * otherwise the cache warns once and carries on local-only for the rest of the session.
   */
  required?: boolean;
  /**
   * For long sessions (`pipe watch`): a remote that failed is used again by `retryRemote()` once this long has
   * passed, doubled after each retry that fails too (up to 16×); one warning per outage. Default: never.
   */
  retryAfterMs?: number;
  /** Told once when a remote that failed answers again (a retry worked): its entries are used again. */
  onRecovered?: (message: string) => void;
  /** The clock of retries, in ms (default Date.now; tests pass a fake). */
  clock?: () => number;
  onWarning?: (warning: CacheWarning) => void;
}

/** Per-entry remote failures of one kind (a 413, a corrupt blob) warned about one by one, before the rest are summed up. */
const MAX_ENTRY_WARNINGS = 3;

/** A failed retry doubles the wait, up to this many times the first. */
const MAX_RETRY_FACTOR = 16;

/** A failure that means the remote as a whole is unusable (not one bad entry). */
/** The remote as a whole out of reach or refusing us (this machine's own disk trouble is not the remote's). */
export const isRemoteDown = (f: CacheFailure): boolean =>
  (f.type === 'unavailable' && f.cause !== 'local-disk') || f.type === 'unauthorized';

/**
 * Local store first, then the remote: remote hits are downloaded into the local store (verified), and
 * uploads go out only after the local write succeeded, and only in a write mode.
 */
export class TieredCache implements CacheBackend {
  readonly name: string;
  readonly local: LocalStore;
  private readonly remote: CacheBackend | undefined;
  private readonly mode: RemoteMode;
  private readonly required: boolean;
  private readonly onWarning: (warning: CacheWarning) => void;
  /** Set when the remote failed: local-only until retryRemote() (if ever). */
  private disabled: CacheFailure | undefined;
  /** Set when a readwrite remote refused a write (401/403): read from, not written to, for the session. */
  private writeRefused: CacheFailure | undefined;
  private readonly retryAfterMs: number | undefined;
  private readonly onRecovered: ((message: string) => void) | undefined;
  private readonly clock: () => number;
  /** The remote failed and has not answered since: how often it was retried, and when it may be next. */
  private outage: { retries: number; retryAt: number } | undefined;
  private readonly warned = new Set<string>();
  /**
   * Manifests read from the remote whose blobs are not all in the local store yet. They enter the local store
   * only once their blobs are there: a plan (which reads manifests, fetches nothing) must not leave entries the
   * local store would hold without their bytes (`pipe cache verify` calls those corrupt, and so would a build).
   */
  private readonly remoteOnly = new Map<string, Manifest>();
  /** Blob → the keys of `remoteOnly` manifests that name it (a fetched blob looks up its waiters, not them all). */
  private readonly waitingFor = new Map<string, Set<string>>();

  constructor(options: TieredCacheOptions) {
    this.local = options.local;
    this.remote = options.mode === 'off' ? undefined : options.remote;
    this.mode = options.mode;
    this.required = options.required ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.onRecovered = options.onRecovered;
    this.clock = options.clock ?? Date.now;
    this.onWarning = options.onWarning ?? (() => undefined);
    this.name = this.remote
      ? `tiered(${this.local.name}, ${this.remote.name}, ${this.mode})`
      : this.local.name;
  }

  /** Why the remote is no longer used this session, if it failed. */
  get remoteDisabled(): CacheFailure | undefined {
    return this.disabled;
  }

  /**
   * Use a remote that failed again, if retryAfterMs allows it by now (a watch session calls this before each
   * rebuild). True when it was re-enabled.
   */
  retryRemote(): boolean {
    if (!this.disabled || !this.outage || this.retryAfterMs === undefined) return false;
    if (this.clock() < this.outage.retryAt) return false;
    this.disabled = undefined;
    return true;
  }

  /**
   * The remote answered: an outage, if any, is over (the next failure is news again). Not while it is disabled: a
   * request sent before it failed may still come back.
   */
  private answered(): void {
    if (this.disabled || !this.outage) return;
    this.outage = undefined;
    this.onRecovered?.(`remote cache ${this.remote?.name ?? 'remote'} answers again: it is used again`);
  }

  /** The mode reads from a remote (whether or not it is still up). */
  private readsRemote(): boolean {
    return this.remote !== undefined && (this.mode === 'read' || this.mode === 'readwrite');
  }
  private canRead(): boolean {
    return this.readsRemote() && !this.disabled;
  }
  private canWrite(): boolean {
    return (
      this.remote !== undefined &&
      !this.disabled &&
      !this.writeRefused &&
      (this.mode === 'write' || this.mode === 'readwrite')
    );
  }

  /**
   * Handle a remote failure: a failure of the remote as a whole disables it (one warning) or, if the remote is
   * required, is returned; a failure of one entry (corrupt, rejected) is warned about and treated as a miss.
   */
  private remoteFailed(operation: string, failure: CacheFailure): CacheFailure | undefined {
    const remoteName = this.remote?.name ?? 'remote';
    // This machine's side failed (a download it could not store: a full disk; a blob to send it could not read): said
    // once as the local cache's trouble, and the remote stays in use.
    if (failure.type === 'unavailable' && failure.cause === 'local-disk') {
      // What failed, not the path: one line for a full disk, however many blobs it refuses.
      const code = failure.detail.replace(/^(writing|reading) .*: /, '');
      this.warn(
        operation,
        failure,
        failure.detail.startsWith('reading ')
          ? `local cache: could not read a blob to send to the remote cache (${code}); the remote cache stays in use`
          : `local cache: could not store what the remote cache sent (${code}: is the disk full?); the remote cache stays in use`,
      );
      // A download is out of reach; an upload is only not shared, as any refused upload.
      return operation === 'fetchBlob' ? failure : undefined;
    }
    if (isRemoteDown(failure)) {
      if (this.required) return failure;
      // Requests run concurrently (uploads go on while later tasks run): those under way when the remote went
      // down fail too, and are not news; nor is a retry that fails in the same outage.
      const first = this.disabled === undefined;
      this.disabled = failure;
      if (!first) return undefined;
      const now = this.clock();
      const base = this.retryAfterMs ?? 0;
      if (this.outage) {
        this.outage.retries++;
        this.outage.retryAt = now + base * Math.min(2 ** this.outage.retries, MAX_RETRY_FACTOR);
        return undefined;
      }
      this.outage = { retries: 0, retryAt: now + base };
      const retry =
        this.retryAfterMs === undefined ? '' : `, and trying it again at a rebuild from ${base / 1000} s on`;
      this.onWarning({
        backend: remoteName,
        operation,
        failure,
        message: `remote cache ${remoteName} failed (${describeFailure(failure)}); continuing with the local cache only${retry}`,
      });
      return undefined;
    }
    // One bad entry is news; a remote that refuses or garbles every entry (a body limit, a proxy rewriting bodies, a
    // URL that is no cache) would otherwise print a line per entry: a few are said, then that the rest are not.
    const kind = `${operation}:${failure.type}:${failure.type === 'rejected' ? failure.status : ''}`;
    const seen = (this.entryFailures.get(kind) ?? 0) + 1;
    this.entryFailures.set(kind, seen);
    if (seen <= MAX_ENTRY_WARNINGS)
      this.warn(operation, failure, `remote cache ${remoteName}: ${describeFailure(failure)}; ignored`);
    if (seen === MAX_ENTRY_WARNINGS)
      this.onWarning({
        backend: remoteName,
        operation,
        failure,
        message: `remote cache ${remoteName}: further entries failing the same way (${failure.type}${failure.type === 'rejected' ? ` HTTP ${failure.status}` : ''}) are ignored without a warning this session; \`pipe cache doctor\` tests the remote`,
      });
    return undefined;
  }

  /** Per-entry remote failures by kind (operation, type, status): how many this session. */
  private readonly entryFailures = new Map<string, number>();

  private warn(operation: string, failure: CacheFailure, message: string): void {
    const once = `${operation}:${failure.type}:${isRemoteDown(failure) ? '' : message}`;
    if (this.warned.has(once)) return;
    this.warned.add(once);
    this.onWarning({ backend: this.remote?.name ?? this.local.name, operation, failure, message });
  }

  /** Blobs whose remote copy failed verification in this session (re-uploaded when produced again). */
  private readonly corruptOnRemote = new Set<string>();

  async getManifest(key: string): Promise<CacheOutcome<Manifest | undefined>> {
    const local = await this.local.getManifest(key);
    if (local.ok && local.value) return local;
    if (!local.ok)
      this.warn(
        'getManifest',
        local.failure,
        `local cache: ${describeFailure(local.failure)}; treated as a miss`,
      );
    if (!this.canRead() || !this.remote) return ok(undefined);
    // Read from the remote earlier in this session (a plan's lookup, then the restore's): not fetched again.
    const known = this.remoteOnly.get(key);
    if (known) return ok(known);
    const remote = await this.remote.getManifest(key);
    if (!remote.ok) {
      const error = this.remoteFailed('getManifest', remote.failure);
      return error ? fail(error) : ok(undefined);
    }
    this.answered();
    if (remote.value) {
      this.remoteOnly.set(key, remote.value);
      for (const o of remote.value.outputs) {
        const keys = this.waitingFor.get(o.sha256) ?? new Set<string>();
        keys.add(key);
        this.waitingFor.set(o.sha256, keys);
      }
      await this.storeWhole(key);
    }
    return remote;
  }

  /** Store a manifest read from the remote locally once every blob it names is in the local store. */
  private async storeWhole(key: string): Promise<void> {
    const manifest = this.remoteOnly.get(key);
    if (!manifest) return;
    for (const o of manifest.outputs) {
      const has = await this.local.hasBlob(o.sha256);
      if (!has.ok || !has.value) return;
    }
    this.remoteOnly.delete(key);
    const stored = await this.local.putManifest(manifest);
    if (!stored.ok)
      this.warn('putManifest', stored.failure, `local cache: ${describeFailure(stored.failure)}`);
  }

  /** After a blob came into the local store: the remote manifests that were waiting for it. */
  private async blobArrived(sha256: string): Promise<void> {
    const keys = this.waitingFor.get(sha256);
    if (!keys) return;
    this.waitingFor.delete(sha256);
    for (const key of keys) await this.storeWhole(key);
  }

  async putManifest(manifest: Manifest): Promise<CacheOutcome<void>> {
    const local = await this.local.putManifest(manifest);
    if (!local.ok) return local;
    // A manifest never names a blob the remote refused (a body limit, say): every client would find the entry
    // incomplete, recompute, and try the same upload again. The entry stays local; the refusal was warned about.
    if (manifest.outputs.some((o) => this.refusedBlobs.has(o.sha256))) return ok(undefined);
    return this.upload('putManifest', (remote) => remote.putManifest(manifest));
  }

  /** Blobs whose upload failed in this session (their manifests are not uploaded). */
  private readonly refusedBlobs = new Set<string>();

  keepToBudget(): Promise<CacheOutcome<BudgetReport | undefined>> {
    return this.local.keepToBudget();
  }

  /** The local blob re-hashed; one the local store lacks (or held corrupt), as the remote has it. */
  async verifyBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    const local = await this.local.verifyBlob(sha256);
    if (!local.ok || local.value || !this.canRead() || !this.remote) return local;
    return this.hasBlob(sha256);
  }

  async hasBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    const local = await this.local.hasBlob(sha256);
    if (!local.ok || local.value || !this.canRead() || !this.remote) return local;
    const remote = await this.remote.hasBlob(sha256);
    if (remote.ok) {
      this.answered();
      return remote;
    }
    const error = this.remoteFailed('hasBlob', remote.failure);
    return error ? fail(error) : ok(false);
  }

  async fetchBlob(sha256: string, destPath: string): Promise<CacheOutcome<boolean>> {
    const local = await this.local.fetchBlob(sha256, destPath);
    if (local.ok && local.value) return local;
    if (!local.ok && local.failure.type !== 'corrupt') return local;
    if (!local.ok)
      this.warn('fetchBlob', local.failure, `local cache: ${describeFailure(local.failure)}; fetching again`);
    // The remote went down earlier in this session: the blob is not missing, it is out of reach (said once).
    if (this.disabled && this.readsRemote()) return fail(this.disabled);
    if (!this.canRead() || !this.remote) return ok(false);
    // Download into the local store (atomic, verified), then copy out of it.
    const remote = await this.remote.fetchBlob(sha256, await this.local.prepareBlob(sha256));
    if (!remote.ok) {
      if (remote.failure.type === 'corrupt') this.corruptOnRemote.add(sha256);
      const error = this.remoteFailed('fetchBlob', remote.failure);
      if (error) return fail(error);
      // The remote went down on this very request: out of reach, not missing (as for later requests above).
      return isRemoteDown(remote.failure) ? fail(remote.failure) : ok(false);
    }
    this.answered();
    if (!remote.value) return ok(false);
    await this.local.settleBlob(sha256);
    await this.blobArrived(sha256);
    return this.local.fetchBlob(sha256, destPath);
  }

  async putBlob(
    sha256: string,
    srcPath: string,
    hashed?: FileIdentity,
    taken?: () => void,
  ): Promise<CacheOutcome<void>> {
    // The upload reads the local copy: the source is free once the local store has taken it.
    const local = await this.local.putBlob(sha256, srcPath, hashed, taken);
    if (!local.ok) return local;
    return this.upload('putBlob', (remote) => {
      // Two tasks storing the same bytes at once (a copy step, say) share one upload.
      let sending = this.uploading.get(sha256);
      if (!sending) {
        sending = this.uploadBlob(remote, sha256)
          .then((sent) => {
            if (sent.ok) this.refusedBlobs.delete(sha256);
            else this.refusedBlobs.add(sha256);
            return sent;
          })
          .finally(() => this.uploading.delete(sha256));
        this.uploading.set(sha256, sending);
      }
      return sending;
    });
  }

  /** Blob uploads under way, by hash. */
  private readonly uploading = new Map<string, Promise<CacheOutcome<void>>>();

  private async uploadBlob(remote: CacheBackend, sha256: string): Promise<CacheOutcome<void>> {
    // Skip uploading what the remote already has, unless its copy was found corrupt: then overwrite it,
    // so a tampered blob does not stay on the server for every later client.
    if (!this.corruptOnRemote.has(sha256)) {
      const has = await remote.hasBlob(sha256);
      if (!has.ok || has.value) return has.ok ? ok(undefined) : fail(has.failure);
    }
    // Upload the local copy: its hash is checked again before it leaves, so a bad disk cannot poison the remote.
    return remote.putBlob(sha256, this.local.blobPath(sha256));
  }

  /** The local store's writes made durable (the remote's are, once it has answered). */
  sync(): Promise<CacheOutcome<void>> {
    return this.local.sync();
  }

  /** Copy a blob into the workspace (see LocalStore.materialize), fetching it from the remote if needed. */
  async materialize(sha256: string, dest: string, mode: number): Promise<CacheOutcome<boolean>> {
    const present = await this.local.hasBlob(sha256);
    if (present.ok && !present.value && this.disabled && this.readsRemote()) return fail(this.disabled);
    if (present.ok && !present.value && this.canRead() && this.remote) {
      const fetched = await this.remote.fetchBlob(sha256, await this.local.prepareBlob(sha256));
      if (!fetched.ok) {
        if (fetched.failure.type === 'corrupt') this.corruptOnRemote.add(sha256);
        const error = this.remoteFailed('fetchBlob', fetched.failure);
        if (error) return fail(error);
        // The remote went down on this very request: the entry is not incomplete, its blob is out of reach.
        if (isRemoteDown(fetched.failure)) return fail(fetched.failure);
      } else {
        this.answered();
        if (fetched.value) {
          await this.local.settleBlob(sha256);
          await this.blobArrived(sha256);
        }
      }
    } else if (present.ok && present.value) await this.blobArrived(sha256);
    return this.local.materialize(sha256, dest, mode);
  }

  private async upload(
    operation: string,
    send: (remote: CacheBackend) => Promise<CacheOutcome<void>>,
  ): Promise<CacheOutcome<void>> {
    if (!this.canWrite() || !this.remote) return ok(undefined);
    const sent = await send(this.remote);
    if (sent.ok) {
      this.answered();
      return sent;
    }
    // Writes refused (a fork's CI without the token: anonymous reads, no writes): still a remote to read from.
    if (sent.failure.type === 'unauthorized' && this.mode === 'readwrite' && !this.required) {
      this.writeRefused ??= sent.failure;
      // Said once, whichever upload (blob or manifest) was refused first.
      this.warn(
        'write',
        sent.failure,
        `remote cache ${this.remote.name} refused a write (${describeFailure(sent.failure)}): reading from it only, for the rest of this build or pipe watch session (a token that may write: PIPE_REMOTE_CACHE_TOKEN; or say --remote-cache=read)`,
      );
      return ok(undefined);
    }
    const error = this.remoteFailed(operation, sent.failure);
    return error ? fail(error) : ok(undefined);
  }
}

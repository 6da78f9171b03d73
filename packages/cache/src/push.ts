/**
 * `pipe cache push`: entries of the local store sent to the remote that lacks them. A build uploads what it stores
 * as it goes; what it stored while the remote was down (or refused it) stays local, and an up-to-date build later
 * has nothing to store. Pushing the entries of a build (its task keys) shares them once the remote answers again.
 */
import type { RemoteCache } from './http-backend.js';
import type { LocalStore } from './local-store.js';
import type { CacheFailure } from './types.js';

export interface PushReport {
  /** Entries sent (their blobs the remote lacked, then their manifests). */
  pushed: string[];
  /** Entries the remote already held. */
  present: string[];
  /** Entries the local store does not hold (evicted, or stored in another cache): nothing to send. */
  notLocal: string[];
  /** Blobs sent, and their bytes. */
  blobs: number;
  bytes: number;
  /**
   * Entries not sent for a failure of their own (a local blob that is corrupt or gone, a blob the remote refuses as too
   * large): the push goes on with the others.
   */
  skipped: Array<{ key: string; failure: CacheFailure }>;
  /** What stopped the push (the remote down, a credential refused); the entries before it were sent. */
  failure?: { key: string; failure: CacheFailure };
}

/**
 * A failure of one entry, after which the others may still go: its local blob corrupt or unreadable (an upload
 * hashes its file first), or the remote refusing that upload (a body limit).
 */
function entryOnly(f: CacheFailure): boolean {
  return (
    f.type === 'corrupt' ||
    (f.type === 'unavailable' && f.cause === 'local-disk') ||
    (f.type === 'rejected' && f.status !== 0)
  );
}

/**
 * Sends each entry of `keys` the remote lacks: its blobs first (those the remote lacks), then its manifest, so the
 * remote never holds a manifest whose blobs it lacks. Stops at the first failure of the remote.
 */
export async function pushEntries(
  local: LocalStore,
  remote: RemoteCache,
  keys: readonly string[],
): Promise<PushReport> {
  const report: PushReport = { pushed: [], present: [], notLocal: [], skipped: [], blobs: 0, bytes: 0 };
  const sent = new Set<string>();
  for (const key of new Set(keys)) {
    const stored = await local.getManifest(key);
    if (!stored.ok || !stored.value) {
      report.notLocal.push(key);
      continue;
    }
    const manifest = stored.value;
    // A manifest the remote holds but cannot serve (corrupt) is sent again, as a build's upload would.
    const there = await remote.getManifest(key);
    if (there.ok && there.value) {
      report.present.push(key);
      continue;
    }
    if (!there.ok && there.failure.type !== 'corrupt' && there.failure.type !== 'invalid-manifest') {
      report.failure = { key, failure: there.failure };
      return report;
    }
    let complete = true;
    let skipped: CacheFailure | undefined;
    for (const output of manifest.outputs) {
      if (sent.has(output.sha256)) continue;
      const has = await local.hasBlob(output.sha256);
      if (!has.ok || !has.value) {
        complete = false; // a blob evicted under its manifest: the entry cannot be shared whole
        break;
      }
      const onRemote = await remote.hasBlob(output.sha256);
      if (!onRemote.ok) {
        report.failure = { key, failure: onRemote.failure };
        return report;
      }
      if (!onRemote.value) {
        const put = await remote.putBlob(output.sha256, local.blobPath(output.sha256));
        if (!put.ok) {
          if (entryOnly(put.failure)) {
            skipped = put.failure;
            break;
          }
          report.failure = { key, failure: put.failure };
          return report;
        }
        report.blobs++;
        report.bytes += output.size;
      }
      sent.add(output.sha256);
    }
    if (skipped) {
      report.skipped.push({ key, failure: skipped });
      continue;
    }
    if (!complete) {
      report.notLocal.push(key);
      continue;
    }
    const put = await remote.putManifest(manifest);
    if (!put.ok && entryOnly(put.failure)) {
      report.skipped.push({ key, failure: put.failure });
      continue;
    }
    if (!put.ok) {
      report.failure = { key, failure: put.failure };
      return report;
    }
    report.pushed.push(key);
  }
  return report;
}

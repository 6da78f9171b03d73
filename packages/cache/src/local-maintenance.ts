import { readFile, rm, stat } from 'node:fs/promises';
import { hashFile, isMissing, isStaleTemp, TEMP_PREFIX } from './atomic-file.js';
import { decodeManifest, isSafeKey, isSha256 } from './manifest.js';
import { compactAccessLog, readAccessLog, readPins } from './store-index.js';
import { type DirEntryInfo, listBlobFiles, listFiles, type StoreLayout } from './store-layout.js';
import type { CacheFailure, Manifest } from './types.js';

/** Temp files younger than this may belong to a live writer on another host; older ones are removed. */
const TEMP_MAX_AGE_MS = 24 * 3600_000;

export interface StoreStats {
  manifests: number;
  blobs: number;
  /** Bytes of blobs + manifests + quarantined files. */
  bytes: number;
  blobBytes: number;
  pinnedKeys: number;
  quarantined: number;
  /** Manifest hits/misses of this process (not persisted). */
  hits: number;
  misses: number;
}

export async function storeStats(
  layout: StoreLayout,
  counters: { hits: number; misses: number },
): Promise<StoreStats> {
  const [blobs, manifests, quarantined, pins] = await Promise.all([
    listBlobFiles(layout).then((f) => f.filter((b) => isSha256(b.name))),
    listFiles(layout.acDir()).then((f) => f.filter((m) => m.name.endsWith('.json'))),
    listFiles(layout.quarantineDir()),
    readPins(layout.pinsFile()),
  ]);
  const sum = (fs: DirEntryInfo[]) => fs.reduce((n, f) => n + f.size, 0);
  const blobBytes = sum(blobs);
  return {
    manifests: manifests.length,
    blobs: blobs.length,
    bytes: blobBytes + sum(manifests) + sum(quarantined),
    blobBytes,
    pinnedKeys: [...pins.values()].filter((l) => l.size > 0).length,
    quarantined: quarantined.length,
    ...counters,
  };
}

export interface GcOptions {
  /** Evict until the store holds at most this many bytes (default: the store's budget). */
  maxBytes?: number;
  /**
   * Blobs written or re-put within this window (ms) are never removed, even when nothing references them:
   * a concurrent build may be between putting its blobs and putting its manifest. Default 10 minutes.
   */
  graceMs?: number;
}

export interface GcReport {
  bytesBefore: number;
  bytesAfter: number;
  /** Keys of evicted manifests, least recently used first. */
  evicted: string[];
  removedBlobs: number;
  /** Corrupt or unreadable manifests, stale temp files and quarantined files removed. */
  removedJunk: number;
  /** Unpinned entries were all evicted and the store is still over budget (pins and young blobs stay). */
  overBudget: boolean;
  /** A build's budget check that did not run (another process held the maintenance lock): why. */
  deferred?: string;
}

interface Entry {
  key: string;
  file: DirEntryInfo;
  blobs: string[];
  lastUsed: number;
}

/** LRU eviction at the granularity of manifests; a blob goes when no remaining manifest names it. */
export async function collectGarbage(
  layout: StoreLayout,
  options: GcOptions & { maxBytes: number },
  now: number,
): Promise<GcReport> {
  const graceMs = options.graceMs ?? 10 * 60_000;
  let removedJunk = await removeStaleTemps(layout, now);
  for (const q of await listFiles(layout.quarantineDir())) {
    await rm(q.path, { force: true });
    removedJunk++;
  }
  const [blobFiles, manifestFiles, access, pins] = await Promise.all([
    listBlobFiles(layout),
    listFiles(layout.acDir()),
    readAccessLog(layout.accessLog()),
    readPins(layout.pinsFile()),
  ]);
  const blobs = new Map(blobFiles.filter((b) => isSha256(b.name)).map((b) => [b.name, b]));
  const refs = new Map<string, number>();
  const entries: Entry[] = [];
  for (const file of manifestFiles) {
    const key = file.name.replace(/\.json$/, '');
    const manifest = await readManifestFile(file.path, key);
    if (!manifest) {
      if (!file.name.startsWith(TEMP_PREFIX)) {
        await rm(file.path, { force: true });
        removedJunk++;
      }
      continue;
    }
    const shas = [...new Set(manifest.outputs.map((o) => o.sha256))];
    for (const s of shas) refs.set(s, (refs.get(s) ?? 0) + 1);
    entries.push({ key, file, blobs: shas, lastUsed: Math.max(access.get(key) ?? 0, file.mtimeMs) });
  }
  const bytesBefore =
    [...blobs.values()].reduce((n, b) => n + b.size, 0) + entries.reduce((n, e) => n + e.file.size, 0);
  // Blobs decided free (no manifest names them, older than the grace period): removed at the end, once checked again.
  const freed = new Set<string>();
  const isFree = (sha: string) => {
    const blob = blobs.get(sha);
    return blob !== undefined && (refs.get(sha) ?? 0) === 0 && now - blob.mtimeMs >= graceMs;
  };
  for (const sha of blobs.keys()) if (isFree(sha)) freed.add(sha); // orphans, e.g. from an interrupted store
  const bytesLeft = () =>
    [...blobs.values()].reduce((n, b) => n + (freed.has(b.name) ? 0 : b.size), 0) +
    entries.reduce((n, e) => n + e.file.size, 0);

  let bytes = bytesLeft();
  const evicted: string[] = [];
  // Pinned entries stay, and so do entries used (looked up, restored, stored) within the grace period: a build
  // running now may be about to restore the one it just looked up.
  const candidates = entries
    .filter((e) => (pins.get(e.key)?.size ?? 0) === 0 && now - e.lastUsed >= graceMs)
    .sort((a, b) => a.lastUsed - b.lastUsed || (a.key < b.key ? -1 : 1));
  for (const entry of candidates) {
    if (bytes <= options.maxBytes) break;
    // An entry whose blobs are all younger than the grace period would be lost for nothing: none of them can go
    // now. It stays restorable; a later gc takes it once they are old enough.
    const canFree = entry.blobs.some((sha) => {
      const blob = blobs.get(sha);
      return blob !== undefined && now - blob.mtimeMs >= graceMs;
    });
    if (!canFree && entry.blobs.length > 0) continue;
    await rm(entry.file.path, { force: true });
    entries.splice(entries.indexOf(entry), 1);
    evicted.push(entry.key);
    for (const sha of entry.blobs) {
      refs.set(sha, (refs.get(sha) ?? 1) - 1);
      if (isFree(sha)) freed.add(sha);
    }
    bytes = bytesLeft();
  }

  // The listing is old news by now: a build may have stored the same bytes again meanwhile (same content under a new
  // key: it refreshes the blob's mtime, then writes the manifest naming it; in a cache shared by a group it cannot
  // refresh another user's blob, and only the manifest tells). A freed blob goes only when no manifest written (or
  // rewritten) since the listing names it and its mtime is still old: the window in which such a store can lose its blob is the few
  // microseconds between that check and the removal, not the whole gc.
  const listed = new Map(manifestFiles.map((f) => [f.name, f]));
  for (const file of freed.size > 0 ? await listFiles(layout.acDir()) : []) {
    const before = listed.get(file.name);
    // New, or written again since (a key this gc evicted, stored anew meanwhile).
    const unchanged = before !== undefined && before.mtimeMs === file.mtimeMs && before.size === file.size;
    if (unchanged || file.name.startsWith(TEMP_PREFIX)) continue;
    const manifest = await readManifestFile(file.path, file.name.replace(/\.json$/, ''));
    for (const o of manifest?.outputs ?? []) freed.delete(o.sha256);
  }
  let removedBlobs = 0;
  for (const sha of freed) {
    const blob = blobs.get(sha)!;
    const current = await stat(blob.path).catch(() => undefined);
    if (current && now - current.mtimeMs < graceMs) continue;
    await rm(blob.path, { force: true });
    blobs.delete(sha);
    removedBlobs++;
  }
  freed.clear();
  bytes = bytesLeft();
  const survivors = new Map(
    entries.filter((e) => access.has(e.key)).map((e) => [e.key, access.get(e.key) as number]),
  );
  await compactAccessLog(layout.accessLog(), survivors, layout.modes().file);
  return {
    bytesBefore,
    bytesAfter: bytes,
    evicted,
    removedBlobs,
    removedJunk,
    overBudget: bytes > options.maxBytes,
  };
}

async function readManifestFile(path: string, key: string): Promise<Manifest | undefined> {
  if (!isSafeKey(key)) return undefined;
  try {
    const decoded = decodeManifest(await readFile(path), key, path);
    return decoded.ok ? decoded.manifest : undefined;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function removeStaleTemps(layout: StoreLayout, now: number): Promise<number> {
  return removeDeadTemps(
    [
      ...(await listBlobFiles(layout)),
      ...(await listFiles(layout.acDir())),
      ...(await listFiles(layout.root)),
    ],
    now,
  );
}

/**
 * Remove the temp files a killed writer left in `dirs` (a restore into a product folder, kill -9 half-way: nothing
 * else looks there, and a task that then runs or is up to date leaves them for good); how many. Missing folders are
 * skipped.
 */
export async function removeDeadTempsIn(dirs: Iterable<string>, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const dir of dirs) removed += await removeDeadTemps(await listFiles(dir).catch(() => []), now);
  return removed;
}

/** Remove the temp files among `files` whose writer is gone (isStaleTemp: a dead pid here, or a day old); how many. */
export async function removeDeadTemps(files: readonly DirEntryInfo[], now = Date.now()): Promise<number> {
  let removed = 0;
  for (const f of files) {
    if (isStaleTemp(f.name, f.mtimeMs, TEMP_MAX_AGE_MS, now)) {
      await rm(f.path, { force: true });
      removed++;
    }
  }
  return removed;
}

export interface VerifyReport {
  /** True when nothing was wrong. */
  ok: boolean;
  blobsChecked: number;
  manifestsChecked: number;
  bytesHashed: number;
  /** Blobs whose content did not match their name (quarantined). */
  corruptBlobs: string[];
  /** Manifests that failed their checksum or validation (quarantined). */
  badManifests: { key: string; failure: CacheFailure }[];
  /** Manifests naming a blob the store does not have (quarantined: they cannot be restored). */
  missingBlobs: { key: string; sha256: string; path: string }[];
  /** Temp files of dead writers removed; temp files of live writers left alone. */
  staleTempsRemoved: number;
  tempsInUse: number;
  /** Files that are neither entries nor temp files (left alone, reported). */
  strays: string[];
  /** Entries that could not be read (permissions, I/O errors): left alone, reported; the rest is still checked. */
  unreadable: { path: string; error: string }[];
}

export async function verifyStore(layout: StoreLayout): Promise<VerifyReport> {
  const now = Date.now();
  const staleTempsRemoved = await removeStaleTemps(layout, now);
  const report: VerifyReport = {
    ok: true,
    blobsChecked: 0,
    manifestsChecked: 0,
    bytesHashed: 0,
    corruptBlobs: [],
    badManifests: [],
    missingBlobs: [],
    staleTempsRemoved,
    tempsInUse: 0,
    strays: [],
    unreadable: [],
  };
  const present = new Set<string>();
  const corrupt = new Set<string>();
  const unreadableBlobs = new Set<string>();
  /** Hash one blob: present, corrupt (quarantined), gone, or unreadable (reported). */
  const check = async (name: string, path: string, size: number): Promise<void> => {
    let actual: string;
    try {
      actual = (await hashFile(path)).sha256;
    } catch (e) {
      if (!isMissing(e)) {
        report.unreadable.push({ path, error: (e as NodeJS.ErrnoException).code ?? String(e) });
        unreadableBlobs.add(name);
      }
      return; // removed concurrently, or unreadable
    }
    report.blobsChecked++;
    report.bytesHashed += size;
    if (actual === name) present.add(name);
    else {
      corrupt.add(name);
      report.corruptBlobs.push(name);
      await layout.quarantine(path, 'blob');
    }
  };
  for (const blob of await listBlobFiles(layout)) {
    if (blob.name.startsWith(TEMP_PREFIX)) {
      report.tempsInUse++;
      continue;
    }
    if (!isSha256(blob.name) || blob.path !== layout.blobPath(blob.name)) {
      report.strays.push(blob.path);
      continue;
    }
    await check(blob.name, blob.path, blob.size);
  }
  for (const file of await listFiles(layout.acDir())) {
    if (file.name.startsWith(TEMP_PREFIX)) {
      report.tempsInUse++;
      continue;
    }
    const key = file.name.replace(/\.json$/, '');
    if (!file.name.endsWith('.json') || !isSafeKey(key)) {
      report.strays.push(file.path);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(file.path);
    } catch (e) {
      if (!isMissing(e))
        report.unreadable.push({ path: file.path, error: (e as NodeJS.ErrnoException).code ?? String(e) });
      continue;
    }
    report.manifestsChecked++;
    const decoded = decodeManifest(bytes, key, `ac/${key}`);
    if (!decoded.ok) {
      report.badManifests.push({ key, failure: decoded.failure });
      await layout.quarantine(file.path, 'manifest');
      continue;
    }
    // A build stores blobs, then the manifest (the store is not locked for it): a blob written after the
    // listing above is checked now, not taken for missing.
    for (const o of decoded.manifest.outputs) {
      if (present.has(o.sha256) || corrupt.has(o.sha256) || unreadableBlobs.has(o.sha256)) continue;
      const st = await stat(layout.blobPath(o.sha256)).catch(() => undefined);
      if (st) await check(o.sha256, layout.blobPath(o.sha256), st.size);
    }
    const missing = decoded.manifest.outputs.filter(
      (o) => !present.has(o.sha256) && !unreadableBlobs.has(o.sha256),
    );
    for (const o of missing) report.missingBlobs.push({ key, sha256: o.sha256, path: o.path });
    if (missing.length > 0) await layout.quarantine(file.path, 'manifest');
  }
  report.ok =
    report.corruptBlobs.length === 0 &&
    report.badManifests.length === 0 &&
    report.missingBlobs.length === 0 &&
    report.unreadable.length === 0;
  return report;
}

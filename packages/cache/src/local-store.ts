import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { chmod, copyFile, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  GroupSync,
  hashFile,
  isMissing,
  tempPathFor,
  writeFileAtomic,
  writeStreamAtomic,
  writeTemp,
} from './atomic-file.js';
import {
  collectGarbage,
  type GcOptions,
  type GcReport,
  removeDeadTemps,
  type StoreStats,
  storeStats,
  type VerifyReport,
  verifyStore,
} from './local-maintenance.js';
import { makeDirs } from './make-dirs.js';
import { decodeManifest, encodeManifest, isSafeKey, isSha256, validateManifest } from './manifest.js';
import {
  compactAccessLog,
  compactedSize,
  readAccessLog,
  readPins,
  recordAccess,
  writePins,
} from './store-index.js';
import { listFiles, StoreLayout } from './store-layout.js';
import { type LockOutcome, withStoreLock } from './store-lock.js';
import { giveFileMode } from './store-modes.js';
import {
  type CacheBackend,
  type CacheFailure,
  type CacheOutcome,
  type FileIdentity,
  fail,
  identityOf,
  type Manifest,
  ok,
  parseSize,
  restoredMode,
  sameIdentity,
} from './types.js';
import { markIsStale, newMark, readUsageHint, writeUsageHint } from './usage-hint.js';

/** 10 GiB: the default size budget of a local store. */
export const DEFAULT_MAX_BYTES = 10 * 1024 ** 3;
const STORE_FORMAT = 'pipe-cache-store';
const STORE_VERSION = 1;
/** Size past which a build compacts the access log (a line per cache hit; see compactAccessLogIfLarge). */
const ACCESS_LOG_MAX = 4 << 20;
/** How long a build's budget check waits for the store's maintenance lock before leaving it to the next build. */
const BUDGET_LOCK_WAIT_MS = 2000;
/** Blobs up to this size are read, verified and written in one go on the calling thread (see putBlob). */
const SMALL_BLOB_BYTES = 1 << 20;
/** Blobs up to this size are read, verified and written whole, by the thread pool; larger ones are streamed. */
const WHOLE_BLOB_BYTES = 16 << 20;

export interface LocalStoreOptions {
  /** The store directory (e.g. `<workspace>/.pipe/cache`, or `$PIPE_CACHE_DIR`). */
  root: string;
  /** Size budget for `enforceBudget()` (default 10 GiB). */
  maxBytes?: number;
  /** Clock for access times (tests). */
  now?: () => number;
}

/**
 * The local content-addressed store. Writes are atomic (temp in the same directory + fsync + rename) and
 * idempotent by content, so concurrent writers of the same entry are safe without a lock; reads verify
 * hashes, and a corrupt entry is quarantined and reported as a failure (callers treat it as a miss).
 */
export class LocalStore implements CacheBackend {
  readonly name: string;
  readonly layout: StoreLayout;
  readonly maxBytes: number;
  private readonly now: () => number;
  private initialised: Promise<CacheFailure | undefined> | undefined;
  /** Manifest lookups in this process (not persisted). */
  readonly counters = { hits: 0, misses: 0 };
  /** fsyncs of small writes, committed in groups (a build stores many small entries at once). */
  /** Bytes of blobs this process stored (keepToBudget adds them to the store's known size). */
  private stored = 0;
  private readonly durability = new GroupSync();
  /** Directories known to exist (cas/ and ac/ fan-out), so a write does not mkdir each time. */
  private readonly knownDirs = new Set<string>();

  constructor(options: LocalStoreOptions) {
    this.layout = new StoreLayout(options.root);
    this.name = `local:${options.root}`;
    this.maxBytes = options.maxBytes ?? parseSize(process.env.PIPE_CACHE_MAX_SIZE ?? '') ?? DEFAULT_MAX_BYTES;
    this.now = options.now ?? Date.now;
  }

  /** Path of a blob inside the store (for a remote to download into: its fetchBlob is atomic and verifying). */
  blobPath(sha256: string): string {
    return this.layout.blobPath(sha256);
  }

  async getManifest(key: string): Promise<CacheOutcome<Manifest | undefined>> {
    return this.io(`read ac/${key}`, async () => {
      if (!isSafeKey(key)) return fail(badKey(key));
      const path = this.layout.manifestPath(key);
      let bytes: Buffer;
      try {
        // On this thread: a manifest is small, and a miss (every task of a cold build) is one failed open, cheaper
        // than a hand-off to the thread pool and back.
        bytes = readFileSync(path);
      } catch (e) {
        if (!isMissing(e)) throw e;
        this.counters.misses++;
        return ok(undefined);
      }
      const decoded = decodeManifest(bytes, key, `ac/${key}`);
      if (!decoded.ok) {
        this.counters.misses++;
        await this.layout.quarantine(path, 'manifest');
        return fail(decoded.failure);
      }
      this.counters.hits++;
      await recordAccess(this.layout.accessLog(), key, this.now());
      this.accessed = true;
      return ok(decoded.manifest);
    });
  }

  async putManifest(manifest: Manifest): Promise<CacheOutcome<void>> {
    const checked = validateManifest(manifest);
    if (!checked.ok)
      return fail({
        type: 'invalid-manifest',
        what: `ac/${String(manifest.key)}`,
        problems: checked.problems,
      });
    return this.io(`write ac/${manifest.key}`, async () => {
      // Blobs first: the group commit below also makes every blob stored before this call durable, so the
      // manifest (fsynced in the same round) is renamed into place only once everything it names is on disk.
      const dest = this.layout.manifestPath(manifest.key);
      await this.ensureDir(dirname(dest));
      await this.commitSmall(dest, encodeManifest(manifest), this.layout.modes().file);
      return ok(undefined);
    });
  }

  async hasBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    if (!isSha256(sha256)) return ok(false);
    return this.io(`stat cas/${sha256}`, async () => {
      try {
        return ok((await stat(this.layout.blobPath(sha256))).isFile());
      } catch (e) {
        if (isMissing(e)) return ok(false);
        throw e;
      }
    });
  }

  async verifyBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    if (!isSha256(sha256)) return ok(false);
    return this.io(`verify cas/${sha256}`, async () => {
      const path = this.layout.blobPath(sha256);
      let actual: string;
      try {
        actual = (await hashFile(path)).sha256;
      } catch (e) {
        if (isMissing(e)) return ok(false);
        throw e;
      }
      if (actual === sha256) return ok(true);
      await this.layout.quarantine(path, 'blob');
      return ok(false);
    });
  }

  /** Folders of the workspace whose dead writers' temp files this process removed (once per folder). */
  private readonly clearedDirs = new Set<string>();

  /**
   * Remove the temp files a killed process (kill -9 in the middle of a restore) left in a folder it restored into:
   * nothing else removes them from a product folder. Once per folder per process.
   */
  private async clearDeadTemps(dir: string): Promise<void> {
    if (this.clearedDirs.has(dir)) return;
    this.clearedDirs.add(dir);
    await removeDeadTemps(await listFiles(dir).catch(() => []));
  }

  /** Copy a blob to `destPath` (mode 0o644); see `materialize`. */
  fetchBlob(sha256: string, destPath: string): Promise<CacheOutcome<boolean>> {
    return this.materialize(sha256, destPath, 0o644);
  }

  /**
   * Place a copy of a blob at `dest` with permission bits `mode`: reflink where the file system supports it,
   * else a plain copy — never a hard link, which would let an edit in the workspace change the cache (and
   * share one mode between copies). The copy is hashed before it is renamed into place, so `dest` is either
   * untouched or holds exactly the blob's bytes; a corrupt blob is quarantined and reported.
   */
  async materialize(sha256: string, dest: string, mode = 0o644): Promise<CacheOutcome<boolean>> {
    if (!isSha256(sha256)) return ok(false);
    return this.io(`materialize cas/${sha256}`, async () => {
      const src = this.layout.blobPath(sha256);
      await makeDirs(dirname(dest));
      await this.clearDeadTemps(dirname(dest));
      const tmp = tempPathFor(dest);
      try {
        try {
          await copyFile(src, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        } catch (e) {
          if (isMissing(e)) {
            const srcGone = await stat(src).then(
              () => false,
              () => true,
            );
            if (srcGone) return ok(false);
          }
          throw e;
        }
        const copied = await hashFile(tmp);
        if (copied.sha256 !== sha256) {
          await this.layout.quarantine(src, 'blob');
          return fail({
            type: 'corrupt',
            what: `cas/${sha256}`,
            detail: `content hashes to ${copied.sha256}`,
          });
        }
        const fh = await open(tmp, 'r'); // fchmod/fsync need no write access (the blob is 0o444)
        try {
          await fh.chmod(restoredMode(mode));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, dest);
        return ok(true);
      } finally {
        await rm(tmp, { force: true });
      }
    });
  }

  async putBlob(
    sha256: string,
    srcPath: string,
    hashed?: FileIdentity,
    taken?: () => void,
  ): Promise<CacheOutcome<void>> {
    if (!isSha256(sha256)) return fail({ type: 'rejected', status: 0, detail: `not a sha256: '${sha256}'` });
    return this.io(`write cas/${sha256}`, async () => {
      const dest = this.layout.blobPath(sha256);
      let existing = statSync(dest, { throwIfNoEntry: false });
      // A blob of another size than these bytes (cut short on a crashed disk), or a folder in its place, is no copy
      // of them: moved aside, and stored anew (re-hashing a whole blob at every put would cost too much; a flipped
      // bit is found when it is read, and recomputed).
      if (existing && (!existing.isFile() || existing.size !== (hashed?.size ?? statSync(srcPath).size))) {
        await this.layout.quarantine(dest, 'blob');
        existing = undefined;
      }
      if (existing) {
        // Already stored: refresh its mtime so a concurrent gc treats it as young (referenced soon).
        const t = new Date(this.now());
        try {
          utimesSync(dest, t, t);
        } catch (e) {
          // A cache shared through a group-writable folder: setting another user's file's times is for its owner
          // only (EPERM). The blob is there with these bytes; the manifest written next references it.
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'EACCES') throw e;
        }
        // Its name may not be on disk yet (stored by a writer that ended before its directory was synced):
        // the round of the manifest that names it syncs the directory first.
        this.durability.add(undefined, dirname(dest));
        return ok(undefined);
      }
      this.beginStoring();
      if (hashed && (await this.putHashed(dest, srcPath, hashed, taken))) {
        this.stored += hashed.size;
        return ok(undefined);
      }
      const size = statSync(srcPath).size;
      this.stored += size;
      if (size <= SMALL_BLOB_BYTES) {
        const data = readFileSync(srcPath);
        const actual = createHash('sha256').update(data).digest('hex');
        if (actual !== sha256)
          return fail({ type: 'corrupt', what: srcPath, detail: `hashes to ${actual}, not ${sha256}` });
        taken?.();
        await this.ensureDir(dirname(dest));
        await this.commitSmall(dest, data, this.layout.modes().blob);
        return ok(undefined);
      }
      if (size <= WHOLE_BLOB_BYTES) {
        // Read and write in one piece each, by the thread pool (no chunked stream, no staging copies); the hash
        // is one call over the buffer.
        const data = await readFile(srcPath);
        const actual = createHash('sha256').update(data).digest('hex');
        if (actual !== sha256)
          return fail({ type: 'corrupt', what: srcPath, detail: `hashes to ${actual}, not ${sha256}` });
        taken?.();
        await this.ensureDir(dirname(dest));
        await this.commitLarge(dest, data, this.layout.modes().blob);
        return ok(undefined);
      }
      await this.ensureDir(dirname(dest));
      const written = await writeStreamAtomic(dest, createReadStream(srcPath, { highWaterMark: 1 << 20 }), {
        expectedSha256: sha256,
        mode: this.layout.modes().blob,
      });
      if (!written.ok) {
        return fail({
          type: 'corrupt',
          what: srcPath,
          detail: `hashes to ${written.actual.sha256}, not ${sha256}`,
        });
      }
      return ok(undefined);
    });
  }

  /**
   * Store a file the caller has just hashed (see CacheBackend.putBlob): its bytes are copied by the kernel
   * (a reflink where the file system can, else copy_file_range), not read and hashed here. The source must have
   * the identity it was hashed with before and after the copy, and the copy its size; otherwise nothing is
   * stored and false returned, and the caller verifies the bytes itself. So a blob is stored under `dest` only
   * with the bytes that were hashed to its name.
   */
  private async putHashed(
    dest: string,
    srcPath: string,
    hashed: FileIdentity,
    taken?: () => void,
  ): Promise<boolean> {
    const unchanged = () => sameIdentity(hashed, statIdentity(srcPath));
    if (!unchanged()) return false;
    await this.ensureDir(dirname(dest));
    const tmp = tempPathFor(dest);
    return this.commitTemp(tmp, dest, async () => {
      await copyFile(srcPath, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      if (!unchanged() || statSync(tmp).size !== hashed.size) return false;
      chmodSync(tmp, this.layout.modes().blob); // a few µs here, against a hand-off to the thread pool and back
      taken?.();
      return true;
    });
  }

  /**
   * Atomic write of a small entry with a group-committed fsync: temp file, fsync (in one round with the
   * other writes queued meanwhile), rename; the directory entry is fsynced with the next round.
   */
  private async commitSmall(dest: string, data: Uint8Array, mode: number): Promise<void> {
    const temp = await writeTemp(dest, data, mode);
    this.durability.addOpen(temp);
    await this.commitTemp(temp.path, dest);
  }

  /** As commitSmall, for a buffer written by the thread pool (temp file, group-committed fsync, rename). */
  private async commitLarge(dest: string, data: Uint8Array, mode: number): Promise<void> {
    const tmp = tempPathFor(dest);
    await this.commitTemp(tmp, dest, async () => {
      await writeFile(tmp, data, { flag: 'wx', mode });
      await chmod(tmp, mode); // the mode given to open() is filtered by the umask
      return true;
    });
  }

  /**
   * Fill `tmp` (with `fill`, unless it is written already), make it durable in the next group fsync and rename
   * it to `dest`; the directory entry is fsynced with the round after. When `fill` declines (false) or fails,
   * the temp file is removed and nothing is stored.
   */
  private async commitTemp(tmp: string, dest: string, fill?: () => Promise<boolean>): Promise<boolean> {
    try {
      if (fill && !(await fill())) {
        rmSync(tmp, { force: true });
        return false;
      }
      this.durability.add(tmp); // (a no-op for a temp handed over open)
      await this.durability.flush();
      // By the thread pool: a rename may wait on the file system's journal (ms under load), and this thread
      // meanwhile hands the workers their next tasks.
      await rename(tmp, dest);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    this.durability.add(undefined, dirname(dest));
    return true;
  }

  /** Make every write of this store durable, including the last renames (call when a build ends). */
  async sync(): Promise<CacheOutcome<void>> {
    return this.io('sync', async () => {
      await this.durability.flush();
      await this.compactAccessLogIfLarge();
      return ok(undefined);
    });
  }

  /** Whether this process recorded a use in the access log (see compactAccessLogIfLarge). */
  private accessed = false;

  /**
   * The access log gets a line per cache hit and is compacted by gc, which a store within its budget never runs: a
   * workspace restoring a thousand entries a build would grow it by ~80 kB a build, for ever. Past ACCESS_LOG_MAX
   * bytes it is compacted here (each entry's last use, for the entries still in the store), if the maintenance lock
   * is free at once; else by a later build.
   */
  private async compactAccessLogIfLarge(): Promise<void> {
    if (!this.accessed) return;
    this.accessed = false;
    const log = this.layout.accessLog();
    const size = statSync(log, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= ACCESS_LOG_MAX) return;
    // A store with ~50,000 entries in use has a log over the bound even compacted: then only once it has doubled.
    if (size <= 2 * compactedSize(readHead(log))) return;
    await withStoreLock(
      this.layout.lockFile(),
      async () => {
        const times = await readAccessLog(log);
        for (const key of times.keys()) if (!existsSync(this.layout.manifestPath(key))) times.delete(key);
        await compactAccessLog(log, times, this.layout.modes().file);
      },
      { timeoutMs: 0, mode: this.layout.modes().file },
    ).catch(() => undefined);
  }

  /** Made by the thread pool: creating a directory can cost a file system as much as creating a file (see writeTemp). */
  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await this.layout.makeDir(dir);
    this.knownDirs.add(dir);
  }

  /** Pin a manifest under a label (e.g. 'reference', 'release-1.0'): it and its blobs are never evicted. */
  async pin(key: string, label: string): Promise<CacheOutcome<void>> {
    if (!isSafeKey(key)) return fail(badKey(key));
    return this.underLock(`pin ${key}`, async () => {
      const pins = await readPins(this.layout.pinsFile());
      pins.set(key, (pins.get(key) ?? new Set()).add(label));
      await writePins(this.layout.pinsFile(), pins, this.layout.modes().file);
    });
  }

  /** Remove one label (or, without a label, every label) from a key. */
  async unpin(key: string, label?: string): Promise<CacheOutcome<void>> {
    return this.underLock(`unpin ${key}`, async () => {
      const pins = await readPins(this.layout.pinsFile());
      if (label === undefined) pins.delete(key);
      else pins.get(key)?.delete(label);
      await writePins(this.layout.pinsFile(), pins, this.layout.modes().file);
    });
  }

  /** Pinned keys and their labels. */
  async pins(): Promise<Map<string, string[]>> {
    const pins = await readPins(this.layout.pinsFile());
    return new Map([...pins].filter(([, l]) => l.size > 0).map(([k, l]) => [k, [...l].sort()]));
  }

  async stats(): Promise<StoreStats> {
    return storeStats(this.layout, this.counters);
  }

  /** Evict least-recently-used unpinned entries until the store fits `maxBytes` (see GcOptions). */
  async gc(options: GcOptions = {}): Promise<CacheOutcome<GcReport>> {
    return this.io('gc', async () => {
      const locked = await this.collect(options);
      return locked.ok ? ok(locked.value) : fail({ type: 'unavailable', detail: locked.detail });
    });
  }

  /**
   * gc under the maintenance lock (waiting up to `lockWaitMs`, by default withStoreLock's), then the usage hint as
   * counted; `except`: the mark of this process's stores, which the count covers.
   */
  private collect(options: GcOptions, lockWaitMs?: number, except?: string): Promise<LockOutcome<GcReport>> {
    return withStoreLock(
      this.layout.lockFile(),
      async () => {
        const report = await collectGarbage(this.layout, { maxBytes: this.maxBytes, ...options }, this.now());
        this.writeCounted(report.bytesAfter, except);
        return report;
      },
      { ...(lockWaitMs === undefined ? {} : { timeoutMs: lockWaitMs }), mode: this.layout.modes().file },
    );
  }

  /** This process's mark in the usage hint's `storing` list while it stores (usage-hint.ts). */
  private usageMark: string | undefined;

  /** The first store of this process (since its last budget check) marks the usage hint: see usage-hint.ts. */
  private beginStoring(): void {
    if (this.usageMark !== undefined || this.stored > 0) return;
    this.usageMark = newMark(this.now());
    const file = this.layout.usageFile();
    const hint = readUsageHint(file);
    writeUsageHint(
      file,
      { bytes: hint.bytes, storing: [...hint.storing, this.usageMark] },
      this.layout.modes().file,
    );
  }

  /** The hint after a count (a gc): the count covers every writer's bytes so far; live writers' marks stay. */
  private writeCounted(bytes: number, except?: string): void {
    const file = this.layout.usageFile();
    const storing = readUsageHint(file).storing.filter((m) => m !== except && !markIsStale(m, this.now()));
    writeUsageHint(file, { bytes, storing }, this.layout.modes().file);
  }

  /**
   * Keep the store within its size budget after a build stored blobs: the store's size as the last gc or check
   * left it (a small file, no walk of the store) plus what this process stored; over the budget, a gc evicts the
   * least recently used unpinned entries. Undefined when it was within budget (or nothing was stored).
   */
  async keepToBudget(): Promise<CacheOutcome<GcReport | undefined>> {
    if (this.stored === 0) return ok(undefined);
    const stored = this.stored;
    this.stored = 0;
    return this.io('size budget', async () => {
      const file = this.layout.usageFile();
      const own = this.usageMark;
      this.usageMark = undefined;
      const hint = readUsageHint(file);
      const others = hint.storing.filter((m) => m !== own);
      // A writer that died storing: the total lacks its bytes, so the store is counted.
      const unknown = hint.bytes === undefined || others.some((m) => markIsStale(m, this.now()));
      const total = unknown ? Number.POSITIVE_INFINITY : (hint.bytes as number) + stored;
      if (total <= this.maxBytes) {
        writeUsageHint(file, { bytes: total, storing: others }, this.layout.modes().file);
        return ok(undefined);
      }
      // Not behind another process's long maintenance (a verify, a gc of a big shared store): the build would sit
      // silent for minutes.
      const locked = await this.collect({}, BUDGET_LOCK_WAIT_MS, own);
      if (locked.ok) return ok(locked.value);
      // Unchecked: a mark that is always stale takes this process's place, so the next check counts the store (also
      // when this process lives on, as pipe watch does).
      const now = readUsageHint(file);
      writeUsageHint(
        file,
        {
          bytes: now.bytes,
          storing: [...now.storing.filter((m) => m !== own), 'unchecked'],
        },
        this.layout.modes().file,
      );
      const bytes = Number.isFinite(total) ? total : 0;
      return ok({
        bytesBefore: bytes,
        bytesAfter: bytes,
        evicted: [],
        removedBlobs: 0,
        removedJunk: 0,
        overBudget: true,
        deferred: `its maintenance lock is held by ${locked.holder} (a pipe cache gc or verify)`,
      });
    });
  }

  /** Apply the store's size budget (call after a build). */
  enforceBudget(): Promise<CacheOutcome<GcReport>> {
    return this.gc({ maxBytes: this.maxBytes });
  }

  /** Re-hash every blob, check every manifest and the blobs it names; quarantine what is bad. */
  async verify(): Promise<CacheOutcome<VerifyReport>> {
    return this.underLock('verify', () => verifyStore(this.layout));
  }

  private async underLock<T>(what: string, fn: () => Promise<T>): Promise<CacheOutcome<T>> {
    return this.io(what, async () => {
      const locked = await withStoreLock(this.layout.lockFile(), fn, { mode: this.layout.modes().file });
      return locked.ok ? ok(locked.value) : fail<T>({ type: 'unavailable', detail: locked.detail });
    });
  }

  /** Run a local operation: I/O errors (ENOSPC, EACCES, ...) become `unavailable` values, bugs still throw. */
  private async io<T>(what: string, fn: () => Promise<CacheOutcome<T>>): Promise<CacheOutcome<T>> {
    if (!this.initialised) this.initialised = this.init();
    const init = await this.initialised;
    if (init) return fail(init);
    try {
      return await fn();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      if (typeof code !== 'string') throw e;
      // node's message starts with the code already ("EACCES: permission denied, open …").
      const message = (e as Error).message;
      return fail({
        type: 'unavailable',
        detail: `${this.name}: ${what}: ${message.startsWith(code) ? message : `${code} ${message}`}`,
      });
    }
  }

  /** Open the store (initLayout), and give its access log the store's file mode. */
  private async init(): Promise<CacheFailure | undefined> {
    const failure = await this.initLayout();
    if (failure) return failure;
    // Appended to by every process that uses the store: created by the first with the mode the umask lets
    // appendFile give, which in a group-shared store may lack the group's write. Made here with the store's.
    const modes = this.layout.modes();
    if (modes.widened) {
      const log = this.layout.accessLog();
      try {
        await (await open(log, 'a', modes.file)).close();
        await giveFileMode(log, modes, modes.file);
      } catch {
        // A member who may only read the store: recording uses is best effort (store-index.ts recordAccess).
      }
    }
    return undefined;
  }

  /**
   * Where a blob fetched from elsewhere (a remote cache) is to be written: its folder made with the store's mode.
   * Then settleBlob gives it the store's blob mode.
   */
  async prepareBlob(sha256: string): Promise<string> {
    const dest = this.layout.blobPath(sha256);
    await this.io(`mkdir for cas/${sha256}`, async () => {
      await this.ensureDir(dirname(dest));
      return ok(undefined);
    });
    return dest;
  }

  /** Give a blob written by another writer (prepareBlob) the store's blob mode. */
  async settleBlob(sha256: string): Promise<void> {
    const modes = this.layout.modes();
    await giveFileMode(this.layout.blobPath(sha256), { ...modes, widened: true }, modes.blob);
  }

  /** Create the store, or check that an existing one has a layout version we understand. */
  private async initLayout(): Promise<CacheFailure | undefined> {
    const file = this.layout.versionFile();
    try {
      const doc = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; version?: unknown };
      if (doc.format === STORE_FORMAT && doc.version === STORE_VERSION) return undefined;
      return {
        type: 'unavailable',
        detail: `${this.name}: layout ${String(doc.format)} v${String(doc.version)} is not ${STORE_FORMAT} v${STORE_VERSION}`,
      };
    } catch (e) {
      if (!isMissing(e) && !(e instanceof SyntaxError)) {
        return { type: 'unavailable', detail: `${this.name}: ${(e as Error).message}` };
      }
    }
    // A folder given by mistake (`--cache-dir ~/data`) is not made a store: gc and verify would clean its files.
    const present = await readdir(this.layout.root).catch(() => [] as string[]);
    const foreign = present.filter((n) => !StoreLayout.isOwnName(n));
    if (foreign.length > 0)
      return {
        type: 'unavailable',
        detail: `${this.name}: ${this.layout.root} is not a pipe cache (it holds ${foreign
          .slice(0, 3)
          .map((n) => `'${n}'`)
          .join(
            ', ',
          )}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''}): give a new or empty folder, or a pipe cache's`,
      };
    try {
      await makeDirs(this.layout.root);
      await writeFileAtomic(
        file,
        Buffer.from(`${JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION })}\n`),
        this.layout.modes().file,
      );
      // A new, empty store's size is known: its first build's budget check need not count it (a walk of everything
      // that build stored).
      if (present.length === 0)
        writeUsageHint(this.layout.usageFile(), { bytes: 0, storing: [] }, this.layout.modes().file);
      return undefined;
    } catch (e) {
      return {
        type: 'unavailable',
        detail: `${this.name}: cannot create the store: ${(e as Error).message}`,
      };
    }
  }
}

/** The identity of a file now, or undefined if it is gone. */
function statIdentity(file: string): FileIdentity | undefined {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? identityOf(st) : undefined;
}

const badKey = (key: string): CacheFailure => ({
  type: 'invalid-manifest',
  what: `ac/${key}`,
  problems: [{ at: 'key', reason: 'bad-key', detail: 'key must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}' }],
});

/** The first bytes of a file, as text ('' when unreadable). */
function readHead(file: string): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(128);
      return buf.toString('utf8', 0, readSync(fd, buf, 0, 128, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

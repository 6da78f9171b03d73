import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, TEMP_PREFIX } from './atomic-file.js';
import { makeStoreDir, modesOfStore, type StoreModes } from './store-modes.js';

/**
 * Where things live in a local store directory:
 *   store.json          {format, version}: the layout version
 *   cas/ab/<sha256>     blobs, sharded by the first two hex digits
 *   ac/<key>.json       manifests (in the checksummed envelope)
 *   quarantine/         corrupt entries moved aside for inspection (emptied by gc)
 *   access-v1.log       manifest access times (LRU); pins-v1.json; lock
 */
/** The names a store's folder holds (the layout above): what tells a store from a folder given by mistake. */
const OWN_NAMES = new Set([
  'store.json',
  'cas',
  'ac',
  'quarantine',
  'access-v1.log',
  'pins-v1.json',
  'usage-v1.json',
]);

export class StoreLayout {
  constructor(readonly root: string) {}
  /** Whether a name in the store's folder is one of its own (the layout's files, a temp file, the lock). */
  static isOwnName(name: string): boolean {
    return OWN_NAMES.has(name) || name.startsWith(TEMP_PREFIX) || name.startsWith('lock');
  }
  readonly versionFile = () => join(this.root, 'store.json');
  readonly casDir = () => join(this.root, 'cas');
  readonly acDir = () => join(this.root, 'ac');
  readonly quarantineDir = () => join(this.root, 'quarantine');
  readonly accessLog = () => join(this.root, 'access-v1.log');
  readonly pinsFile = () => join(this.root, 'pins-v1.json');
  readonly lockFile = () => join(this.root, 'lock');
  /** The store's size as the last gc or budget check counted it (local-store.ts keepToBudget). */
  readonly usageFile = () => join(this.root, 'usage-v1.json');
  blobPath(sha256: string): string {
    return join(this.root, 'cas', sha256.slice(0, 2), sha256);
  }
  manifestPath(key: string): string {
    return join(this.root, 'ac', `${key}.json`);
  }

  private knownModes: StoreModes | undefined;
  /** The modes of what is created in the store (store-modes.ts), by its folder's mode once it exists. */
  modes(): StoreModes {
    if (this.knownModes) return this.knownModes;
    const { modes, final } = modesOfStore(this.root);
    if (final) this.knownModes = modes;
    return modes;
  }
  /** `mkdir -p` of a folder inside the store, with the store's folder mode. */
  makeDir(dir: string): Promise<void> {
    return makeStoreDir(dir, this.modes());
  }

  /** Move a bad file aside (or delete it if even that fails); never throws. */
  async quarantine(path: string, kind: 'blob' | 'manifest'): Promise<void> {
    const name = `${kind}-${path.split('/').pop() ?? 'x'}-${Date.now()}-${randomBytes(3).toString('hex')}`;
    try {
      await this.makeDir(this.quarantineDir());
      await rename(path, join(this.quarantineDir(), name));
    } catch {
      await rm(path, { force: true }).catch(() => undefined);
    }
  }
}

export interface DirEntryInfo {
  /** File name (sha for blobs, key + '.json' for manifests, or a temp/stray name). */
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/** Files of one directory with size and mtime; vanished entries (concurrent removal) are skipped. */
export async function listFiles(dir: string): Promise<DirEntryInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const out: DirEntryInfo[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const s = await stat(path);
      if (s.isFile()) out.push({ name, path, size: s.size, mtimeMs: s.mtimeMs });
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }
  return out;
}

/** All files under cas/ (every shard directory). */
export async function listBlobFiles(layout: StoreLayout): Promise<DirEntryInfo[]> {
  let shards: string[];
  try {
    shards = await readdir(layout.casDir());
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const all: DirEntryInfo[] = [];
  for (const shard of shards.sort()) all.push(...(await listFiles(join(layout.casDir(), shard))));
  return all;
}

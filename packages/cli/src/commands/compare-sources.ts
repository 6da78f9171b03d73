/**
 * The two sides of `pipe compare`, each resolved from one argument:
 *   - a pipe workspace (a directory with .pipe/builds): the outputs of its last build, read in place,
 *     their SHA-256 taken from the workspace's state (so identical products are not even read);
 *   - any other directory (e.g. written by `pipe build --out`): every file under it;
 *   - a build record file (`.pipe/builds/<id>.json`, e.g. main's, kept as a CI artifact), or a build
 *     id / unique prefix / `last` of the current workspace: the outputs of that build, fetched from the
 *     cache (the local store, then the remote cache when one is configured, read-only) by the task keys
 *     the record holds. This is how a build is compared with reference products that exist only in the cache.
 * Products are paired by workspace-relative path.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CacheBackend, Manifest } from '@pipe/cache';
import { makeDirs } from '@pipe/cache/make-dirs';
import {
  type BuildRecord,
  commonFolder,
  type ProductEntry,
  recordedDelivery,
  targetOfTaskId,
} from '@pipe/core';

export interface SourceContext {
  /** The current workspace's root, when there is one (for build ids). */
  workspaceRoot: string | undefined;
  /** Only the products of these targets (empty: all). */
  targets: string[];
  /** The cache to read a build's products from, given the record's cache directory. */
  cacheFor(recordCacheDir: string | undefined): CacheBackend;
  /** A fresh directory to materialise cached products into. */
  scratch: string;
}

/** A resolved side: products with absolute paths, or a promise to fetch their bytes on demand. */
export interface ProductSource {
  label: string;
  entries: ProductEntry[];
  /** Make `entry.absPath` exist (cached products are fetched lazily: identical ones never are). */
  materialise(entry: ProductEntry): Promise<string | undefined>;
  /** A build's products (workspace or record): the build, and the task of each product (by relPath). */
  build?: { id: string; status: string; targets: string[]; taskOf: Map<string, string> };
}

export type SourceResult = { ok: true; source: ProductSource } | { ok: false; message: string };

const inPlace = async () => undefined;

const wantedTask = (targets: string[], taskId: string) =>
  targets.length === 0 || targets.includes(targetOfTaskId(taskId));

function readRecord(file: string): BuildRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as BuildRecord;
    return r.format === 'pipe-build' && r.version === 1 ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Resolve one argument of `pipe compare`. */
export async function resolveSource(
  arg: string,
  side: 'ref' | 'new',
  ctx: SourceContext,
): Promise<SourceResult> {
  const core = await import('@pipe/core');
  const abs = path.resolve(arg);
  const st = existsSync(abs) ? statSync(abs) : undefined;
  if (st?.isDirectory()) {
    const layout = core.workspaceLayout(abs);
    if (core.listBuildIds(layout.buildsDir).length > 0) return workspaceSource(arg, abs, ctx);
    const listed = await core.listProductDir(abs);
    if (!listed.ok) return { ok: false, message: `pipe compare: ${side}: ${listed.message}` };
    return { ok: true, source: { label: arg, entries: listed.entries, materialise: inPlace } };
  }
  if (st?.isFile()) {
    const record = readRecord(abs);
    if (!record)
      return { ok: false, message: `pipe compare: ${side}: ${arg} is a file but not a pipe build record` };
    // A record from elsewhere (e.g. a CI artifact): its cache directory is another machine's; use ours.
    return cachedBuildSource(record, arg, side, ctx, undefined);
  }
  if (!ctx.workspaceRoot) {
    return {
      ok: false,
      message: `pipe compare: ${side}: '${arg}' is not a directory, a build record, or a build id (no pipe.yaml here for build ids)`,
    };
  }
  const found = core.readBuildRecord(core.workspaceLayout(ctx.workspaceRoot).buildsDir, arg);
  if (!found.ok)
    return {
      ok: false,
      message: `pipe compare: ${side}: '${arg}' is not a directory, and ${found.detail} in ${ctx.workspaceRoot}`,
    };
  return cachedBuildSource(found.record, found.record.id, side, ctx, found.record.cacheDir);
}

/** The last build of a workspace, its outputs read in place (hashes from the state file). */
async function workspaceSource(arg: string, root: string, ctx: SourceContext): Promise<SourceResult> {
  const core = await import('@pipe/core');
  const layout = core.workspaceLayout(root);
  const found = core.readBuildRecord(layout.buildsDir, 'last');
  if (!found.ok) return { ok: false, message: `pipe compare: ${arg}: ${found.detail}` };
  const state = core.loadState(layout.stateFile).data;
  const entries: ProductEntry[] = [];
  const taskOf = new Map<string, string>();
  const wanted = recordedDelivery(found.record, ctx.targets);
  // Every product the workspace holds, whichever build made it: the last build may have built one target only
  // (`pipe build a --force a`), and the others' products are still the workspace's.
  for (const id of [...state.tasks.keys()].sort()) {
    if (!wantedTask(wanted, id)) continue;
    const rec = state.tasks.get(id);
    if (!rec) continue;
    for (const out of Object.values(rec.outputs)) {
      taskOf.set(out.path, id);
      const absPath = path.isAbsolute(out.path) ? out.path : path.join(root, out.path);
      // Deleted from the workspace since its build: missing on this side (not an unreadable product).
      const now = core.stampOf(absPath);
      if (!now && !existsSync(absPath)) continue;
      // The state's hash is only trusted while the file is unchanged since it was recorded. Stamped as the state
      // stamps products (stampOf: ns from a plain stat's float ms): a BigInt stat's exact ns never matched, and
      // every product was read and hashed again.
      const fresh = now !== undefined && now.mtimeNs === out.mtimeNs && now.size === out.size;
      entries.push({ relPath: out.path, absPath, ...(fresh ? { sha256: out.sha256 } : {}) });
    }
  }
  return {
    ok: true,
    source: {
      label: `${arg} (build ${found.record.id})`,
      entries: dedupe(entries),
      materialise: inPlace,
      build: buildOf(found.record, taskOf),
    },
  };
}

/** A build's outputs from the cache, by the keys of its record. */
async function cachedBuildSource(
  record: BuildRecord,
  label: string,
  side: string,
  ctx: SourceContext,
  cacheDir: string | undefined,
): Promise<SourceResult> {
  const cache = ctx.cacheFor(cacheDir);
  const entries: ProductEntry[] = [];
  const where = new Map<string, { sha256: string; mode: number }>();
  const taskOf = new Map<string, string>();
  const dir = path.join(ctx.scratch, side);
  const wanted = recordedDelivery(record, ctx.targets);
  for (const [id, task] of Object.entries(record.tasks).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!wantedTask(wanted, id) || !task.key) continue;
    if (task.state === 'failed' || task.state === 'skipped' || task.state === 'not-started') continue;
    // What this build made or restored, as its record says: the cache's entry for the key may have been replaced
    // since (a rerun of the same key, --force, made other bytes), and the bytes stay in the cache by their hash.
    if (task.outputs) {
      for (const [relPath, sha256] of Object.entries(task.outputs)) {
        const absPath = path.join(dir, ...relPath.split('/'));
        entries.push({ relPath, absPath, sha256 });
        where.set(absPath, { sha256, mode: 0o644 });
        taskOf.set(relPath, id);
      }
      continue;
    }
    const got = await cache.getManifest(task.key);
    const manifest: Manifest | undefined = got.ok ? got.value : undefined;
    if (!manifest) {
      const why = got.ok ? 'not in the cache' : (await import('@pipe/cache')).describeFailure(got.failure);
      return {
        ok: false,
        message: `pipe compare: ${side}: the products of ${id} (build ${record.id}, key ${task.key.slice(0, 12)}) are ${why}`,
      };
    }
    for (const out of manifest.outputs) {
      const absPath = path.join(dir, ...out.path.split('/'));
      entries.push({ relPath: out.path, absPath, sha256: out.sha256 });
      where.set(absPath, { sha256: out.sha256, mode: out.mode });
      taskOf.set(out.path, id);
    }
  }
  const materialise = async (entry: ProductEntry): Promise<string | undefined> => {
    const w = where.get(entry.absPath);
    if (!w || existsSync(entry.absPath)) return undefined;
    await makeDirs(path.dirname(entry.absPath));
    const got = await cache.fetchBlob(w.sha256, entry.absPath);
    if (!got.ok) return (await import('@pipe/cache')).describeFailure(got.failure);
    return got.value ? undefined : `blob ${w.sha256.slice(0, 12)} of ${entry.relPath} is not in the cache`;
  };
  return {
    ok: true,
    source: {
      label: `build ${record.id}${label !== record.id ? ` (${label})` : ''}`,
      entries: dedupe(entries),
      materialise,
      build: buildOf(record, taskOf),
    },
  };
}

function buildOf(record: BuildRecord, taskOf: Map<string, string>): NonNullable<ProductSource['build']> {
  // The targets whose products the build delivered (--out copied those): the requested ones and those built with them.
  return {
    id: record.id,
    status: record.status,
    targets: recordedDelivery(record, record.targets ?? []),
    taskOf,
  };
}

/**
 * A build's products as `pipe build --out` lays them out: only the requested targets' outputs, named by their
 * paths below the folder they share (products/excess_map/counts.fits.gz → counts.fits.gz). Used when the other
 * side is a plain folder, e.g. one written by --out.
 */
export function asOutFolder(source: ProductSource): ProductSource {
  const build = source.build;
  if (!build) return source;
  const entries = source.entries.filter((e) => {
    const task = build.taskOf.get(e.relPath);
    return task !== undefined && wantedTask(build.targets, task);
  });
  const base = commonFolder(entries.map((e) => e.relPath));
  return {
    ...source,
    entries: entries.map((e) => ({ ...e, relPath: base ? path.posix.relative(base, e.relPath) : e.relPath })),
  };
}

function dedupe(entries: ProductEntry[]): ProductEntry[] {
  const seen = new Map<string, ProductEntry>();
  for (const e of entries) seen.set(e.relPath, e);
  return [...seen.values()];
}

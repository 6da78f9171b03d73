/**
 * Dynamic fan-out items in cache manifests, made portable between workspaces. A task that emits
 * items (e.g. one per observation run) names files by absolute path; stored as such, a manifest
 * restored in another workspace would point into the first one. So item files inside the workspace
 * are stored workspace-relative and resolved against the restoring workspace's root; files outside
 * it below the folder of a variable that starts an input path are stored `$NAME/rest` (as task keys name them:
 * workspace/key-paths.ts) and resolved through the restoring pipeline's folder for NAME; other files outside the
 * workspace stay absolute. (A key that names its inputs `$NAME/…` is the same on machines keeping the data
 * elsewhere: a manifest it finds there must not send the fan-out to this machine's paths.)
 *
 * The translation wraps the cache backend the engine sees, so the planner and the scheduler keep
 * working with absolute paths. Items read from a cache are untrusted: a malformed list, or a
 * relative file with a `..` segment, makes the manifest invalid (treated as a miss).
 */
import path from 'node:path';
import { type CacheBackend, fail, type Manifest, type ManifestProblem, pathProblems } from '@pipe/cache';
import type { TaskItem } from '../model/types.js';
import { fromKeyPath, type KeyRoots, keyPath } from '../workspace/key-paths.js';

/** Items as stored in a manifest: files below `root` become relative, below a variable's folder `$NAME/…`. */
export function portableItems(root: string, items: readonly TaskItem[], roots?: KeyRoots): TaskItem[] {
  return items.map((item) => ({ ...item, files: item.files.map((f) => keyPath(root, f, roots)) }));
}

export type ResolvedItems = { ok: true; items: TaskItem[] } | { ok: false; problems: ManifestProblem[] };

/** Items read from a manifest, checked and resolved against `root` (absolute files are kept as they are). */
export function resolveItems(root: string, raw: readonly unknown[], roots?: KeyRoots): ResolvedItems {
  const problems: ManifestProblem[] = [];
  const items: TaskItem[] = [];
  raw.forEach((value, i) => {
    const at = `items[${i}]`;
    const v = value as { id?: unknown; files?: unknown; data?: unknown } | null;
    if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || !Array.isArray(v.files)) {
      problems.push({ at, reason: 'wrong-type', detail: 'an item must be {id: string, files: string[]}' });
      return;
    }
    const files: string[] = [];
    v.files.forEach((f: unknown, j: number) => {
      if (typeof f !== 'string') {
        problems.push({ at: `${at}.files[${j}]`, reason: 'wrong-type', detail: 'a file must be a string' });
      } else if (path.posix.isAbsolute(f)) {
        files.push(f);
      } else if (f.startsWith('$')) {
        // Below a variable's folder: this pipeline's folder for it (none: the entry is not for this workspace).
        const here = fromKeyPath(f, roots);
        const bad = pathProblems(f.slice(f.indexOf('/') + 1), `${at}.files[${j}]`);
        if (here === undefined || bad.length > 0)
          problems.push(
            ...(bad.length > 0
              ? bad
              : [
                  {
                    at: `${at}.files[${j}]`,
                    reason: 'wrong-type' as const,
                    detail: `${f}: no such variable here`,
                  },
                ]),
          );
        else files.push(here);
      } else {
        const bad = pathProblems(f, `${at}.files[${j}]`);
        if (bad.length > 0) problems.push(...bad);
        else files.push(path.join(root, ...f.split('/')));
      }
    });
    items.push({ ...(v as TaskItem), id: v.id, files });
  });
  return problems.length === 0 ? { ok: true, items } : { ok: false, problems };
}

/** `cache` with the items of manifests translated between absolute (engine) and portable (stored) form. */
export function withPortableItems(cache: CacheBackend, root: string, roots?: KeyRoots): CacheBackend {
  const sync = cache.sync?.bind(cache);
  return {
    name: cache.name,
    async getManifest(key) {
      const got = await cache.getManifest(key);
      if (!got.ok || !got.value?.items) return got;
      const resolved = resolveItems(root, got.value.items, roots);
      if (!resolved.ok)
        return fail({ type: 'invalid-manifest', what: `ac/${key}`, problems: resolved.problems });
      const manifest: Manifest = { ...got.value, items: resolved.items };
      return { ok: true, value: manifest };
    },
    putManifest(manifest) {
      if (!manifest.items) return cache.putManifest(manifest);
      return cache.putManifest({
        ...manifest,
        items: portableItems(root, manifest.items as TaskItem[], roots),
      });
    },
    hasBlob: (sha) => cache.hasBlob(sha),
    ...(cache.verifyBlob ? { verifyBlob: (sha: string) => cache.verifyBlob!(sha) } : {}),
    ...(cache.keepToBudget ? { keepToBudget: () => cache.keepToBudget!() } : {}),
    fetchBlob: (sha, dest) => cache.fetchBlob(sha, dest),
    putBlob: (sha, src, hashed, taken) => cache.putBlob(sha, src, hashed, taken),
    ...(sync ? { sync } : {}),
  };
}

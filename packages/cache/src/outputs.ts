import { lstat, realpath } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { hashFile, isMissing } from './atomic-file.js';
import { makeDirs } from './make-dirs.js';
import { pathProblems } from './manifest.js';
import type { CacheBackend, CacheFailure, Manifest, ManifestOutput } from './types.js';

/** Something a materialize-capable cache can do beyond CacheBackend (LocalStore and TieredCache both can). */
interface Materializer {
  materialize(
    sha256: string,
    dest: string,
    mode: number,
  ): Promise<{ ok: true; value: boolean } | { ok: false; failure: CacheFailure }>;
}

export type OutputsFailure =
  | CacheFailure
  /** An output path that would write outside the workspace (absolute, `..`, or through a symlink). */
  | { type: 'unsafe-path'; path: string; detail: string }
  /** An output to store that is not a regular file (missing, a directory, a symlink). */
  | { type: 'not-a-file'; path: string; detail: string }
  /** A blob the manifest names is in no cache: the task must run. */
  | { type: 'missing-blob'; path: string; sha256: string };

export type OutputsOutcome<T> = { ok: true; value: T } | { ok: false; failure: OutputsFailure };

/**
 * Where `relPath` lands inside `workspace`, or why it may not be written: the path must be relative and
 * normalised, and no existing directory on the way may be a symlink that leads out of the workspace.
 * (The last component may be a symlink: rename replaces the link itself, it does not follow it.)
 */
export async function safeDestination(workspace: string, relPath: string): Promise<OutputsOutcome<string>> {
  const problems = pathProblems(relPath, 'path');
  if (problems.length > 0)
    return {
      ok: false,
      failure: { type: 'unsafe-path', path: relPath, detail: problems.map((p) => p.detail).join('; ') },
    };
  const root = await realpath(workspace);
  const dest = join(root, relPath);
  // The deepest existing ancestor, resolved through symlinks, must still be inside the root.
  let dir = dirname(dest);
  for (;;) {
    try {
      const real = await realpath(dir);
      const rel = relative(root, real);
      if (rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) {
        return {
          ok: false,
          failure: {
            type: 'unsafe-path',
            path: relPath,
            detail: `'${relative(root, dir)}' leads outside the workspace (to ${real})`,
          },
        };
      }
      return { ok: true, value: dest };
    } catch (e) {
      if (!isMissing(e)) throw e;
      dir = dirname(dir);
    }
  }
}

/**
 * Put a manifest's blobs into the workspace under their recorded paths and modes. Each file appears
 * atomically; paths leaving the workspace are refused before anything is written.
 */
export async function restoreOutputs(
  cache: CacheBackend & Materializer,
  workspace: string,
  manifest: Manifest,
): Promise<OutputsOutcome<string[]>> {
  const destinations: { output: ManifestOutput; dest: string }[] = [];
  for (const output of manifest.outputs) {
    const dest = await safeDestination(workspace, output.path);
    if (!dest.ok) return dest;
    destinations.push({ output, dest: dest.value });
  }
  const written: string[] = [];
  for (const { output, dest } of destinations) {
    await makeDirs(dirname(dest));
    const placed = await cache.materialize(output.sha256, dest, output.mode);
    if (!placed.ok) return placed;
    if (!placed.value)
      return { ok: false, failure: { type: 'missing-blob', path: output.path, sha256: output.sha256 } };
    written.push(dest);
  }
  return { ok: true, value: written };
}

export interface OutputToStore {
  name: string;
  /** Relative to the workspace. */
  path: string;
}

/**
 * Store a task's outputs: every blob first, then the manifest, so a manifest never names a blob that is not
 * stored (on a remote too). Outputs must be regular files inside the workspace (symlinks are refused).
 */
export async function storeOutputs(
  cache: CacheBackend,
  workspace: string,
  entry: {
    key: string;
    taskId: string;
    outputs: OutputToStore[];
    provenance: Record<string, unknown>;
    items?: unknown[];
    createdAt?: string;
  },
): Promise<OutputsOutcome<Manifest>> {
  const outputs: ManifestOutput[] = [];
  for (const o of entry.outputs) {
    const problems = pathProblems(o.path, 'path');
    if (problems.length > 0)
      return {
        ok: false,
        failure: { type: 'unsafe-path', path: o.path, detail: problems.map((p) => p.detail).join('; ') },
      };
    const abs = join(workspace, o.path);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(abs);
    } catch (e) {
      if (isMissing(e))
        return { ok: false, failure: { type: 'not-a-file', path: o.path, detail: 'missing' } };
      throw e;
    }
    if (!st.isFile())
      return {
        ok: false,
        failure: {
          type: 'not-a-file',
          path: o.path,
          detail: st.isSymbolicLink() ? 'a symlink' : 'not a regular file',
        },
      };
    const { sha256, size } = await hashFile(abs);
    const put = await cache.putBlob(sha256, abs);
    if (!put.ok) return put;
    outputs.push({ name: o.name, path: o.path, sha256, size, mode: st.mode & 0o7777 });
  }
  const manifest: Manifest = {
    version: 1,
    key: entry.key,
    taskId: entry.taskId,
    outputs,
    provenance: entry.provenance,
    createdAt: entry.createdAt ?? new Date().toISOString(),
  };
  if (entry.items !== undefined) manifest.items = entry.items;
  const put = await cache.putManifest(manifest);
  return put.ok ? { ok: true, value: manifest } : put;
}

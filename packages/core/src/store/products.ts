/**
 * Products between executor, cache and workspace: a task's outputs, written to temporary paths,
 * are hashed, taken by the cache (which then makes them durable: blobs, then the manifest with the
 * provenance record), and published under their final names by rename — so no half-written output
 * is ever visible, and a failed task leaves the earlier products in place. Restoring fetches a manifest's blobs
 * (verified by the cache) straight to the final paths (atomically, by the cache's temp + rename).
 */
import { existsSync, lstatSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { chmod, copyFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CacheBackend, CacheFailure, FileIdentity, Manifest, ManifestOutput } from '@pipe/cache';
import { makeDirs } from '@pipe/cache/make-dirs';
import { identityOf, restoredMode } from '@pipe/cache/types';
import type { OutputFailure } from '../execute/executor.js';
import type { Task, TaskItem } from '../model/types.js';
import { inBatches } from '../schedule/in-batches.js';
import { stampOf } from '../state/hash-memo.js';
import type { OutputStamp } from '../state/state-file.js';
import { nearestExisting, relPath } from '../workspace/layout.js';
import { describeCacheFailure } from './lazy-cache.js';
import { hashOutputFile, takeWrittenHash } from './written-hashes.js';

/**
 * Why the folder `dir` of output `output` could not be made (mkdir's error): mkdir says only EEXIST or ENOTDIR when a
 * file stands where a folder must, so that file is named.
 */
export function outputFolderProblem(root: string, output: string, dir: string, error: unknown): string {
  const what = `cannot create folder ${relPath(root, dir)} for output '${output}'`;
  const existing = nearestExisting(dir);
  if (statSync(existing, { throwIfNoEntry: false })?.isDirectory() === false)
    return `${what}: ${relPath(root, existing)} is a file`;
  return `${what}: ${error instanceof Error ? error.message : String(error)}`;
}

/** What the cache failed to store, and why (the same reason, a store that cannot be made, recurs for every task). */
export interface CacheWarning {
  what: string;
  reason: string;
}

/** One line for a cache warning. */
export function cacheWarningText(w: CacheWarning): string {
  return `cache: ${w.what}: ${w.reason}`;
}

export type StoreResult =
  | {
      ok: true;
      outputs: ManifestOutput[];
      /**
       * Settles (never rejects) once the entry is stored, blobs then manifest, with the cache's warnings. The temp
       * outputs are free before that: storeOutputs returns when the cache has taken their bytes, so they can be
       * published and the dependants started while the store makes its copies durable (an fsync round, here
       * 5-10 ms, twice per task: the critical path of a chain of small tasks) and a remote tier uploads them.
       */
      committed: Promise<CacheWarning[]>;
    }
  | { ok: false; failure: OutputFailure };

/**
 * Hash the temp outputs and start storing them (blobs + manifest) in the cache; returns once the cache no longer
 * reads the temp files. Cache failures are warnings, reported by `committed`.
 */
export async function storeOutputs(options: {
  cache: CacheBackend;
  root: string;
  task: Task;
  key: string;
  temps: Record<string, string>;
  items?: TaskItem[];
  provenance: Record<string, unknown>;
}): Promise<StoreResult> {
  const { cache, root, task, key, temps } = options;
  const outputs: ManifestOutput[] = [];
  const identities: Record<string, FileIdentity | undefined> = {};
  for (const [name, finalPath] of Object.entries(task.outputs)) {
    const temp = temps[name]!;
    const rel = relPath(root, finalPath);
    // lstat: a link is refused as such (published, it would alias its target), not followed.
    let st = lstatSync(temp, { bigint: true, throwIfNoEntry: false });
    if (st?.isFile() && st.nlink > 1n) {
      // A hard link to another file (`ln {inputs.x} {outputs.y}`): published as such, the product would change
      // whenever that file is edited in place. It gets bytes of its own.
      await copyFile(temp, `${temp}.own`);
      await rename(`${temp}.own`, temp);
      st = lstatSync(temp, { bigint: true, throwIfNoEntry: false });
    }
    if (st?.isSymbolicLink()) {
      const target = readlinkSync(temp);
      return { ok: false, failure: { type: 'output-is-symlink', output: name, path: rel, target } };
    }
    if (!st?.isFile()) return { ok: false, failure: { type: 'output-not-written', output: name, path: rel } };
    // One hash pass: the worker's (reported with the file's identity), else one here; the cache is told the
    // identity the hash belongs to, so it does not read and hash the file again.
    const h = takeWrittenHash(temp, identityOf(st)) ?? (await hashOutputFile(temp));
    identities[name] = h.identity;
    outputs.push({
      name,
      path: rel,
      sha256: h.sha256,
      size: h.identity?.size ?? Number(st.size),
      mode: Number(st.mode) & 0o777,
    });
  }
  // Stored together: the local store makes a blob durable in a group-committed round of fsyncs, which one
  // put at a time would turn into one round per output (13 outputs of an excess map: ~30 ms instead of ~3).
  const taken = outputs.map(() => signal());
  const puts = inBatches(outputs, STORE_CONCURRENCY, (out, i) => {
    const put = cache.putBlob(out.sha256, temps[out.name]!, identities[out.name], taken[i]!.fire);
    // A backend that never says it has taken the bytes is waited for; one that throws before, fails the task.
    return put.finally(taken[i]!.fire);
  });
  // The temps are read (a throw here is reading them: EACCES, EIO) before storeOutputs returns.
  await Promise.race([Promise.all(taken.map((t) => t.fired)), puts]);
  const committed = puts
    .then(async (results) => {
      const warnings: CacheWarning[] = [];
      for (const [i, put] of results.entries())
        if (!put.ok)
          warnings.push({
            what: `storing ${outputs[i]!.path}`,
            reason: await describeCacheFailure(put.failure),
          });
      if (warnings.length > 0) return warnings;
      const manifest: Manifest = {
        version: 1,
        key,
        taskId: task.id,
        outputs,
        ...(options.items ? { items: options.items } : {}),
        provenance: options.provenance,
        createdAt: new Date().toISOString(),
      };
      const put = await cache.putManifest(manifest);
      if (!put.ok)
        warnings.push({
          what: `storing the manifest of ${task.id}`,
          reason: await describeCacheFailure(put.failure),
        });
      return warnings;
    })
    // Thrown once the bytes were taken (a bug, or an error the backend did not turn into a failure): not stored.
    .catch((error: unknown) => [{ what: `storing the outputs of ${task.id}`, reason: thrownText(error) }]);
  return { ok: true, outputs, committed };
}

/** A promise and the function that resolves it (Promise.withResolvers is Node 22). */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

function thrownText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Blobs of one task stored at once (a remote tier uploads each: a task with thousands of outputs waits its turn). */
const STORE_CONCURRENCY = 16;

/**
 * Outputs from this size on are renamed on the thread pool: renaming over an earlier product makes ext4 (auto_da_alloc)
 * start writing the new file's data out first, ~12 ms for an 8 MB dataset, which blocked this thread (and the
 * dispatch of the next tasks) 21 times over when a parameter change reran every run of a 21-run analysis.
 */
const POOL_RENAME_MIN_BYTES = 1 << 20;

async function moveInto(temp: string, dest: string, size: number): Promise<void> {
  try {
    // A rename is one syscall: done on this thread when small (the destination's directory usually exists already).
    if (size >= POOL_RENAME_MIN_BYTES) await rename(temp, dest);
    else renameSync(temp, dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && existsSync(temp)) {
      await makeDirs(path.dirname(dest));
      return moveInto(temp, dest, size);
    }
    if (code !== 'EXDEV') throw error;
    // Temp and destination on different file systems: copy next to the destination, then rename.
    const near = `${dest}.pipe-tmp-${process.pid}`;
    await copyFile(temp, near);
    await rename(near, dest);
    await rm(temp, { force: true });
  }
}

/** Publish temp outputs under their final names; returns the stamps that let later builds skip hashing them. */
export async function publishOutputs(
  root: string,
  task: Task,
  temps: Record<string, string>,
  stored: ManifestOutput[],
): Promise<Record<string, OutputStamp>> {
  const stamps: Record<string, OutputStamp> = {};
  // Every destination checked before any is replaced: a task that fails here leaves its earlier outputs as they were.
  for (const out of stored) {
    const dest = task.outputs[out.name]!;
    if (statSync(dest, { throwIfNoEntry: false })?.isDirectory()) throw folderInTheWay(root, out.name, dest);
  }
  for (const out of stored) {
    const dest = task.outputs[out.name]!;
    try {
      await moveInto(temps[out.name]!, dest, out.size);
    } catch (error) {
      // rename's EISDIR names two paths and no remedy; the folder may hold the user's files, so it is left alone.
      // It keeps the errno code: a file-system failure, not a bug (the scheduler tells them apart by it).
      if (statSync(dest, { throwIfNoEntry: false })?.isDirectory())
        throw Object.assign(folderInTheWay(root, out.name, dest), {
          code: (error as NodeJS.ErrnoException).code,
        });
      throw error;
    }
    stamps[out.name] = stampFor(dest, out, root);
  }
  return stamps;
}

/** A folder where an output file goes: it may hold the user's files, so it is left alone. */
function folderInTheWay(root: string, name: string, dest: string): Error {
  return Object.assign(
    new Error(
      `a folder stands where output '${name}' goes (${relPath(root, dest)}): move or remove it, pipe does not`,
    ),
    { code: 'EISDIR' },
  );
}

function stampFor(dest: string, out: ManifestOutput, root: string): OutputStamp {
  const st = stampOf(dest);
  return {
    path: relPath(root, dest),
    sha256: out.sha256,
    size: out.size,
    mtimeNs: st?.mtimeNs ?? '0',
    ino: st?.ino ?? 0,
  };
}

export type RestoreResult =
  | { ok: true; stamps: Record<string, OutputStamp> }
  | { ok: false; detail: string; failure?: CacheFailure };

/** Outputs of one task fetched at once when restoring it (see restoreOutputs). */
const RESTORE_CONCURRENCY = 4;

/** Materialise a manifest's outputs at the task's output paths. */
export async function restoreOutputs(
  cache: CacheBackend,
  root: string,
  task: Task,
  manifest: Manifest,
): Promise<RestoreResult> {
  const wanted: Array<{ name: string; dest: string; out: ManifestOutput }> = [];
  for (const [name, dest] of Object.entries(task.outputs)) {
    const out = manifest.outputs.find((o) => o.name === name);
    if (!out) return { ok: false, detail: `manifest ${manifest.key} has no output '${name}'` };
    wanted.push({ name, dest, out });
  }
  // A few at a time: from a remote cache each blob is a round trip (an excess map's 14 in sequence took 14 of them).
  // Outputs with the same bytes go together, one after the other: a blob is fetched into the store once.
  const bySha = new Map<string, typeof wanted>();
  for (const w of wanted) bySha.set(w.out.sha256, [...(bySha.get(w.out.sha256) ?? []), w]);
  const groups = [...bySha.values()];
  // The failure of the first output in order is the one said, whichever came first; all settle before it is.
  const failures: Array<{ at: number; result: RestoreResult }> = [];
  let next = 0;
  const worker = async () => {
    while (failures.length === 0 && next < groups.length) {
      const at = next++;
      for (const { dest, out } of groups[at]!) {
        await makeDirs(path.dirname(dest));
        const got = await cache.fetchBlob(out.sha256, dest);
        if (!got.ok)
          failures.push({
            at,
            result: { ok: false, detail: await describeCacheFailure(got.failure), failure: got.failure },
          });
        else if (!got.value)
          failures.push({
            at,
            result: { ok: false, detail: `blob ${out.sha256.slice(0, 12)} of ${out.path} is missing` },
          });
        else await chmod(dest, restoredMode(out.mode)).catch(() => undefined);
        if (failures.length > 0) return;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(RESTORE_CONCURRENCY, groups.length) }, worker),
  );
  const thrown = settled.find((r) => r.status === 'rejected');
  if (thrown) throw thrown.reason;
  if (failures.length > 0) return failures.sort((a, b) => a.at - b.at)[0]!.result;
  const stamps: Record<string, OutputStamp> = {};
  for (const { name, dest, out } of wanted) stamps[name] = stampFor(dest, out, root);
  return { ok: true, stamps };
}

/** Stamps for outputs already in place (an up-to-date task adopted from the cache). */
export function currentStamps(
  root: string,
  task: Task,
  outputs: Record<string, { sha256: string; size: number }>,
): Record<string, OutputStamp> {
  const stamps: Record<string, OutputStamp> = {};
  for (const [name, dest] of Object.entries(task.outputs)) {
    const o = outputs[name];
    if (o)
      stamps[name] = stampFor(
        dest,
        { name, path: relPath(root, dest), sha256: o.sha256, size: o.size, mode: 0 },
        root,
      );
  }
  return stamps;
}

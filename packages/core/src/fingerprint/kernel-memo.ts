/**
 * `.pipe/kernels.memo`: the kernel backend a build chose and the identities of the kernels its steps use, kept with
 * the stat stamps of every file they were read from (the kernels' sources, the built native addon and WASM modules,
 * the compilers' version files, the kernels package's build). While those stamps and the process facts that decide
 * the choice (requested backend, PIPE_KERNELS, node's ABI, V8, platform) are unchanged, a build takes them from
 * here: it neither imports the kernels' seam nor loads the native addon to probe it nor hashes the sources on the
 * main thread (~15 ms of every build that runs a kernel step). Derived data: replaced atomically without fsync,
 * ignored when unreadable, and written only when no stamped file was modified within RACY_GRANULARITY_MS of the
 * moment the identities were computed (racily clean, as the pipeline cache).
 */
import { readFileSync } from 'node:fs';
import { pipeVersion } from '../provenance/pipe-version.js';
import { replaceFile } from '../workspace/atomic.js';
import { type DepStamp, racilyClean, stampDep, unchangedDep } from '../workspace/dep-stamp.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { KernelId } from './record.js';
import type { KernelSeam } from './steps.js';

const FORMAT = 'pipe-kernels-memo';
const VERSION = 1;
/** Entries kept (one per backend request and kernel set, most recent first). */
const MAX_ENTRIES = 4;

interface MemoEntry {
  key: string;
  backend: string;
  ids: KernelId[];
  stamps: DepStamp[];
  /** The seam's fallback note for this choice, kept so that every build with it says it. */
  note?: string;
}

interface MemoFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  entries: MemoEntry[];
}

/** The files (and folders) the choice was read from, when known (see KernelSeam.identityFiles). */
export type KernelFiles = { files: string[]; dirs: string[] };

export type KernelChoice =
  | { ok: true; backend: string; ids: Map<string, KernelId>; files?: KernelFiles; note?: string }
  | { ok: false; error: string };

function readMemo(file: string): MemoEntry[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<MemoFile>;
    return parsed.format === FORMAT && parsed.version === VERSION && Array.isArray(parsed.entries)
      ? parsed.entries
      : [];
  } catch {
    return [];
  }
}

/** What besides the stamped files decides the backend and the identities. */
function memoKey(names: readonly string[], requested: string | undefined): string {
  return sha256Hex(
    canonicalJson({
      pipe: pipeVersion(),
      names: [...names].sort(),
      requested: requested ?? null,
      env: process.env['PIPE_KERNELS'] ?? null,
      root: process.env['PIPE_KERNELS_ROOT'] ?? null,
      abi: process.versions.modules,
      v8: process.versions.v8,
      platform: process.platform,
      arch: process.arch,
    }),
  );
}

/**
 * The backend for `requested` and the identities of `names`: from `memoFile` when its entry still holds, else from
 * the seam (then remembered, when the seam can say which files its answer read).
 */
export async function chooseKernels(
  names: readonly string[],
  requested: string | undefined,
  loadSeam: () => Promise<KernelSeam>,
  memoFile?: string,
): Promise<KernelChoice> {
  const key = memoKey(names, requested);
  const entries = memoFile ? readMemo(memoFile) : [];
  const hit = entries.find((e) => e.key === key);
  if (hit?.stamps.every(unchangedDep))
    return {
      ok: true,
      backend: hit.backend,
      ids: new Map(hit.ids.map((k) => [k.name, k])),
      ...(hit.note ? { note: hit.note } : {}),
      files: {
        files: hit.stamps.flatMap((s) => (s[1] === 'f' ? [s[0]] : [])),
        dirs: hit.stamps.flatMap((s) => (s[1] === 'd' ? [s[0]] : [])),
      },
    };
  const startedMs = Date.now();
  const seam = await loadSeam();
  const chosen = await seam.selectBackend(requested);
  if (typeof chosen !== 'string') return { ok: false, error: chosen.error };
  // Not memoised when stale: the memo's stamps vouch only for a build that was current.
  const stale = seam.staleBuild?.(names, chosen);
  if (stale) return { ok: false, error: stale };
  const ids = new Map([...names].sort().map((n) => [n, seam.kernelIdentity(n, chosen)]));
  const note = seam.fallbackNote?.(chosen, requested);
  const deps = seam.identityFiles?.(names);
  if (memoFile && deps) {
    const stamps = [...deps.files.map((f) => stampDep(f, 'f')), ...deps.dirs.map((d) => stampDep(d, 'd'))];
    // A file modified as the identities were read could change again within its mtime's granularity: no entry.
    if (racilyClean(stamps, startedMs)) {
      const entry: MemoEntry = {
        key,
        backend: chosen,
        ids: [...ids.values()],
        stamps,
        ...(note ? { note } : {}),
      };
      const kept = [entry, ...entries.filter((e) => e.key !== key)].slice(0, MAX_ENTRIES);
      const memo: MemoFile = { format: FORMAT, version: VERSION, entries: kept };
      await replaceFile(memoFile, JSON.stringify(memo)).catch(() => undefined);
    }
  }
  return { ok: true, backend: chosen, ids, ...(deps ? { files: deps } : {}), ...(note ? { note } : {}) };
}

/**
 * The whole-build no-op snapshot: `.pipe/noop/<key hash>.snap`, a flat record of every file a build of
 * some targets (under some options) depended on, written after a build or plan that found every task up
 * to date. While every stamp is unchanged, the same command is up to date again, and `pipe build`/`pipe
 * plan` answer from the snapshot alone (fast-path/entry.ts) without loading the engine.
 *
 *   line 1: header (JSON): format, version, key (the options and environment that decide the plan),
 *           checkedAt, the values of the environment variables the plan read, what to print
 *   then:   stamps (JSON): [[path, 'f' | 'd', size, mtime ns, inode, ctime ns], ...]; paths relative to the
 *           workspace root when inside it; size -1 for a path that was missing (or of another kind);
 *           the first `globals` are workspace-wide (pipeline files, pipe, kernels, the state file)
 *   then:   tasks (JSON): [[id, 1 if its record matched its files, ...indices of its stamps], ...] — read
 *           only when the check fails on task files: the full path then plans the other tasks as recorded
 *
 * Both lists are written one element a line (`[`, the elements joined by `,` and a newline, `]`: see listJson),
 * so that a rebuild that changed a few tasks rewrites the lines of their stamps and rows, not all of them.
 *
 * Racily clean (design.md): a stamp vouches for a file only if its mtime is older than `checkedAt -
 * RACY_GRANULARITY_MS`, where `checkedAt` is the moment the writing command started, before it read
 * anything: a change made after that moment gets a later mtime, so an unchanged stamp means content the
 * command saw. A racily clean stamp makes the snapshot a hint only (no no-op answer), except for an output
 * whose record's SHA-256 is kept with it: the check re-hashes such a file and accepts it only if its bytes
 * are still the recorded ones, and for an output the writing build published and found unchanged when the racy
 * window had passed (settled: its stamp vouches for it, as the planner's output check trusts a stamp equal to the
 * record's). The state file is exempt: pipe alone writes it, always by rename to a new inode;
 * so is its journal, which pipe alone appends to (every append grows it) or replaces by rename.
 *
 * A check that declines at a changed task file leaves the stamps after it to the hint (PendingHint): the full path
 * needs the hint only once it has loaded the engine, the pipeline and the state, and meanwhile the build's first step
 * thread, booted by then and idle until the first task, checks them on another core (stamp-job.ts); the main thread
 * checks what is left when it settles the hint.
 *
 * This module imports nothing but node:fs and node:path (and raw-stat.ts, stamp-check.ts, stamp-job.ts): it runs
 * before anything heavy is loaded.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SeenStat } from '@pipe/core/lean';
import { valueDigest } from '@pipe/core/value-digest';
import { type RawStat, statInto } from './raw-stat.js';
import { checkStamp, type SnapshotStamp } from './stamp-check.js';
import { finishStampJob, type StampJobData, stampJobMemory, stampJobViews } from './stamp-job.js';

export { type SnapshotStamp, STAMP_SETTLED, STAMP_SHA } from './stamp-check.js';

export const SNAPSHOT_FORMAT = 'pipe-noop-snapshot';
export const SNAPSHOT_VERSION = 8;
/** As in the hash memo (packages/core/src/state/hash-memo.ts). */
export const RACY_GRANULARITY_MS = 100;
/** Snapshots kept per workspace (one per distinct command). */
export const MAX_SNAPSHOTS = 8;

/** What decides a plan, from the command line (everything else is a file or an environment variable). */
export interface SnapshotKeyInput {
  pipelineFile: string;
  cwd: string;
  config: string | undefined;
  params: string[];
  kernels: string | undefined;
  cacheDir: string | undefined;
  targets: string[];
}

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  key: string;
  /** ms since the epoch: when the writing command started. */
  checkedAt: number;
  /** The state file (exempt from the racy rule: see the module comment), relative to the root. */
  stateFile: string;
  /** The state's journal (appended in place by pipe alone: exempt too), relative to the root. */
  journalFile: string;
  /** Every PIPE_* variable, sorted: any change of pipe's own configuration declines. */
  pipeEnv: Array<[string, string]>;
  /**
   * Variables the loader read and the targets declare (`env:`), with digests of their values (null: unset): a
   * value may be a secret (a token), and a snapshot only compares.
   */
  env: Array<[string, string | null]>;
  /** Rendered loader warnings, printed as the full path prints them. */
  warnings: string;
  /**
   * What up-to-date tasks warned about when they ran, as a build prints it again (core's replayedWarnings);
   * a plan does not. Absent in snapshots of earlier versions.
   */
  taskWarnings?: string;
  tasks: number;
  /** Tasks of the requested targets with a JSON `summary` output (printed after a build). */
  summaries: Array<{ id: string; target: string; path: string }>;
  /** Whether `pipe build` may answer too (false when the build would use Slurm or check its resources). */
  buildable: boolean;
  /**
   * Whether the next plan finds every task up to date: each task's record matched its files (up to date, or
   * just built by the writing build) and no stamp is racily clean without its hash. Else only a hint.
   */
  noop: boolean;
  /** The first `globals` stamps are workspace-wide (pipeline files, pipe itself, kernels, the state file). */
  globals: number;
}

/** The canonical key of a command (pipe's own build enters as stamps of its build info files). */
export function snapshotKey(input: SnapshotKeyInput): string {
  return JSON.stringify([
    SNAPSHOT_VERSION,
    process.version,
    input.pipelineFile,
    input.cwd,
    input.config ?? null,
    input.params,
    input.kernels ?? null,
    input.cacheDir ?? null,
    input.targets,
  ]);
}

export function snapshotDir(root: string): string {
  return path.join(root, '.pipe', 'noop');
}

/** The snapshot of `key` (named by its digest; the key itself is checked inside). */
export function snapshotFile(root: string, key: string): string {
  return path.join(snapshotDir(root), `${valueDigest(key)}.snap`);
}

/** Turns the fast path off (bin/pipe.js); not part of any key. */
export const FAST_PATH_SWITCH = 'PIPE_FAST_PATH';
/**
 * How pipe is started (bin/pipe.js; the launcher packages/cli/bin/pipe, whose PIPE_DEFERRED_EXTRA_CA_CERTS bin/pipe.js
 * removes before anything reads the environment): nothing a build computes depends on them.
 */
const LAUNCHER_SWITCHES = new Set([FAST_PATH_SWITCH, 'PIPE_DEFER_EXTRA_CA_CERTS']);

/** The environment variables named PIPE_* (but the launcher's switches), sorted, with digests of their values. */
export function pipeEnvOf(env: NodeJS.ProcessEnv): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of Object.keys(env).sort())
    if (name.startsWith('PIPE_') && !LAUNCHER_SWITCHES.has(name) && env[name] !== undefined)
      out.push([name, valueDigest(env[name])!]);
  return out;
}

export function mtimeNs(mtimeMs: number): string {
  return String(Math.round(mtimeMs * 1e6));
}

/** The stamp of a path now. */
export function stampPath(abs: string, kind: 'f' | 'd', stored = abs): SnapshotStamp {
  const st: RawStat = { kind: '', size: 0, ino: 0, mtimeMs: 0, ctimeMs: 0 };
  if (!statInto(abs, st) || st.kind !== kind) return [stored, kind, -1, '', 0, ''];
  return [stored, kind, kind === 'd' ? 0 : st.size, mtimeNs(st.mtimeMs), st.ino, mtimeNs(st.ctimeMs)];
}

/** The stamp of a path as a stat of this process found it (core's seenStat), as stampPath would write it. */
export function stampSeen(seen: SeenStat, kind: 'f' | 'd', stored: string): SnapshotStamp {
  if (seen[0] !== kind) return [stored, kind, -1, '', 0, ''];
  return [stored, kind, kind === 'd' ? 0 : seen[1], mtimeNs(seen[2]), seen[3], mtimeNs(seen[4])];
}

/** A stamp path as stored: relative to the root inside it. */
export function storedPath(root: string, abs: string): string {
  return abs.startsWith(`${root}${path.sep}`) ? abs.slice(root.length + 1) : abs;
}

/**
 * What a declined check still knows, for the full path of the same process when only task files changed:
 * the tasks the planner may take as recorded (plan/planner.ts `clean`: their record matched their files
 * when the snapshot was written, and none of their files changed since), and the stamps as checked, so
 * that the next snapshot re-stats only what differs or what the build wrote (fast-path/record.ts).
 */
export interface SnapshotHint {
  key: string;
  root: string;
  /** The state file's stamp as core's stateFileStamp writes it: the hint holds only for that state. */
  stateStamp: string;
  header: SnapshotHeader;
  /** The stamps as stored; `bad[i]` is 1 where stamp i differs now or is racily clean. */
  stamps: SnapshotStamp[];
  bad: Uint8Array;
  /** The task rows as stored (fast-path/record.ts updates them in place for the next snapshot). */
  rows: TaskRow[];
  /** The stamps' and rows' lists as stored (listJson): the next snapshot rewrites only what changed. */
  stampsText: string;
  rowsText: string;
  /** Tasks the planner may take as recorded. */
  clean: Set<string>;
}

/** One row per task: [id, 1 if its record matched its files else 0, ...indices of its stamps]. */
export type TaskRow = [string, 0 | 1, ...number[]];

/**
 * A list as a snapshot stores it: one element a line. `previous` (the list as listJson wrote it before, of as many
 * elements) is reused where `changed` is not 1: only the marked elements are serialised, and the runs of lines
 * between them are copied as they were (no line split out, none joined). JSON.parse reads the whole as one array.
 */
export function listJson(items: readonly unknown[], previous?: string, changed?: Uint8Array): string {
  if (previous !== undefined && items.length > 0) {
    const patched = patchList(items, previous, changed);
    if (patched !== undefined) return patched;
  }
  const out = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = JSON.stringify(items[i]);
  return `[\n${out.join(',\n')}\n]`;
}

/**
 * `previous` with the elements marked in `changed` replaced by `items`' (undefined when `previous` is not a list
 * listJson wrote of `items.length` elements). An element's JSON holds no newline, so each `,\n` ends one.
 */
function patchList(
  items: readonly unknown[],
  previous: string,
  changed: Uint8Array | undefined,
): string | undefined {
  if (!previous.startsWith('[\n') || !previous.endsWith('\n]')) return undefined;
  const close = previous.length - 2; // the newline before ']'
  const parts: string[] = [];
  let copied = 0; // previous[0, copied) is in `parts`
  let at = 2; // where element i begins
  const lastIndex = items.length - 1;
  for (let i = 0; i <= lastIndex; i++) {
    const sep = previous.indexOf(',\n', at);
    if (i < lastIndex ? sep < 0 || sep > close : sep >= 0 && sep < close) return undefined; // fewer / more elements
    const end = i < lastIndex ? sep : close;
    if (changed?.[i] === 1) {
      parts.push(previous.slice(copied, at), JSON.stringify(items[i]));
      copied = end;
    }
    at = end + 2;
  }
  parts.push(previous.slice(copied));
  return parts.join('');
}

/** Rewrite the snapshot with a new header line (atomically; a failure only costs the next no-op a hash). */
function redate(file: string, text: string, nl: number, header: SnapshotHeader): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(header)}${text.slice(nl)}`);
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

export type SnapshotCheck =
  | { ok: true; header: SnapshotHeader }
  | {
      ok: false;
      why: 'absent' | 'corrupt' | 'key' | 'env' | 'changed' | 'racy' | 'not-noop';
      path?: string;
      hint?: PendingHint;
    };

/**
 * A declined check's hint. The check declines at the first changed task file; the stamps after it serve only the
 * hint, and are checked when it is settled, on the main thread and on a lent thread (fast-path/stamp-job.ts).
 */
export interface PendingHint {
  key: string;
  root: string;
  /** As SnapshotHint's (known at once: the state file and its journal are workspace-wide stamps, checked first). */
  stateStamp: string;
  /**
   * Let a thread check the stamps left meanwhile: `post` sends it a job message (core's pool-worker.ts), false when
   * it cannot. Only until the hint is settled.
   */
  lend(post: (message: { type: 'job'; module: string; data: StampJobData }) => boolean): void;
  /**
   * The hint, once every stamp is checked; undefined when none can be made (a stamp that cannot be looked at, a list
   * that does not parse). Settled once: later calls give the same answer.
   */
  settle(): SnapshotHint | undefined;
}

/** Stamps left after the first changed task file from which they are left to the hint (fewer: checked at once). */
export const DEFERRED_MIN_STAMPS = 4096;

/** The module a lent thread runs (compiled JS: the bundle gives this module its original URL, see bundle.mjs). */
const STAMP_JOB_MODULE = new URL('./stamp-job.js', import.meta.url).href;

export interface CheckOptions {
  /** Collect the hint after a difference in a task file (else: stop at the first difference). */
  wantHint?: boolean;
  /** Stamps left from which their check is deferred to the hint (DEFERRED_MIN_STAMPS; Infinity: never). */
  deferFrom?: number;
}

/**
 * Whether the snapshot of `key` still holds: same key and environment, and every stamp unchanged.
 * Without `wantHint` it stops at the first difference; with it, a difference in a task file goes on
 * to collect the hint (a workspace-wide difference — pipeline, engine, kernels, state — gives none).
 */
export function checkSnapshot(
  root: string,
  key: string,
  env: NodeJS.ProcessEnv,
  opts: CheckOptions = {},
): SnapshotCheck {
  const wantHint = opts.wantHint === true;
  let text: string;
  try {
    // Bytes, then decoded: node 20 reads 'utf8' about half as fast (2 MB at 10,000 tasks).
    text = readFileSync(snapshotFile(root, key)).toString('utf8');
  } catch {
    return { ok: false, why: 'absent' };
  }
  const nl = text.indexOf('\n');
  // The end of the stamps' list (listJson): its closing bracket on a line of its own.
  const end = nl < 0 ? -1 : text.indexOf('\n]\n', nl);
  const nl2 = end < 0 ? -1 : end + 2;
  if (nl < 0 || nl2 < 0) return { ok: false, why: 'corrupt' };
  let header: SnapshotHeader;
  let stamps: SnapshotStamp[];
  try {
    header = JSON.parse(text.slice(0, nl)) as SnapshotHeader;
    if (header.format !== SNAPSHOT_FORMAT || header.version !== SNAPSHOT_VERSION)
      return { ok: false, why: 'corrupt' };
    if (header.key !== key) return { ok: false, why: 'key' };
    stamps = JSON.parse(text.slice(nl + 1, nl2)) as SnapshotStamp[];
    if (!Array.isArray(stamps)) return { ok: false, why: 'corrupt' };
  } catch {
    return { ok: false, why: 'corrupt' };
  }
  const pipeEnv = pipeEnvOf(env);
  if (JSON.stringify(pipeEnv) !== JSON.stringify(header.pipeEnv)) return { ok: false, why: 'env' };
  for (const [name, digest] of header.env)
    if (valueDigest(env[name]) !== digest) return { ok: false, why: 'env' };
  const racyMs = header.checkedAt - RACY_GRANULARITY_MS;
  const prefix = `${root}${path.sep}`;
  const posix = path.sep === '/';
  let first: { why: 'changed' | 'racy'; path: string } | undefined;
  let bad: Uint8Array | undefined;
  /** The newest mtime of a racily clean file whose bytes were hashed and found as recorded (-∞: none). */
  let verifiedUpTo = Number.NEGATIVE_INFINITY;
  let stateStamp = '';
  let journalStamp = '';
  const st: RawStat = { kind: '', size: 0, ino: 0, mtimeMs: 0, ctimeMs: 0 };
  const inRoot = process.cwd() === root;
  /** Stamps from `deferred` on are checked when the hint is settled, in `shared` (stamp-job.ts). */
  let deferred = stamps.length;
  let shared: SharedArrayBuffer | undefined;
  for (let i = 0; i < stamps.length; i++) {
    const stamp = stamps[i]!;
    const p = stamp[0];
    const relative = !(posix ? p.charCodeAt(0) === 47 /* '/' */ : path.isAbsolute(p));
    const isState = p === header.stateFile;
    const isJournal = p === header.journalFile;
    // From the root itself, a relative stamp is stat'ed as it is (no joined path per stamp, a shorter lookup).
    const why = checkStamp(stamp, relative && !inRoot ? prefix + p : p, st, racyMs, isState || isJournal);
    if (why === undefined) {
      if (isState) stateStamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      else if (isJournal) journalStamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      continue;
    }
    if (why === 'verified') {
      verifiedUpTo = Math.max(verifiedUpTo, st.mtimeMs);
      continue;
    }
    first ??= { why, path: relative ? prefix + p : p };
    // A workspace-wide file differs: nothing of the snapshot can be trusted.
    if (!wantHint || i < header.globals) return { ok: false, ...first };
    if (!bad && posix && stateStamp && stamps.length - (i + 1) >= (opts.deferFrom ?? DEFERRED_MIN_STAMPS)) {
      // Declined: the rest serves only the hint, checked when it is settled (and meanwhile on a lent thread).
      deferred = i + 1;
      shared = stampJobMemory(stamps.length, deferred);
      bad = stampJobViews(shared, stamps.length, deferred).bad;
      bad[i] = 1;
      break;
    }
    bad ??= new Uint8Array(stamps.length);
    bad[i] = 1;
  }
  if (!first && header.noop) {
    // A snapshot taken by a build stamps the outputs it wrote as racily clean, so every no-op hashed them again
    // (200 MB of products: 0.3 s each time). Once they are verified and older than the racy window, the snapshot
    // is re-dated: the next no-op trusts their stamps. Every other stamp was already trusted at the old date.
    const now = Date.now();
    if (verifiedUpTo > Number.NEGATIVE_INFINITY && verifiedUpTo < now - RACY_GRANULARITY_MS)
      redate(snapshotFile(root, key), text, nl, { ...header, checkedAt: now });
    return { ok: true, header };
  }
  const declined = first ?? { why: 'not-noop' as const };
  if (!wantHint || !stateStamp) return { ok: false, ...declined };
  // As core's stateFileStamp joins them (a missing journal: '').
  stateStamp = `${stateStamp}|${journalStamp}`;
  const where = { prefix, inRoot, racyMs, own: new Set([header.stateFile, header.journalFile]) };
  const stampsText = text.slice(nl + 1, nl2);
  let lent = false;
  let settled: { hint: SnapshotHint | undefined } | undefined;
  // Throws as statSync does for a stamp it cannot look at.
  const hintNow = (): SnapshotHint | undefined => {
    if (shared) finishStampJob(stamps, shared, deferred, where);
    let rows: TaskRow[];
    try {
      rows = JSON.parse(text.slice(nl2 + 1)) as TaskRow[];
      if (!Array.isArray(rows)) return undefined;
    } catch {
      return undefined;
    }
    const flags = bad ?? new Uint8Array(stamps.length);
    const clean = new Set<string>();
    for (const row of rows) {
      if (row[1] !== 1) continue;
      let ok = true;
      for (let k = 2; k < row.length; k++) {
        const i = row[k] as number;
        if (flags[i] === 1 || i >= stamps.length) ok = false;
      }
      if (ok) clean.add(row[0]);
    }
    const rowsText = text.slice(nl2 + 1);
    return { key, root, stateStamp, header, stamps, bad: flags, rows, clean, stampsText, rowsText };
  };
  return {
    ok: false,
    ...declined,
    hint: {
      key,
      root,
      stateStamp,
      lend(post) {
        if (!shared || lent || settled) return;
        lent = post({
          type: 'job',
          module: STAMP_JOB_MODULE,
          data: {
            text: stampsText,
            from: deferred,
            prefix,
            inRoot,
            racyMs,
            own: [...where.own],
            shared,
          },
        });
      },
      settle() {
        if (!settled) {
          let hint: SnapshotHint | undefined;
          try {
            hint = hintNow();
          } catch {
            hint = undefined; // a stamp that cannot be looked at: no hint, as the check itself would have given
          }
          settled = { hint };
        }
        return settled.hint;
      },
    },
  };
}

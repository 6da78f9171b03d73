/**
 * Stat a path without making a `Stats` object. Node 20's `Stats` builds four `Date`s eagerly (later versions make
 * them lazily): of the ~5 µs a statSync costs, the stat itself is ~3; checking a snapshot of 20,000 files spends
 * the rest, and its garbage, on dates it never reads. Node's own binding returns the fields as numbers; it is
 * used only after it was checked to agree with statSync on a real file and a missing one (and never where it
 * would print a deprecation warning): else, and on any surprise, statSync is used, so the result is the same.
 *
 * This module imports nothing but node:fs: it runs before anything heavy is loaded.
 */
import { statSync } from 'node:fs';

/** The fields a snapshot stamp holds. `kind`: 'f' a regular file, 'd' a directory, '' anything else. */
export interface RawStat {
  kind: 'f' | 'd' | '';
  size: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

type BindingStat = (path: string) => Float64Array | undefined;

/** As node computes mtimeMs from a timespec (lib/internal/fs/utils.js msFromTimeSpec). */
function msOf(sec: number, nsec: number): number {
  return sec * 1e3 + nsec / 1e6;
}

/** Node's stat binding, if present and in agreement with statSync; undefined otherwise. */
function verifiedBinding(): BindingStat | undefined {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (flags.includes('pending-deprecation')) return undefined; // process.binding would warn there
  try {
    const binding = (process as unknown as { binding(name: string): { stat?: unknown } }).binding('fs');
    const stat = binding.stat;
    if (typeof stat !== 'function') return undefined;
    // (path, bigint, request: none = synchronous, throwIfNoEntry)
    const call: BindingStat = (p) => stat.call(binding, p, false, undefined, false);
    const file = process.execPath;
    const a = call(file);
    const s = statSync(file);
    const agrees =
      a instanceof Float64Array &&
      a.length >= 16 &&
      a[1] === s.mode &&
      a[7] === s.ino &&
      a[8] === s.size &&
      msOf(a[12]!, a[13]!) === s.mtimeMs &&
      msOf(a[14]!, a[15]!) === s.ctimeMs;
    if (!agrees || call(`${file}.pipe-no-such-file-${process.pid}`) !== undefined) return undefined;
    return call;
  } catch {
    return undefined;
  }
}

let binding: BindingStat | undefined | null = null;

/**
 * Stat `abs` into `out`; false when nothing is there (missing). Throws as statSync with throwIfNoEntry: false
 * does (a path below a file, no permission).
 */
export function statInto(abs: string, out: RawStat): boolean {
  if (binding === null) binding = verifiedBinding();
  if (binding) {
    const a = binding(abs);
    if (a === undefined) return false;
    const type = a[1]! & S_IFMT;
    out.kind = type === S_IFREG ? 'f' : type === S_IFDIR ? 'd' : '';
    out.size = a[8]!;
    out.ino = a[7]!;
    out.mtimeMs = msOf(a[12]!, a[13]!);
    out.ctimeMs = msOf(a[14]!, a[15]!);
    return true;
  }
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) return false;
  out.kind = st.isFile() ? 'f' : st.isDirectory() ? 'd' : '';
  out.size = st.size;
  out.ino = st.ino;
  out.mtimeMs = st.mtimeMs;
  out.ctimeMs = st.ctimeMs;
  return true;
}

/** Whether node's binding is used (tests). */
export function usesBinding(): boolean {
  if (binding === null) binding = verifiedBinding();
  return binding !== undefined;
}

/** Use statSync from now on (tests: both ways must give the same stamps). */
export function useStatSync(yes: boolean): void {
  binding = yes ? undefined : null;
}

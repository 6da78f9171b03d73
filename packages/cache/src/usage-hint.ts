/**
 * The local store's usage hint (`usage-v1.json`): its size as the last gc or budget check counted it, so that a build's
 * budget check need not walk the store. A process that stores, then dies before its check (kill -9, out of memory),
 * never adds its bytes: the store would grow past its budget unseen. So every process that begins storing adds a mark
 * (host, pid, time) to the hint's `storing` list and removes it at its check, adding what it stored. A mark of a
 * process that is gone (a dead pid on this host, or a day old) means bytes the total lacks: the check then counts the
 * store afresh (a gc), which also covers them. Written by rename (a group-shared store: another user's file cannot
 * be rewritten in place, only replaced in the folder). Concurrent read-modify-writes can lose an update: it is a hint,
 * and a wrong one only moves the next count.
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive, tempPathFor } from './atomic-file.js';

export interface UsageHint {
  /** Bytes as last counted plus what finished checks added; undefined when never counted (or unreadable). */
  bytes: number | undefined;
  /** Marks of the processes storing now (or that died storing): `host~pid~ms`. */
  storing: string[];
}

/** A mark older than this is taken for a dead process's (one on another host cannot be asked). */
const MARK_MAX_AGE_MS = 24 * 3600_000;

export function readUsageHint(file: string): UsageHint {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { bytes?: unknown; storing?: unknown };
    const bytes =
      typeof doc.bytes === 'number' && Number.isFinite(doc.bytes) && doc.bytes >= 0 ? doc.bytes : undefined;
    const storing = Array.isArray(doc.storing)
      ? doc.storing.filter((m): m is string => typeof m === 'string')
      : [];
    return { bytes, storing };
  } catch {
    return { bytes: undefined, storing: [] };
  }
}

/** `mode`: the store's file mode (store-modes.ts), which the umask may have taken bits from. */
export function writeUsageHint(file: string, hint: UsageHint, mode: number): void {
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, `${JSON.stringify(hint)}\n`, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch {
    // A hint: a stale one only moves the next count.
    rmSync(tmp, { force: true });
  }
}

/** This process's mark, made when it begins storing. */
export function newMark(now = Date.now()): string {
  return `${HOST}~${process.pid}~${now}`;
}

const HOST = hostname().replace(/~/g, '_');

/** Whether the process that made `mark` is gone (a dead pid here, or the mark a day old; 'unchecked' always). */
export function markIsStale(mark: string, now = Date.now()): boolean {
  const [host, pid, at] = mark.split('~');
  if (!(Number(at) > 0) || now - Number(at) > MARK_MAX_AGE_MS) return true;
  if (host !== HOST || !/^\d+$/.test(pid ?? '')) return false;
  return !processAlive(Number(pid));
}

/**
 * The workspace build lock: one `pipe build` writes a workspace at a time. The lock file holds the
 * owner's pid, host and build id; it is created with its content in one step (write a temp file,
 * then link(2) it to the lock name, which fails if the lock exists), so it is never seen empty.
 * A lock whose owner is gone (same host, pid not alive) is stale and taken over.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import { isAncestor, procStat } from './proc-stat.js';

export interface LockOwner {
  pid: number;
  host: string;
  buildId: string;
  startedAt: string;
  /** The owner's start time (/proc/PID/stat field 22) and the kernel's boot id: a pid reused later is not it. */
  procStart?: string;
  bootId?: string;
}

export type LockResult =
  | { ok: true; lock: BuildLock; tookOverStale?: LockOwner }
  /** `ancestor`: the holder started this process (a step's `pipe build` in its own workspace): no wait can end. */
  | { ok: false; reason: 'held'; owner: LockOwner; ancestor?: true };

export interface BuildLock {
  readonly file: string;
  release(): void;
}

export interface AcquireOptions {
  buildId: string;
  /** Wait up to this long for the owner to finish (0: refuse at once). */
  waitMs?: number;
  /** Poll interval while waiting. */
  pollMs?: number;
  /** Called once, when the lock is found held by a live owner and the wait begins (to say so: it may be long). */
  onWait?: (owner: LockOwner) => void;
  /** Stops the wait (Ctrl-C while another build holds the lock): the lock is then reported held. */
  signal?: AbortSignal;
}

/**
 * Whether process `pid` of this host runs. A zombie (exited, not yet reaped: a detached driver killed with -9 whose
 * parent is gone waits for init) answers signal 0 but runs nothing and holds nothing: it counts as gone.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // No /proc (not Linux): signal 0 is all there is to go by.
  const stat = procStat(pid);
  return stat === undefined || stat.fields[0] !== 'Z';
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that wrote `owner` (of this host) still runs: its pid runs, under the start time and boot it
 * had (after a kill -9, or a reboot, the pid may be another process's: then the lock is stale).
 */
export function ownerRuns(owner: Pick<LockOwner, 'pid' | 'procStart' | 'bootId'>): boolean {
  if (owner.bootId !== undefined) {
    const now = bootId();
    if (now !== undefined && now !== owner.bootId) return false;
  }
  if (!processRuns(owner.pid)) return false;
  if (owner.procStart === undefined) return true;
  const start = procStat(owner.pid)?.fields[19];
  return start === undefined || start === owner.procStart;
}

/** This process as a lock's owner. */
function ownerSelf(buildId: string): LockOwner {
  const me: LockOwner = { pid: process.pid, host: hostname(), buildId, startedAt: new Date().toISOString() };
  const procStart = procStat(process.pid)?.fields[19];
  const boot = bootId();
  if (procStart !== undefined) me.procStart = procStart;
  if (boot !== undefined) me.bootId = boot;
  return me;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remove the lock at `file` if it is still the stale one read (`seen`), holding `file.takeover` meanwhile: 'took'
 * (removed), 'changed' (another process took over first, or it holds no stale lock now), 'busy' (another is taking
 * over now). A takeover file whose process died is removed.
 */
export function takeOver(
  file: string,
  me: LockOwner,
  seen: LockOwner | undefined,
): 'took' | 'changed' | 'busy' {
  const guard = `${file}.takeover`;
  if (!tryCreate(guard, me)) {
    const holder = readOwner(guard);
    if (holder === undefined || (holder.host === me.host && !ownerRuns(holder)))
      try {
        unlinkSync(guard);
      } catch {
        // removed by another meanwhile
      }
    return 'busy';
  }
  try {
    const now = readOwner(file);
    const same =
      now === undefined
        ? seen === undefined
        : seen !== undefined &&
          now.pid === seen.pid &&
          now.host === seen.host &&
          now.buildId === seen.buildId;
    if (!same) return 'changed';
    try {
      unlinkSync(file);
    } catch {
      // gone already
    }
    return 'took';
  } finally {
    unlinkSync(guard);
  }
}

function tryCreate(file: string, owner: LockOwner): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, JSON.stringify(owner));
  try {
    linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

/** Acquire the lock at `file`, waiting up to `waitMs` for a live owner; stale locks are taken over. */
export async function acquireLock(file: string, options: AcquireOptions): Promise<LockResult> {
  makeDirsSync(path.dirname(file));
  const me = ownerSelf(options.buildId);
  const deadline = Date.now() + (options.waitMs ?? 0);
  let tookOverStale: LockOwner | undefined;
  let waited = false;
  for (;;) {
    if (tryCreate(file, me)) {
      let released = false;
      const lock: BuildLock = {
        file,
        release() {
          if (released) return;
          released = true;
          if (readOwner(file)?.pid === process.pid) unlinkSync(file);
        },
      };
      return tookOverStale ? { ok: true, lock, tookOverStale } : { ok: true, lock };
    }
    const owner = readOwner(file);
    const stale = owner === undefined || (owner.host === me.host && !ownerRuns(owner));
    if (stale) {
      // Two builds started at once after a kill -9 both see the dead owner: unlinking by name, the second would
      // remove the lock the first had just made, and both would build. One takes over at a time (`file.takeover`),
      // and only the lock it read as stale.
      const took = takeOver(file, me, owner);
      if (took === 'took') tookOverStale = owner ?? { pid: 0, host: '?', buildId: '?', startedAt: '?' };
      else if (took === 'busy') await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    if (owner.host === me.host && isAncestor(owner.pid))
      return { ok: false, reason: 'held', owner, ancestor: true };
    if (Date.now() >= deadline || options.signal?.aborted) return { ok: false, reason: 'held', owner };
    if (!waited) options.onWait?.(owner);
    waited = true;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

/** The owner of a lock a killed build left on this host (its process is gone), or undefined. */
export function staleLockOwner(file: string): LockOwner | undefined {
  const owner = readOwner(file);
  return owner && owner.host === hostname() && !ownerRuns(owner) ? owner : undefined;
}

/**
 * Whether a build whose record says "running" is still driven by a live process: the lock names it, and its
 * owner runs (on another host it cannot be checked, and is believed). False for a killed driver, whose record
 * stays "running" until the next build takes the lock over.
 */
export function buildIsLive(lockFile: string, buildId: string): boolean {
  const owner = readOwner(lockFile);
  if (!owner || owner.buildId !== buildId) return false;
  return owner.host !== hostname() || ownerRuns(owner);
}

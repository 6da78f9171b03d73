import { rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { processAlive } from './atomic-file.js';
import { procStat } from './proc-stat.js';

/** A process's start time (/proc/PID/stat field 22, clock ticks since boot); undefined off Linux or gone. */
const processStart = (pid: number) => procStat(pid)?.fields[19];

/**
 * An inter-process lock for store maintenance (gc, verify, pins, index compaction): a file created with
 * O_EXCL holding `host pid time`. Ordinary reads and writes do not take it — they are atomic renames of
 * content-addressed (idempotent) files. A lock left by a dead process of this host, or older than
 * `staleMs` (another host's), is broken.
 */
export interface StoreLockOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** A lock older than this is considered abandoned (ms). */
  staleMs?: number;
  /** The lock file's mode (the store's file mode: others read who holds it). */
  mode?: number;
}

/** `holder`: who held the lock when the wait ended ("pid 123 on this host, since …"). */
export type LockOutcome<T> = { ok: true; value: T } | { ok: false; detail: string; holder: string };

export async function withStoreLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: StoreLockOptions = {},
): Promise<LockOutcome<T>> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const staleMs = options.staleMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  let waitMs = 5;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx', options.mode);
      try {
        if (options.mode !== undefined) await fh.chmod(options.mode); // open()'s mode is filtered by the umask
        await fh.writeFile(
          `${hostname()} ${process.pid} ${Date.now()} ${processStart(process.pid) ?? '-'}\n`,
        );
      } catch (error) {
        // A full disk: an empty lock names no holder, and every gc and verify would wait for it to age.
        await fh.close().catch(() => {});
        await rm(lockPath, { force: true });
        throw error;
      }
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await breakIfAbandoned(lockPath, staleMs)) continue;
      if (Date.now() >= deadline) {
        const by = await holder(lockPath);
        return { ok: false, detail: `store lock ${lockPath} is held by ${by}`, holder: by };
      }
      await delay(waitMs);
      waitMs = Math.min(waitMs * 2, 200);
    }
  }
  const releaseOnSignal = releaseIfKilled(lockPath);
  try {
    return { ok: true, value: await fn() };
  } finally {
    releaseOnSignal();
    await rm(lockPath, { force: true });
  }
}

/**
 * A process that would die of SIGINT, SIGTERM or SIGHUP while holding the lock (Ctrl-C on a long `pipe cache gc` or
 * verify): the lock goes first, then the signal takes its default course. Otherwise another host sharing the store
 * waits for the lock to be half an hour old. A process that handles the signal itself (a build, which stops
 * gracefully and so reaches the release) is left to do so. Returns the undo.
 */
function releaseIfKilled(lockPath: string): () => void {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    const handler = () => {
      rmSync(lockPath, { force: true });
      for (const [s, h] of installed) process.removeListener(s, h);
      process.kill(process.pid, signal);
    };
    process.once(signal, handler);
    installed.push([signal, handler]);
  }
  return () => {
    for (const [s, h] of installed) process.removeListener(s, h);
  };
}

/** How long a lock may stay empty while its holder writes who it is. */
const EMPTY_LOCK_MS = 10_000;

async function breakIfAbandoned(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
  } catch {
    return true; // released meanwhile: try again at once
  }
  const [host, pid, , start] = text.trim().split(' ');
  // Gone, or its pid now another process's (one started since: after a kill -9, or a reboot).
  const deadHere =
    host === hostname() &&
    pid !== undefined &&
    /^\d+$/.test(pid) &&
    (!processAlive(Number(pid)) ||
      (start !== undefined && start !== '-' && processStart(Number(pid)) !== start));
  // Empty for longer than its holder takes to write it: one killed (or a power loss) between creating and writing.
  const unwritten = text === '' && Date.now() - mtimeMs > EMPTY_LOCK_MS;
  if (!deadHere && !unwritten && Date.now() - mtimeMs < staleMs) return false;
  await rm(lockPath, { force: true });
  return true;
}

/** Who holds the lock, as its file says ("pid 123 on host h since 12:00:00"); "another process" when unreadable. */
async function holder(lockPath: string): Promise<string> {
  try {
    const [host, pid, since] = (await readFile(lockPath, 'utf8')).trim().split(' ');
    const at = Number(since);
    if (!host || !pid || !Number.isFinite(at)) return 'another process';
    return `pid ${pid} on ${host === hostname() ? 'this host' : host}, since ${new Date(at).toISOString()}`;
  } catch {
    return 'another process';
  }
}

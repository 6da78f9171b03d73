/**
 * Commands a killed build left running. A command leads its own process group (so that cancelling reaches what
 * it spawned); when the build's driver dies by `kill -9`, nothing stops the group. While a command runs, a
 * `<log>.pid` file beside its log holds its pid and its start time (Linux /proc); the build that takes over the
 * dead build's lock stops the groups still running under that identity (a pid reused by another process has
 * another start time, and is left alone).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { procStat } from '../workspace/proc-stat.js';

/** The start time of a process (clock ticks since boot, /proc/PID/stat field 22), undefined off Linux or gone. */
function startTime(pid: number): string | undefined {
  return procStat(pid)?.fields[19];
}

/** Record a running command's process group beside its log. */
export function recordCommand(logFile: string, pid: number): void {
  const start = startTime(pid);
  if (start === undefined) return;
  try {
    writeFileSync(`${logFile}.pid`, `${pid} ${start}\n`);
  } catch {
    // Only the clean-up after a crash needs it.
  }
}

/** The command ended: forget it. */
export function forgetCommand(logFile: string): void {
  rmSync(`${logFile}.pid`, { force: true });
}

/**
 * Stop the commands of a dead build still running; returns how many. SIGKILL, not SIGTERM: nobody waits for them,
 * and a TERM handler that flushed a partial output would write it where this build's task writes now.
 */
export function stopOrphans(buildLogDir: string): number {
  let names: string[];
  try {
    names = readdirSync(buildLogDir).filter((n) => n.endsWith('.pid'));
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const name of names) {
    const file = path.join(buildLogDir, name);
    const [pidText, start] = readFileSync(file, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 1 && start !== undefined && startTime(pid) === start) {
      try {
        process.kill(-pid, 'SIGKILL');
        stopped++;
      } catch {
        // gone meanwhile
      }
    }
    rmSync(file, { force: true });
  }
  return stopped;
}

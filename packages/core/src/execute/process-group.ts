/**
 * What a command leaves behind in its process group. A command leads its own group (process-executor.ts); a
 * program that exits while something it started still runs (`sh -c 'work > out &'`, a forgotten `wait`) would let
 * that process write the task's outputs after pipe stored them. So the group must be empty when the task ends:
 * members still running after a short grace are stopped, and the task fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { procStat } from '../workspace/proc-stat.js';

export interface GroupMember {
  pid: number;
  /** Its command line (for the message), or the program name when the full line cannot be read. */
  command: string;
}

function commandLine(pid: string, comm: string): string {
  try {
    const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return line.length > 0 ? (line.length > 80 ? `${line.slice(0, 77)}...` : line) : comm;
  } catch {
    return comm;
  }
}

/**
 * The processes of group `pgid` that still run (zombies excluded: they run nothing and are reaped by their
 * parent or init). Off Linux (no /proc), signal 0 to the group is all there is: one unnamed member, or none.
 */
export function groupMembers(pgid: number): GroupMember[] {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return [];
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [{ pid: pgid, command: '?' }];
  }
  const members: GroupMember[] = [];
  for (const pid of pids) {
    const stat = procStat(pid);
    if (stat === undefined || stat.fields[0] === 'Z' || Number(stat.fields[2]) !== pgid) continue;
    members.push({ pid: Number(pid), command: commandLine(pid, stat.comm) });
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function emptiedWithin(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() >= until) return false;
    await sleep(20);
  }
}

export interface LingerTimes {
  /** How long members may take to end by themselves after the command exited (a helper closing down). */
  graceMs: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
}

/**
 * Empty the group of a command that has exited: members still running after `graceMs` (none, when `stopNow`: the
 * task was cancelled or timed out) get SIGTERM, then SIGKILL. Returns those that were there to stop, and those
 * still there after SIGKILL (another user's: a setuid program).
 */
export async function stopLeftovers(
  pgid: number,
  times: LingerTimes,
  stopNow = false,
): Promise<{ found: GroupMember[]; unstopped: GroupMember[] }> {
  const none = { found: [], unstopped: [] };
  const left = groupMembers(pgid);
  if (left.length === 0) return none;
  if (!stopNow && (await emptiedWithin(pgid, times.graceMs))) return none;
  const found = stopNow ? left : groupMembers(pgid);
  signalGroup(pgid, 'SIGTERM');
  if (!(await emptiedWithin(pgid, times.killGraceMs))) {
    signalGroup(pgid, 'SIGKILL');
    if (!(await emptiedWithin(pgid, 1000))) return { found, unstopped: groupMembers(pgid) };
  }
  return { found, unstopped: [] };
}

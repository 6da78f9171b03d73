/**
 * A process's /proc/PID/stat (Linux): its command name and the fields after it. The name may hold spaces and
 * parentheses, so the fields start after the last ')'. Undefined off Linux, or when the process is gone.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** The command name (field 2, without its parentheses). */
  comm: string;
  /** Fields 3 onwards: [0] the state (Z: a zombie), [2] the process group, [19] the start time in clock ticks. */
  fields: string[];
}

export function procStat(pid: number | string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
  } catch {
    return undefined;
  }
}

/** The process tree as /proc shows it (Linux); procStat itself lives in @pipe/cache, which sits below core. */
import { procStat } from '@pipe/cache/proc-stat';

export { type ProcStat, procStat } from '@pipe/cache/proc-stat';

/**
 * Whether `pid` is this process's parent, grandparent…: a build that started this command (a step running `pipe
 * build` in its own workspace), which it would wait for for ever. False off Linux.
 */
export function isAncestor(pid: number): boolean {
  let at = process.ppid;
  for (let depth = 0; at > 1 && depth < 64; depth++) {
    if (at === pid) return true;
    const parent = Number(procStat(at)?.fields[1]);
    if (!Number.isInteger(parent)) return false;
    at = parent;
  }
  return false;
}

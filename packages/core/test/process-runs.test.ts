import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processRuns } from '../src/workspace/lock.js';

/** The state letter of /proc/<pid>/stat ('Z' for a zombie), undefined once the process is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

describe('processRuns', () => {
  // Found by a review: `pipe cancel` just after a detached driver was killed "stopped its driver" (a zombie answers
  // signal 0) and left the build recorded as running.
  it('a zombie (exited, not reaped) does not run; a live process does, a gone one does not', async () => {
    // perl forks a child that exits at once, prints its pid and sleeps without ever reaping it. (A shell was used
    // before: under load it could reap its background job before exec'ing the sleep, and the zombie never formed.)
    const parent = spawn('perl', ['-e', '$|=1; my $p = fork; exit 0 unless $p; print "$p\\n"; sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
      );
      for (let waited = 0; procState(pid) !== 'Z' && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(procState(pid)).toBe('Z');
      expect(() => process.kill(pid, 0)).not.toThrow(); // what the old check saw
      expect(processRuns(pid)).toBe(false);
      expect(processRuns(parent.pid!)).toBe(true);
      expect(processRuns(process.pid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
    await new Promise((r) => parent.once('exit', r));
    // The parent killed and reaped (by node, its parent): gone, not running. (Its zombie child is left to init,
    // which a container may not run: not waited for here.)
    for (let waited = 0; procState(parent.pid!) !== undefined && waited < 10_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(processRuns(parent.pid!)).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processRuns } from '../src/workspace/lock.js';

describe('processRuns', () => {
  // Found by a review: `pipe cancel` just after a detached driver was killed "stopped its driver" (a zombie answers
  // signal 0) and left the build recorded as running.
  it('a zombie (exited, not reaped) does not run; a live process does, a gone one does not', async () => {
    // sh starts `sleep 0` in the background, prints its pid, then becomes `sleep 3`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(
      await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
    );
    await new Promise((r) => setTimeout(r, 300));
    try {
      expect(() => process.kill(pid, 0)).not.toThrow(); // what the old check saw
      expect(processRuns(pid)).toBe(false);
      expect(processRuns(parent.pid!)).toBe(true);
      expect(processRuns(process.pid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

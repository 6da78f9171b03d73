/**
 * A command's process group is empty when its task ends: what it left running could still write the task's
 * outputs after pipe stored them (left out in session 25: `sh -c 'work > out &'` ended the task at once).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupMembers } from '../src/execute/process-group.js';
import { type ExecOutcome, renderFailure } from '../src/index.js';
import { runCommand } from './fixtures/run-command.js';

async function run(
  argv: string[],
  cwd: string,
  abortAfterMs?: number,
): Promise<{ outcome: ExecOutcome; pid?: number }> {
  const abort = new AbortController();
  const logFile = path.join(cwd, `t${Math.random()}.log`);
  if (abortAfterMs !== undefined) setTimeout(() => abort.abort(), abortAfterMs);
  const outcome = await runCommand(argv, cwd, logFile, abort.signal);
  // The shell prints its pid first: the group's id.
  const pid = Number(readFileSync(logFile, 'utf8').split('\n')[0]);
  return { outcome, pid: Number.isFinite(pid) ? pid : undefined };
}

describe('process executor: what a command leaves running', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-leftovers-'));

  it('a background process still running after the grace is stopped, and the task fails naming it', async () => {
    const t0 = Date.now();
    const { outcome, pid } = await run(['sh', '-c', 'echo $$; sleep 37 & echo started'], dir);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure.type).toBe('left-running');
    expect(renderFailure(outcome.failure)).toMatch(
      /^exited, but left processes running 1 s later \(\d+ sleep 37\); pipe stopped them, and keeps nothing/,
    );
    expect(groupMembers(pid!)).toEqual([]);
    // The grace, then SIGTERM ends sleep at once.
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a helper that ends by itself within the grace is no failure', async () => {
    const { outcome, pid } = await run(['sh', '-c', 'echo $$; (sleep 0.2) & exit 0'], dir);
    expect(outcome).toEqual({ ok: true });
    expect(groupMembers(pid!)).toEqual([]);
  });

  it('cancelled: a member that ignores SIGTERM is killed, not left behind', async () => {
    const { outcome, pid } = await run(
      ['sh', '-c', `echo $$; sh -c 'trap "" TERM; sleep 38; sleep 38' & sleep 39`],
      dir,
      300,
    );
    expect(outcome).toEqual({ ok: false, failure: { type: 'cancelled' } });
    expect(groupMembers(pid!)).toEqual([]);
  });
});

/** A command that cannot start fails with a message that says why in the user's terms, not `spawn X ENOENT`. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFailure } from '../src/index.js';
import { runCommand } from './fixtures/run-command.js';

async function failureOf(argv: string[], cwd: string): Promise<string> {
  const outcome = await runCommand(argv, cwd, path.join(cwd, 't.log'));
  if (outcome.ok) throw new Error('expected a failure');
  return renderFailure(outcome.failure);
}

describe('process executor: a command that cannot start', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-spawn-'));

  it('a bare name not on PATH', async () => {
    expect(await failureOf(['no-such-program-xyz'], dir)).toBe(
      "could not start: 'no-such-program-xyz' not found on PATH (a program in the workspace is run by its path, e.g. ./no-such-program-xyz)",
    );
  });

  it('a path that is missing, or a script whose #! interpreter is', async () => {
    expect(await failureOf(['./missing.sh'], dir)).toBe(
      "could not start: './missing.sh' not found (or its #! interpreter is missing)",
    );
    writeFileSync(path.join(dir, 'bad-shebang.sh'), '#!/no/such/interpreter\n');
    chmodSync(path.join(dir, 'bad-shebang.sh'), 0o755);
    expect(await failureOf(['./bad-shebang.sh'], dir)).toContain("'./bad-shebang.sh' not found");
  });

  it('a script without the execute bit', async () => {
    writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(dir, 'run.sh'), 0o644);
    expect(await failureOf(['./run.sh'], dir)).toBe(
      "could not start: './run.sh' is not executable: chmod +x it, or run it through its interpreter (e.g. [sh, ./run.sh])",
    );
  });

  it('a command line longer than the system takes (E2BIG): says so, and what to do', async () => {
    // 3 MB of arguments: over Linux's 2 MB limit (ARG_MAX) for arguments and environment together.
    const args = Array.from(
      { length: 30_000 },
      (_, i) => `in/f_${String(i).padStart(6, '0')}_${'x'.repeat(90)}.txt`,
    );
    const message = await failureOf(['cat', ...args], dir);
    expect(message).toMatch(
      /^could not start: the command line is too long for the system \(30000 arguments, \d+ bytes; E2BIG\): pass the files in a list file instead/,
    );
  });
});

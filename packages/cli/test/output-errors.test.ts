/**
 * Output that cannot be written: a closed pipe (`pipe build | head`) only silences it; another error (a full disk,
 * here /dev/full's ENOSPC) does not crash pipe with a stack trace either: the build ends and records its state, and
 * the command fails with one line on the other stream.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const PIPE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/pipe.js');
const root = mkdtempSync(path.join(tmpdir(), 'pipe-output-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it.runIf(existsSync('/dev/full'))(
  'a full disk under stdout: exit 1, said on stderr, the build recorded',
  () => {
    mkdirSync(path.join(root, 'data'));
    writeFileSync(path.join(root, 'data/a.txt'), 'alpha\n');
    writeFileSync(
      path.join(root, 'pipe.yaml'),
      'version: 1\ntargets:\n  copy:\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    inputs: {src: data/a.txt}\n    outputs: {out: build/a.txt}\n',
    );
    const full = openSync('/dev/full', 'w');
    try {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [PIPE_BIN, ...args], {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, CI: 'true' },
          stdio: ['ignore', full, 'pipe'],
        });
      const build = run(['build', 'copy', '--json']);
      expect(build.stderr).toMatch(/^pipe: could not write to stdout: ENOSPC/m);
      expect(build.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(build.status).toBe(1);
      expect(existsSync(path.join(root, 'build/a.txt'))).toBe(true);
      const log = run(['log']);
      expect(log.status).toBe(1);
      expect(log.stderr).toMatch(/could not write to stdout: ENOSPC/);
    } finally {
      closeSync(full);
    }
    // The build was recorded: a second one has nothing to do.
    const again = spawnSync(process.execPath, [PIPE_BIN, 'build', 'copy'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/up to date: 1 task/);
  },
);

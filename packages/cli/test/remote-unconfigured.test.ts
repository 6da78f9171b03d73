/**
 * `pipe cache doctor` and `pipe cache push` with no remote cache configured: exit 2, saying each way to name one —
 * the flag first (helper-142: a newcomer reading the message did not learn that --remote-cache-url exists).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const temp = tempWorkspaces('pipe-remote-unset-');

describe('pipe cache doctor / push without a remote cache', () => {
  it('exit 2 and name the flag, the variables and the pipeline key', () => {
    const dir = temp.dir();
    // One build recorded: push names the build it sends before it looks for a remote.
    writeFileSync(
      path.join(dir, 'pipe.yaml'),
      'version: 1\ntargets:\n  a:\n    command: [node, -e, "require(\'fs\').writeFileSync(process.argv[1], \'x\')", "{outputs.o}"]\n    outputs: {o: a.txt}\n',
    );
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('PIPE_REMOTE_CACHE')) delete env[name];
    expect(spawnSync(process.execPath, [PIPE_BIN, 'build', 'a'], { cwd: dir, env }).status).toBe(0);
    for (const command of [
      ['cache', 'doctor'],
      ['cache', 'push'],
    ]) {
      const r = spawnSync(process.execPath, [PIPE_BIN, ...command], { cwd: dir, env, encoding: 'utf8' });
      expect(r.status, command.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        'no remote cache configured: give --remote-cache-url URL, or set PIPE_REMOTE_CACHE',
      );
      expect(r.stderr).toContain('remote_cache: {url} in pipe.yaml');
    }
  });
});

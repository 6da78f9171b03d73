// A command step that runs `pipe build` in its own workspace: the outer build holds the lock and waits for the step,
// so the inner build must not wait for the lock (with --wait it would, for ever): it is refused at once, saying why.
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PIPE_COMMAND, Workspace } from './rig.js';

describe('pipe build run by a step of a build in the same workspace', () => {
  const ws = new Workspace({
    'pipe.yaml': [
      'version: 1',
      'targets:',
      '  inner:',
      "    command: [sh, -c, 'echo inner > \"$1\"', sh, '{outputs.out}']",
      '    outputs: {out: out/inner.txt}',
      '  outer:',
      `    command: [${JSON.stringify(PIPE_COMMAND)}, build, inner, --wait]`,
      '    outputs: {out: out/outer.txt}',
      '',
    ].join('\n'),
  });
  afterAll(() => ws.remove('.'));

  it('is refused at once, naming the build that holds the workspace, not left waiting for itself', async () => {
    const started = Date.now();
    const run = await ws.run(['build', 'outer']);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(run.code).not.toBe(0);
    const [build] = readdirSync(ws.path('.pipe/logs'));
    const log = ws.read(`.pipe/logs/${build}/outer.log`);
    expect(log).toMatch(
      /pipe: build \S+ \(pid \d+\) holds this workspace and started this command: a step cannot build in the workspace of the build that runs it/,
    );
    expect(ws.exists('out/inner.txt')).toBe(false);
  }, 90_000);

  it('a build started by another process still waits for the lock, as before', async () => {
    const run = await ws.run(['build', 'inner', '--wait', '5']);
    expect(run.code, run.stderr).toBe(0);
    expect(ws.read('out/inner.txt')).toBe('inner\n');
  }, 60_000);
});

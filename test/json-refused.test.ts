/**
 * `--json` when the command is refused before anything runs (a pipeline error, an unknown target): one `error`
 * event on stdout with the exit code and each diagnostic's place, so that a tool reading the stream sees why.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

describe('pipe build/plan --json: a refused command', () => {
  it('writes one error event with the diagnostics', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    inputs: {x: "data/*.csv"}\n    command: [cat, "{inputs.x}"]\n    outputs: [out/a.txt]\n',
    });
    const build = await ws.run(['build', 'a', '--json']);
    expect(build.code).toBe(2);
    expect(build.stderr).toContain("glob 'data/*.csv' matches no file");
    const lines = build.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      event: 'error',
      exitCode: 2,
      diagnostics: [
        {
          severity: 'error',
          code: 'missing-input',
          file: ws.path('pipe.yaml'),
          line: 4,
          col: 17,
          target: 'a',
        },
      ],
    });
    const plan = await ws.run(['plan', 'b', '--json']);
    expect(plan.code).toBe(2);
    expect(JSON.parse(plan.stdout)).toMatchObject({
      event: 'error',
      exitCode: 2,
      diagnostics: [{ code: 'unknown-target', message: "unknown target 'b'" }],
    });
  });
});

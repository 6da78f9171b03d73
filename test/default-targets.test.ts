/**
 * `pipe build`, `plan` and `watch` without a target: the pipeline's `default:` is built, as make builds its first
 * goal; without one, the targets are listed and the command exits 2 (usage), building nothing.
 */
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const WRITE = "require('fs').writeFileSync(process.argv[1], 'made')";

function pipeline(head: string): string {
  return `version: 1
${head}targets:
  raw:
    command: [node, -e, ${JSON.stringify(WRITE)}, "{outputs.out}"]
    outputs: { out: out/raw.txt }
  plot:
    command: [node, -e, ${JSON.stringify(WRITE)}, "{outputs.out}"]
    outputs: { out: out/plot.txt }
`;
}

describe('commands without a target', () => {
  it('without default: list the targets and exit 2, building nothing (text, --json, and --force T)', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('') });
    const build = await ws.run(['build']);
    expect(build.code).toBe(2);
    expect(build.stderr).toBe(
      "pipe build: no target given, and pipe.yaml declares no default (add 'default: [TARGET, ...]' to it)\n" +
        'targets: raw, plot (pipe targets says what each makes)\n',
    );
    expect(ws.exists('.pipe/builds')).toBe(false);
    const plan = await ws.run(['plan', '--json']);
    expect(plan.code).toBe(2);
    expect(parseEvents(plan.stdout)).toEqual([
      {
        event: 'error',
        exitCode: 2,
        message:
          "pipe plan: no target given, and pipe.yaml declares no default (add 'default: [TARGET, ...]' to it)\ntargets: raw, plot (pipe targets says what each makes)",
        diagnostics: [],
      },
    ]);
    const forced = await ws.run(['build', '--force', 'plot']);
    expect(forced.code).toBe(2);
    expect(forced.stderr).toContain(
      "hint: --force takes an optional target, so 'plot' was read as its value; write the targets first: pipe build plot --force",
    );
    expect((await ws.run(['watch'])).code).toBe(2);
    expect(ws.exists('out')).toBe(false);
  });

  it('a default naming no target fails only the commands that build it, at its line:col', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('default: [plto]\n') });
    const named = await ws.build(['raw']);
    expect(named.run.code, named.run.stderr).toBe(0);
    expect(named.ended).toEqual({ ran: ['raw'] });
    const build = await ws.run(['build']);
    expect(build.code).toBe(2);
    expect(build.stderr).toContain("pipe.yaml:2:11: error: 'default' names unknown target 'plto'");
    expect(build.stderr).toContain("did you mean 'plot'?");
    expect(ws.exists('out/plot.txt')).toBe(false);
  });

  it('a pipeline that does not load: --json without a target carries its diagnostics, as with one', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ndefault: [a]\ntargets:\n  a:\n    ouputs: {o: x.txt}\n    command: [echo]\n',
    });
    for (const targets of [[], ['a']]) {
      const run = await ws.run(['build', ...targets, '--json']);
      expect(run.code).toBe(2);
      const [error] = parseEvents(run.stdout);
      expect(error?.event).toBe('error');
      expect((error as { diagnostics: Array<{ message: string }> }).diagnostics[0]?.message).toMatch(
        /ouputs/,
      );
    }
  });

  it('with default: build and plan take its targets, and only those', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('default: [plot]\n') });
    const built = await ws.build([]);
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended).toEqual({ ran: ['plot'] });
    expect(ws.exists('out/raw.txt')).toBe(false);
    const plan = await ws.run(['plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('1 up to date');
  });
});

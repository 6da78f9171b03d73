/**
 * A target renamed in pipe.yaml (same step, same outputs) is up to date under its new name; `pipe why FILE` then
 * names the task as the pipeline has it now, as `pipe why TARGET` and `pipe plan` do, not the name it was first built
 * under (a task that is no longer in the pipeline). Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const pipeline = (name: string) => `version: 1
targets:
  ${name}:
    foreach: [a, b]
    command: [sh, -c, 'echo "$1" > "$2"', sh, "{item}", "{outputs.out}"]
    outputs: {out: "out/{item}.txt"}
  all:
    inputs: {parts: {target: ${name}, output: out}}
    command: [sh, -c, 'out="$1"; shift; cat "$@" > "$out"', sh, "{outputs.all}", "{inputs.parts}"]
    outputs: {all: out/all.txt}
`;

describe('pipe why after a target is renamed', () => {
  it('names the task by its current name, for the file and for its consumers', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('sim') });
    expect((await ws.run(['build', 'all'])).code).toBe(0);
    ws.write('pipe.yaml', pipeline('simulate'));
    const build = await ws.build(['all']);
    expect(build.ended).toEqual({ 'up-to-date': ['all', 'simulate[a]', 'simulate[b]'] });

    const why = await ws.run(['why', 'out/a.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(/^simulate\[a\] {2}\[command\]/);
    const chain = await ws.run(['why', 'out/all.txt']);
    expect(chain.code, chain.stderr).toBe(0);
    expect(chain.stdout).toContain('    simulate[b]  [command]');
    expect(chain.stdout).not.toContain('sim[');
  });
});

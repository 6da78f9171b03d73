/**
 * Tasks that leave the pipeline (a foreach item whose file is deleted): a build that succeeds drops their records
 * and removes their unmodified outputs, which the cache keeps (the item coming back restores them); an output
 * edited since is left in place and named. Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const PIPELINE = `version: 1
targets:
  each:
    foreach: {glob: "runs/*.txt"}
    inputs: {src: "runs/{item}.txt"}
    command: [cp, "{inputs.src}", "{outputs.out}"]
    outputs: {out: "out/each/{item}.txt"}
  all:
    inputs: {parts: {target: each}}
    command: [sh, -c, 'cat "$@" > {outputs.out}', sh, "{inputs.parts}"]
    outputs: {out: out/all.txt}
`;

describe('tasks that left the pipeline', () => {
  it('their outputs are removed (restorable from the cache), their records dropped; edited ones stay', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'runs/r1.txt': 'one\n',
      'runs/r2.txt': 'two\n',
      'runs/r3.txt': 'three\n',
    });
    expect((await ws.build(['all'])).run.code).toBe(0);
    expect(ws.read('out/all.txt')).toBe('one\ntwo\nthree\n');

    ws.remove('runs/r1.txt');
    const second = await ws.build(['all']);
    expect(second.run.code).toBe(0);
    expect(second.run.stderr).toContain(
      'removed 1 output of tasks no longer in the pipeline (kept in the cache): out/each/r1.txt',
    );
    expect(ws.exists('out/each/r1.txt')).toBe(false);
    expect(ws.read('out/all.txt')).toBe('two\nthree\n');
    const why = await ws.run(['why', 'each']);
    expect(why.stdout).toContain('each[r2]');
    expect(why.stdout).not.toContain('each[r1]');

    // The item comes back: it and the sum over all three are restored from the cache, not run.
    ws.write('runs/r1.txt', 'one\n');
    const third = await ws.build(['all']);
    expect(third.ended.restored).toEqual(['all', 'each[r1]']);
    expect(ws.read('out/each/r1.txt')).toBe('one\n');

    // A departed task's output edited by hand is not removed.
    ws.write('out/each/r2.txt', 'my notes\n');
    ws.remove('runs/r2.txt');
    const fourth = await ws.build(['all']);
    expect(fourth.run.code).toBe(0);
    expect(fourth.run.stderr).toContain('left 1 output of tasks no longer in the pipeline in place');
    expect(ws.read('out/each/r2.txt')).toBe('my notes\n');

    // Nothing left to retire: the next build is a no-op and says nothing of it.
    const fifth = await ws.build(['all']);
    expect(fifth.ended['up-to-date']).toEqual(['all', 'each[r1]', 'each[r3]']);
    expect(fifth.run.stderr).not.toContain('no longer in the pipeline');
  });
});

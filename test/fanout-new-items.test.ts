/**
 * A fan-out that gains an item, in a workspace built before: `pipe plan` and `pipe build` say which item is new (a
 * file added to a glob, an item an upstream step now emits), not "no previous build", which reads as if the whole
 * workspace were new; a first build still says "no previous build" for every task. Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const PIPELINE = `version: 1
targets:
  names:
    inputs: {names: names.txt}
    step: ./steps/names.mjs
    outputs: {out: out/names.txt}
  each:
    foreach: {glob: "runs/*.txt"}
    inputs: {src: "runs/{item}.txt"}
    command: [sh, -c, 'case "$1" in *r2*) sleep 1;; esac; cp "$1" "$2"', sh, "{inputs.src}", "{outputs.out}"]
    outputs: {out: "out/each/{item}.txt"}
  next:
    foreach: {glob: "runs/*.txt"}
    inputs: {src: "out/each/{item}.txt"}
    command: [cp, "{inputs.src}", "{outputs.out}"]
    outputs: {out: "out/next/{item}.txt"}
  per:
    foreach: {items: names}
    command: [sh, -c, 'echo "$1" > "$2"', sh, "{item}", "{outputs.out}"]
    outputs: {out: "out/per/{item}.txt"}
  all:
    inputs: {parts: {target: next}, per: {target: per}}
    command: [sh, -c, 'cat "$@" > {outputs.out}', sh, "{inputs.parts}", "{inputs.per}"]
    outputs: {out: out/all.txt}
`;

const NAMES_STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.names', version: '1', run(ctx) {
  const ids = readFileSync(ctx.inputs.names[0], 'utf8').split(/\\s+/).filter(Boolean);
  writeFileSync(ctx.outputs.out, ids.join(','));
  return { items: ids.map((id) => ({ id, files: [] })) };
} };
`;

/** The `ran` lines of a build's output, without their times: `ran next[r2] — no previous build`. */
function ranLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('ran '))
    .map((l) => l.replace(/^ran\s+(\S+) \([^)]*\)/, 'ran $1'))
    .sort();
}

describe('a fan-out that gains an item', () => {
  it('plan and build name the new item and where it came from; a first build says "no previous build"', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'steps/names.mjs': NAMES_STEP,
      'names.txt': 'r1 r2',
      'runs/r1.txt': 'one\n',
      'runs/r2.txt': 'two\n',
    });
    // each[r2] takes a second: next[r1] has run, and is recorded, when next[r2] is decided, and that is no new item.
    const first = await ws.run(['build', 'all', '-j', '2']);
    expect(first.code, first.stderr).toBe(0);
    expect(ranLines(first.stderr)).toEqual(
      ['all', 'each[r1]', 'each[r2]', 'names', 'next[r1]', 'next[r2]', 'per[r1]', 'per[r2]'].map(
        (id) => `ran ${id} — no previous build`,
      ),
    );

    ws.write('runs/r3.txt', 'three\n');
    ws.write('names.txt', 'r1 r2 r3');
    const plan = await ws.run(['plan', 'all']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      "run         each[r3]\n              new item: runs/r3.txt added to the foreach of 'each'\n",
    );
    expect(plan.stdout).toContain(
      "run         next[r3]\n              new item: runs/r3.txt added to the foreach of 'next'\n",
    );
    expect(plan.stdout).not.toContain('no previous build');
    const json = await ws.run(['plan', 'all', '--json']);
    const tasks = (JSON.parse(json.stdout) as { tasks: Array<{ id: string; reasons?: unknown }> }).tasks;
    expect(tasks.find((t) => t.id === 'each[r3]')?.reasons).toEqual([
      { type: 'new-item', target: 'each', item: 'r3', foreach: 'glob', path: 'runs/r3.txt' },
    ]);

    // per's items are known once names has run again, in the build: said as the build decides them.
    const second = await ws.run(['build', 'all', '-j', '1']);
    expect(second.code, second.stderr).toBe(0);
    expect(ranLines(second.stderr)).toEqual([
      'ran all — input added: out/next/r3.txt (parts); input added: out/per/r3.txt (per)',
      "ran each[r3] — new item: runs/r3.txt added to the foreach of 'each'",
      'ran names — input changed: names.txt a8396f172cb5 → ad518a518236',
      "ran next[r3] — new item: runs/r3.txt added to the foreach of 'next'",
      "ran per[r3] — new item: 'r3' added to the foreach of 'per' (emitted by 'names')",
    ]);
    // And afterwards, in the build's record.
    const status = await ws.run(['status']);
    expect(status.stdout).toContain("new item: 'r3' added to the foreach of 'per' (emitted by 'names')");
  });
});

/**
 * `pipe why` on products of a nested fan-out (stacks per night, each over the items a catalog step emits from the
 * calibrated files), and on the gather above them. Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const STEP = `import { basename } from 'node:path';
import { writeFileSync } from 'node:fs';
export default {
  name: 'test.nights', version: '1',
  async run(ctx) {
    const nights = new Map();
    for (const f of ctx.inputs.cal) {
      const n = basename(f).split('-')[0];
      nights.set(n, [...(nights.get(n) ?? []), f]);
    }
    writeFileSync(ctx.outputs.list, [...nights.keys()].join('\\n'));
    return { items: [...nights].map(([id, files]) => ({ id, files })) };
  },
};
`;

const PIPE = `version: 1
targets:
  cal:
    foreach: {glob: "data/*.txt"}
    command: [cp, "{inputs.raw}", "{outputs.o}"]
    inputs: {raw: "data/{item}.txt"}
    outputs: {o: "build/cal/{item}.txt"}
  nights:
    step: ./nights.mjs
    inputs: {cal: {target: cal, output: o}}
    outputs: {list: build/nights.txt}
  stack:
    foreach: {items: nights}
    command: [sh, -c, 'out=$1; shift; cat "$@" > "$out"', sh, "{outputs.o}", "{item.files}"]
    outputs: {o: "build/stack/{item}.txt"}
  all:
    inputs: {stacks: {target: stack, output: o}}
    command: [sh, -c, 'out=$1; shift; cat "$@" > "$out"', sh, "{outputs.o}", "{inputs.stacks}"]
    outputs: {o: build/all.txt}
`;

function workspace(): Workspace {
  const files: Record<string, string> = { 'pipe.yaml': PIPE, 'nights.mjs': STEP };
  for (const n of ['n1', 'n2']) for (let i = 0; i < 8; i++) files[`data/${n}-${i}.txt`] = `${n} ${i}\n`;
  return new Workspace(files);
}

describe('pipe why on a fan-out over emitted items', () => {
  it("says an item's file rebuilt since only when it was (read by its XXH64, not compared with a SHA-256)", async () => {
    const ws = workspace();
    const built = await ws.build(['all']);
    expect(built.run.code, built.run.stderr).toBe(0);
    // Every stack was said to be out of date, each file of its item "rebuilt since", after a clean build.
    const why = await ws.run(['why', 'build/stack/n1.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain('← build/cal/n1-0.txt from:');
    expect(why.stdout).not.toContain('rebuilt since');
    // A calibrated file remade after the stack read it: that one is said to be rebuilt since, by the hash it was read as.
    ws.write('data/n1-0.txt', 'n1 changed\n');
    expect((await ws.build(['cal'])).run.code).toBe(0);
    const after = await ws.run(['why', 'build/stack/n1.txt']);
    expect(after.stdout).toMatch(
      /← build\/cal\/n1-0\.txt \(read as xxh64 [0-9a-f]{12}\) — rebuilt since \(now sha256 [0-9a-f]{12}\): stack\[n1\] is out of date/,
    );
    // The stack, and the step that emitted its item (which read the file by its SHA-256); no other file.
    expect(after.stdout).toMatch(
      /← build\/cal\/n1-0\.txt \(read as sha256 [0-9a-f]{12}\) — rebuilt since .*: nights is out of date/,
    );
    expect(after.stdout.match(/rebuilt since/g)).toHaveLength(2);
  });
});

describe('pipe why on a gather over a fan-out', () => {
  it('shows the first three of a fan-out in full and the rest in one line; --json gives each task once', async () => {
    const ws = workspace();
    const built = await ws.build(['all']);
    expect(built.run.code, built.run.stderr).toBe(0);
    const why = await ws.run(['why', 'build/all.txt']);
    expect(why.code, why.stderr).toBe(0);
    // The catalog step's 16 inputs: three chains, then one line for the other 13.
    expect(why.stdout).toContain(
      "← 13 more of its 'cal' inputs from cal (build/cal/n1-3.txt … build/cal/n2-7.txt): pipe why FILE explains one",
    );
    // Each stack's eight files of its item: three, then one line.
    expect(why.stdout).toContain(
      "← 5 more of its '{item}' inputs from cal (build/cal/n2-3.txt … build/cal/n2-7.txt): pipe why FILE explains one",
    );
    expect(why.stdout.match(/^ *cal\[/gm)).toHaveLength(9);
    const json = await ws.run(['why', 'build/all.txt', '--json']);
    const text = json.stdout;
    // The nights step is explained once, and named again for the other night.
    expect(text.match(/"task":"nights"/g)).toHaveLength(2);
    expect(text.match(/"task":"nights","key":"[0-9a-f]+","repeated":true/g)).toHaveLength(1);
    // Each calibrated file's task in full under the catalog, named again among its night's item files.
    expect(text.match(/"repeated":true/g)).toHaveLength(17);
    expect(text.match(/"task":"cal\[n1-0\]","key":"[0-9a-f]+","step"/g)).toHaveLength(1);
    const [node] = JSON.parse(text);
    expect(node.inputs.map((i: { producer: { task: string } }) => i.producer.task)).toEqual([
      'stack[n1]',
      'stack[n2]',
    ]);
  });
});

describe('pipe why on a gather whose inputs changed', () => {
  // Found by helper-150: a stack that moved from one source's 21 runs to another's 4 listed every input on one line.
  it('counts the changed inputs past five, as pipe plan does; --json lists each', async () => {
    const ws = workspace();
    expect((await ws.build(['nights'])).run.code).toBe(0);
    for (const n of ['n1', 'n2']) for (let i = 0; i < 8; i++) ws.remove(`data/${n}-${i}.txt`);
    for (let i = 0; i < 8; i++) ws.write(`data/n3-${i}.txt`, `n3 ${i}\n`);
    expect((await ws.build(['nights'])).run.code).toBe(0);
    const why = await ws.run(['why', 'build/nights.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain('and 19 more inputs (8 added, 11 removed; pipe why --json lists each)');
    expect(why.stdout.match(/input (added|removed): /g)).toHaveLength(5);
    const json = await ws.run(['why', 'build/nights.txt', '--json']);
    expect(json.stdout.match(/"type":"input-changed"/g)).toHaveLength(24);
  });
});

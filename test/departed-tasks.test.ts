/**
 * Tasks that leave the pipeline (a foreach item whose file is deleted): a build that succeeds drops their records
 * and removes their unmodified outputs, which the cache keeps (the item coming back restores them); an output
 * edited since is left in place and named. Runs the real binary.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, writeFileSync } from 'node:fs';
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

describe('pipe plan, before a build retires them', () => {
  it('lists the departed tasks and the outputs a build removes, under --json too; a build then removes them', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'runs/r1.txt': 'one\n',
      'runs/r2.txt': 'two\n',
      'runs/r3.txt': 'three\n',
    });
    expect((await ws.build(['all'])).run.code).toBe(0);
    ws.remove('runs/r1.txt');
    ws.write('out/each/r3.txt', 'my notes\n');
    ws.remove('runs/r3.txt');
    const plan = await ws.run(['plan', 'all']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      [
        'departed    each[r1]',
        '              no longer in the pipeline: a build that succeeds removes its output from the workspace (the cache keeps it): out/each/r1.txt',
        'departed    each[r3]',
        '              no longer in the pipeline: a build leaves its output in place (edited since, or not in the cache): out/each/r3.txt',
        'plan: 1 to run, 0 to restore, 0 maybe, 1 up to date, 2 departed',
      ].join('\n'),
    );
    const json = JSON.parse((await ws.run(['plan', 'all', '--json'])).stdout) as { departed: unknown };
    expect(json.departed).toEqual([
      { id: 'each[r1]', removed: ['out/each/r1.txt'], kept: [] },
      // Kept because it was edited (not because the cache lost it): said as such.
      { id: 'each[r3]', removed: [], kept: ['out/each/r3.txt'], modified: ['out/each/r3.txt'] },
    ]);
    // A plan changes nothing.
    expect(ws.read('out/each/r1.txt')).toBe('one\n');
    const build = await ws.build(['all']);
    expect(build.run.stderr).toContain(
      'removed 1 output of tasks no longer in the pipeline (kept in the cache): out/each/r1.txt',
    );
    expect((await ws.run(['plan', 'all'])).stdout).not.toContain('departed');
  });

  it('whose every task is up to date does not make the next build a no-op that leaves them', async () => {
    // Found while adding the above: a plan that found all tasks up to date wrote the no-op snapshot, and the build
    // after it answered "nothing to do" from that snapshot, leaving the departed task's output in place.
    const ws = new Workspace({ 'pipe.yaml': PIPELINE, 'runs/r1.txt': 'one\n', 'runs/r2.txt': 'two\n' });
    expect((await ws.build(['each'])).run.code).toBe(0);
    ws.remove('runs/r1.txt');
    // Twice: the first plan may find the folder's new stamp racily clean, and write no snapshot.
    expect((await ws.run(['plan', 'each'])).stdout).toContain('departed    each[r1]');
    expect((await ws.run(['plan', 'each'])).stdout).toContain('departed    each[r1]');
    const build = await ws.run(['build', 'each']);
    expect(build.stderr).toContain('removed 1 output of tasks no longer in the pipeline');
    expect(ws.exists('out/each/r1.txt')).toBe(false);
  });
});

describe('a fan-out that narrows to no item at all', () => {
  // Found by helper-110: only targets with a task in the build were looked at, so the last item's output stayed.
  it('retires the last item too, and the folders it leaves empty', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  names:
    inputs: {names: names.txt}
    step: ./steps/names.mjs
    outputs: {out: out/names.txt}
  each:
    foreach: {items: names}
    command: [sh, -c, 'echo "$1" > "$2"', sh, "{item}", "{outputs.out}"]
    outputs: {out: "out/each/{item}/copy.txt"}
  all:
    inputs: {parts: {target: each}}
    command: [sh, -c, 'echo "$#" > {outputs.out}', sh, "{inputs.parts}"]
    outputs: {out: out/all.txt}
`,
      'names.txt': 'r1',
      'steps/names.mjs': `import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.names', version: '1', run(ctx) {
  const ids = readFileSync(ctx.inputs.names[0], 'utf8').split(/\\s+/).filter(Boolean);
  writeFileSync(ctx.outputs.out, ids.join(','));
  return { items: ids.map((id) => ({ id, files: [] })) };
} };
`,
    });
    expect((await ws.build(['all'])).run.code).toBe(0);
    expect(ws.read('out/each/r1/copy.txt')).toBe('r1\n');
    ws.write('names.txt', '');
    const second = await ws.build(['all']);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.run.stderr).toContain(
      'removed 1 output of tasks no longer in the pipeline (kept in the cache): out/each/r1/copy.txt',
    );
    expect(ws.read('out/all.txt')).toBe('0\n');
    expect(ws.exists('out/each')).toBe(false);
    const why = await ws.run(['why', 'each']);
    expect(why.stdout).not.toContain('each[r1]');
    // The item comes back: restored from the cache, its folder made again.
    ws.write('names.txt', 'r1');
    const third = await ws.build(['all']);
    expect(third.ended.restored).toEqual(['all', 'each[r1]', 'names']);
    expect(ws.read('out/each/r1/copy.txt')).toBe('r1\n');
  });
});

describe('the notes of a build under --json', () => {
  // Found by helper-110: the note of retired outputs went to stderr as text only, not as an event.
  it('are events of their own', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE, 'runs/r1.txt': 'one\n', 'runs/r2.txt': 'two\n' });
    expect((await ws.build(['all'])).run.code).toBe(0);
    ws.remove('runs/r1.txt');
    const json = await ws.run(['build', 'all', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; message?: string });
    expect(events.filter((e) => e.event === 'note')).toEqual([
      {
        event: 'note',
        message: 'removed 1 output of tasks no longer in the pipeline (kept in the cache): out/each/r1.txt',
      },
    ]);
  });
});

describe("a departed task's output whose cache blob is corrupt", () => {
  it('is kept: the blob is re-hashed before the only good copy is deleted', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE, 'runs/r1.txt': 'one\n', 'runs/r2.txt': 'two\n' });
    expect((await ws.build(['all'])).run.code).toBe(0);
    const sha = createHash('sha256').update('one\n').digest('hex');
    const blob = ws.path(`.pipe/cache/cas/${sha.slice(0, 2)}/${sha}`);
    chmodSync(blob, 0o644);
    writeFileSync(blob, 'XX\n');
    ws.remove('runs/r1.txt');
    const second = await ws.build(['all']);
    expect(second.run.code).toBe(0);
    expect(second.run.stderr).toContain('left 1 output of tasks no longer in the pipeline in place');
    expect(ws.read('out/each/r1.txt')).toBe('one\n');
    expect(existsSync(blob)).toBe(false); // quarantined
  });
});

describe('tasks of the same name from another pipeline file in the folder', () => {
  it("are not retired: their outputs are not this target's to remove", async () => {
    const pipeline = (out: string, glob: string) => `version: 1
targets:
  each:
    foreach: {glob: "${glob}"}
    inputs: {src: "runs/{item}.txt"}
    command: [cp, "{inputs.src}", "{outputs.out}"]
    outputs: {out: "${out}/{item}.txt"}
`;
    const ws = new Workspace({
      'pipe.yaml': pipeline('out/main', 'runs/a*.txt'),
      'other.yaml': pipeline('out/other', 'runs/*.txt'),
      'runs/a.txt': 'a\n',
      'runs/b.txt': 'b\n',
    });
    expect((await ws.run(['-f', 'other.yaml', 'build', 'each'])).code).toBe(0);
    expect(ws.read('out/other/b.txt')).toBe('b\n');
    const main = await ws.build(['each']);
    expect(main.run.code, main.run.stderr).toBe(0);
    expect(main.run.stderr).not.toContain('removed');
    expect(ws.read('out/other/b.txt')).toBe('b\n');
  });
});

describe("a departed task's output that another target now declares", () => {
  it('is left to that target', async () => {
    const each = `version: 1
targets:
  each:
    foreach: {glob: "data/*.txt"}
    command: [sh, -c, 'echo "$2" > "$1"', sh, "{outputs.o}", "{item}"]
    outputs: {o: "out/{item}.o"}
`;
    const ws = new Workspace({ 'pipe.yaml': each, 'data/a.txt': '', 'data/c.txt': '' });
    expect((await ws.build(['each'])).run.code).toBe(0);
    ws.remove('data/c.txt');
    ws.write(
      'pipe.yaml',
      `${each}  bb:\n    command: [sh, -c, 'echo bb > "$1"', sh, "{outputs.o}"]\n    outputs: {o: out/c.o}\n`,
    );
    expect((await ws.build(['bb'])).run.code).toBe(0);
    expect(ws.read('out/c.o')).toBe('bb\n');
    const b = await ws.build(['each']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(ws.read('out/c.o')).toBe('bb\n');
    expect(b.run.stderr).not.toContain('out/c.o');
  });
});

const LIST_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
export default {
  name: 'test.list-files',
  version: '1',
  run(ctx) {
    const names = readFileSync(ctx.inputs.names[0], 'utf8').trim().split(',');
    writeFileSync(ctx.outputs.out, names.join('\\n'));
    const dir = path.dirname(ctx.inputs.names[0]);
    return { items: names.map((id) => ({ id, files: [path.join(dir, 'data', id + '.txt')] })) };
  },
};
`;

/** A target that lists names (from names.txt) and a fan-out over them that copies data/<name>.txt (by `command`). */
function namesWorkspace(
  command = `[sh, -c, 'cp "data/$1.txt" "$2"', sh, "{item}", "{outputs.out}"]`,
): Workspace {
  return new Workspace({
    'pipe.yaml': `version: 1
targets:
  names:
    inputs: {names: names.txt}
    step: ./steps/list.mjs
    outputs: {out: out/names.txt}
  each:
    foreach: {items: names}
    command: ${command}
    outputs: {out: "out/each/{item}.txt"}
`,
    'names.txt': 'a,b',
    'steps/list.mjs': LIST_STEP,
    'data/a.txt': 'alpha\n',
    'data/b.txt': 'beta\n',
  });
}

describe('a copied or moved workspace', () => {
  it("reads its own item files, not the original's (emitted items name files by absolute path)", async () => {
    const ws = namesWorkspace();
    const before = await ws.run(['graph', 'each', '--format', 'mermaid']);
    expect(before.stdout).toContain('each (pending)');
    const first = await ws.build(['each']);
    expect(first.run.code, first.run.stdout + first.run.stderr).toBe(0);
    // Once the items are known, the graph shows the fan-out and its edges.
    const after = await ws.run(['graph', 'each', '--format', 'mermaid']);
    expect(after.stdout).toContain('t1["each[a]"]');
    expect(after.stdout).toContain('t0 --> t1');
    expect(after.stdout).not.toContain('pending');
    const copy = new Workspace({});
    cpSync(ws.root, copy.root, { recursive: true });
    copy.write('data/a.txt', 'ALPHA in the copy\n');
    const built = await copy.build(['each']);
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['each[a]']);
    expect(copy.read('out/each/a.txt')).toBe('ALPHA in the copy\n');
    expect(ws.read('out/each/a.txt')).toBe('alpha\n');
    // --force with --out: the fan-out's outputs are copied too (a re-plan under --force held it pending: 0 files).
    const forced = await copy.run(['build', 'each', '--force', '--out', copy.path('export')]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('copied 2 files to');
    expect(copy.read('export/a.txt')).toBe('ALPHA in the copy\n');
    // A copy of the copy, after the copy's emitter reran (its items recorded under the copy's root since).
    copy.write('names.txt', 'a,b,c');
    copy.write('data/c.txt', 'gamma\n');
    expect((await copy.build(['each'])).run.code).toBe(0);
    const second = new Workspace({});
    cpSync(copy.root, second.root, { recursive: true });
    expect((await second.build(['each'])).run.code).toBe(0);
    second.write('data/c.txt', 'GAMMA in the second copy\n');
    const rebuilt = await second.build(['each']);
    expect(rebuilt.ended.ran).toEqual(['each[c]']);
    expect(second.read('out/each/c.txt')).toBe('GAMMA in the second copy\n');
    expect(copy.read('out/each/c.txt')).toBe('gamma\n');
  });
});

describe('pipe why of a fan-out task', () => {
  it('names the task that emitted its item, and that task’s raw inputs (e.g. an observation index)', async () => {
    const ws = namesWorkspace();
    const first = await ws.run(['build', 'each']);
    expect(first.code).toBe(0);
    // The header's count grows with the fan-out: it says so.
    expect(first.stdout + first.stderr).toMatch(/each — 1 task planned, more once names lists its items/);
    const why = await ws.run(['why', 'out/each/b.txt']);
    expect(why.code).toBe(0);
    const lines = why.stdout.split('\n').map((l) => l.trim());
    const at = lines.indexOf('← item b emitted by:');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^names {2}\[test\.list-files@1\]/);
    expect(lines.slice(at + 1).some((l) => l.startsWith('← names.txt (raw input'))).toBe(true);
    const json = JSON.parse((await ws.run(['why', 'each[a]', '--json'])).stdout);
    expect(json[0].item).toMatchObject({ id: 'a', emitter: { task: 'names' } });
  });
});

describe('a command over an emitted item', () => {
  it('reads the files the item names with {item.files}, an argument each', async () => {
    const ws = namesWorkspace('[cp, "{item.files}", "{outputs.out}"]');
    const built = await ws.build(['each']);
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(ws.read('out/each/b.txt')).toBe('beta\n');
    // The item's files are its inputs: an edit reruns that item only.
    ws.write('data/a.txt', 'ALPHA\n');
    expect((await ws.build(['each'])).ended.ran).toEqual(['each[a]']);
    expect(ws.read('out/each/a.txt')).toBe('ALPHA\n');
  });
});

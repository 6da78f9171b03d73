// Data kept outside the workspace, named through a variable ($DATA/...): machines that keep it in other folders
// compute the same task keys (and so share cache entries), while the provenance still names the file where it is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const PIPELINE = `version: 1
targets:
  count:
    inputs: {runs: "$DATA/runs/*.txt", index: $DATA/index.txt}
    command: [sh, -c, 'cat "$@" | wc -l > "$0"', "{outputs.out}", "{inputs.index}", "{inputs.runs}"]
    outputs: {out: out/count.txt}
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A data folder (somewhere outside any workspace) holding `runs` and an index. */
function dataFolder(runs: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-data-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'runs'));
  writeFileSync(path.join(dir, 'index.txt'), 'index\n');
  for (const [name, text] of Object.entries(runs)) writeFileSync(path.join(dir, 'runs', name), text);
  return dir;
}

async function keyOf(data: string): Promise<{ key: string | undefined; ws: Workspace }> {
  const ws = new Workspace({ 'pipe.yaml': PIPELINE });
  const run = await ws.run(['build', 'count', '--json'], { DATA: data });
  expect(run.code, run.stderr).toBe(0);
  return { key: parseEvents(run.stdout).find((e) => e.event === 'task-end')?.key as string | undefined, ws };
}

describe('task keys of data outside the workspace', () => {
  it('agree between data folders in other places with the same files, and differ when a byte differs', async () => {
    const runs = { 'a.txt': 'a\n', 'b.txt': 'b\nb\n' };
    const hereData = dataFolder(runs);
    const thereData = dataFolder(runs);
    const here = await keyOf(hereData);
    const there = await keyOf(thereData);
    expect(here.key).toMatch(/^[0-9a-f]{64}$/);
    expect(there.key).toBe(here.key);
    // Written with a trailing slash (GAMMAPY_DATA=/data/), the same folder.
    expect((await keyOf(`${dataFolder(runs)}/`)).key).toBe(here.key);
    const other = await keyOf(dataFolder({ ...runs, 'b.txt': 'b\nB\n' }));
    expect(other.key).not.toBe(here.key);
    // Moved to yet another folder: still up to date; a changed byte is named by its variable in the plan.
    const moved = dataFolder(runs);
    expect((await here.ws.run(['plan', 'count'], { DATA: moved })).stdout).toContain('up to date');
    writeFileSync(path.join(moved, 'runs', 'b.txt'), 'changed\n');
    const replan = await here.ws.run(['plan', 'count'], { DATA: moved });
    expect(replan.stdout).toMatch(/input changed: \$DATA\/runs\/b\.txt [0-9a-f]{12} → [0-9a-f]{12}/);
    // pipe why names each raw input where the build that read it found it, whatever this shell's DATA is.
    const why = await there.ws.run(['why', 'out/count.txt'], { DATA: moved });
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).not.toContain('$DATA');
    expect(why.stdout).toContain(`← ${path.join(thereData, 'runs', 'a.txt')} (raw input`);
    expect(why.stdout).not.toContain('now missing');
  });
});

const LIST_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
export default { name: 'test.list_runs', version: '1',
  run(ctx) {
    const index = ctx.inputs.index[0];
    const names = readFileSync(index, 'utf8').split('\\n').filter(Boolean);
    writeFileSync(ctx.outputs.out, names.join(','));
    return { items: names.map((n) => ({ id: n, files: [path.join(path.dirname(index), 'runs', n + '.txt')] })) };
  } };
`;

const FAN_OUT = `version: 1
targets:
  runs:
    step: ./steps/list.mjs
    inputs: {index: $DATA/list.txt}
    outputs: {out: out/runs.txt}
  each:
    foreach: {items: runs}
    command: [cp, "{item.files}", "{outputs.out}"]
    outputs: {out: "out/each/{item}.txt"}
`;

describe('items a step emits from data outside the workspace', () => {
  it("restored from a cache another workspace filled, point into this one's data folder", async () => {
    const cache = mkdtempSync(path.join(tmpdir(), 'pipe-shared-cache-'));
    dirs.push(cache);
    const folder = (text: string) => {
      const dir = dataFolder({ 'a.txt': `a ${text}\n`, 'b.txt': `b ${text}\n` });
      writeFileSync(path.join(dir, 'list.txt'), 'a\nb\n');
      return dir;
    };
    const first = new Workspace({ 'pipe.yaml': FAN_OUT, 'steps/list.mjs': LIST_STEP });
    const built = await first.run(['build', 'each', '--cache-dir', cache], { DATA: folder('here') });
    expect(built.code, built.stderr).toBe(0);
    expect(first.read('out/each/a.txt')).toBe('a here\n');
    // Elsewhere, with other run files (the list the same): 'runs' comes from the cache, its items point here.
    const second = new Workspace({ 'pipe.yaml': FAN_OUT, 'steps/list.mjs': LIST_STEP });
    const there = folder('there');
    const run = await second.run(['build', 'each', '--json', '--cache-dir', cache], { DATA: there });
    expect(run.code, run.stderr).toBe(0);
    const ended = parseEvents(run.stdout).filter((e) => e.event === 'task-end');
    expect(ended.find((e) => e.id === 'runs')?.state).toBe('restored');
    expect(second.read('out/each/a.txt')).toBe('a there\n');
    expect(second.read('out/each/b.txt')).toBe('b there\n');
  });
});

describe('pipe compare of two builds whose fan-out reads data outside the workspace', () => {
  // Found by helper-150: the emitter's entry (up to date in the second build, so read from the cache) names its
  // items' files `$DATA/…`, which compare could not resolve: "invalid manifest … $DATA/runs/a.txt: no such variable
  // here", with DATA set or not. Compare reads only the products; the items are not its business.
  it('compares the products', async () => {
    const data = dataFolder({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    writeFileSync(path.join(data, 'list.txt'), 'a\nb\n');
    const ws = new Workspace({ 'pipe.yaml': FAN_OUT, 'steps/list.mjs': LIST_STEP });
    const first = await ws.run(['build', 'each', '--json'], { DATA: data });
    expect(first.code, first.stderr).toBe(0);
    writeFileSync(path.join(data, 'runs', 'b.txt'), 'b changed\n');
    const second = await ws.run(['build', 'each', '--json'], { DATA: data });
    expect(second.code, second.stderr).toBe(0);
    const id = (out: string) =>
      parseEvents(out).find((e) => e.event === 'build-start')?.['buildId'] as string;
    const compare = await ws.run(['compare', id(first.stdout), id(second.stdout)], { DATA: data });
    expect(compare.stderr).not.toContain('no such variable');
    expect(compare.stdout).toMatch(/DIFFERENT +out\/each\/b\.txt/);
    expect(compare.stdout).toContain('3 products: 2 identical, 1 different');
    expect(compare.code).toBe(1);
  });
});

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

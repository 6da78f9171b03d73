/**
 * Pruning past builds: beyond the newest builds kept by count, a build's record, task logs and Slurm files go,
 * except the builds the state's task records name, the running one, and anything newer than those kept (a build
 * started since). A real temporary `.pipe/` folder.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneBuilds } from '../src/builds/prune.js';
import { listBuildIds } from '../src/builds/records.js';
import { emptyState } from '../src/state/state-file.js';
import { workspaceLayout } from '../src/workspace/layout.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** Build ids in time order: minute `n` of a day. */
const idAt = (n: number) => `20260101-00${String(n).padStart(2, '0')}00-000-abcdef`;

/** A workspace with `count` finished builds, each with a task log and (every third) Slurm files. */
function workspace(count: number) {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-prune-'));
  roots.push(root);
  const layout = workspaceLayout(root);
  mkdirSync(layout.buildsDir, { recursive: true });
  for (let n = 0; n < count; n++) {
    const id = idAt(n);
    writeFileSync(path.join(layout.buildsDir, `${id}.json`), '{}');
    mkdirSync(path.join(layout.logsDir, id), { recursive: true });
    writeFileSync(path.join(layout.logsDir, id, 'a.log'), 'log');
    if (n % 3 === 0) mkdirSync(path.join(layout.dir, 'slurm', id, 'results'), { recursive: true });
    // A killed build's task journal (records.ts).
    if (n % 4 === 0)
      writeFileSync(path.join(layout.buildsDir, `${id}.tasks.jsonl`), '{"id":"a","state":"ran"}\n');
  }
  return layout;
}

const folders = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('pruneBuilds', () => {
  it('removes the records, logs and Slurm files of builds beyond those kept, except the ones the state names', async () => {
    const layout = workspace(30);
    // Logs without a record: an old one (its record lost) goes; one newer than those kept (a build starting) stays.
    mkdirSync(path.join(layout.logsDir, idAt(1).replace('abcdef', '000000')));
    mkdirSync(path.join(layout.logsDir, idAt(59)));
    mkdirSync(path.join(layout.logsDir, 'notes')); // not a build's
    const state = emptyState();
    state.tasks.set('made-long-ago', { key: 'k', outputs: {}, buildId: idAt(3) });
    const current = idAt(29);
    const removed = await pruneBuilds(layout, state, current, 5);
    const kept = [idAt(3), ...[25, 26, 27, 28, 29].map(idAt)];
    expect(listBuildIds(layout.buildsDir)).toEqual(kept);
    expect(folders(layout.logsDir)).toEqual([...kept, idAt(59), 'notes']);
    expect(folders(path.join(layout.dir, 'slurm'))).toEqual([idAt(3), idAt(27)]);
    expect(folders(layout.buildsDir).filter((f) => f.endsWith('.tasks.jsonl'))).toEqual([
      `${idAt(28)}.tasks.jsonl`,
    ]);
    expect(removed).toHaveLength(30 - 6 + 1);
    expect(removed).toContain(idAt(1).replace('abcdef', '000000'));
  });

  it('leaves everything while the builds beyond those kept are within the slack (20)', async () => {
    const layout = workspace(25);
    expect(await pruneBuilds(layout, emptyState(), idAt(24), 5)).toEqual([]);
    expect(listBuildIds(layout.buildsDir)).toHaveLength(25);
    expect(folders(layout.logsDir)).toHaveLength(25);
  });

  it('counts its slack past the old builds it kept for their products, instead of pruning at every build', async () => {
    const layout = workspace(60);
    const state = emptyState();
    // 30 old builds made current products: they stay, and do not make every later build a prune.
    for (let n = 0; n < 30; n++) state.tasks.set(`t${n}`, { key: 'k', outputs: {}, buildId: idAt(n) });
    expect(await pruneBuilds(layout, state, idAt(59), 5)).toHaveLength(25);
    expect(listBuildIds(layout.buildsDir)).toHaveLength(35);
    // 35 records > 5 + 20: without the count of the 30 kept, this would read the state and remove nothing.
    const noState = { ...state, tasks: undefined } as unknown as typeof state;
    expect(await pruneBuilds(layout, noState, idAt(59), 5)).toEqual([]);
  });

  it('a workspace without builds, logs or Slurm folders is no error', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pipe-prune-'));
    roots.push(root);
    expect(await pruneBuilds(workspaceLayout(root), emptyState(), idAt(0), 5)).toEqual([]);
  });
});

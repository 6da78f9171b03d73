/**
 * The quick up-to-date check and the compact state: after a build, an unchanged task is decided from its
 * check digest (no fingerprint record built, no product hashed); any change to what its key depends on
 * takes the full path, whose reasons come from the fingerprint log on disk (the state keeps no records).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/fingerprint/canonical.js';
import type { Task } from '../src/model/types.js';
import { type Decision, decideTask, type KnownOutput } from '../src/plan/decide.js';
import { topoOrder } from '../src/plan/planner.js';
import { renderReason } from '../src/plan/reasons.js';
import { FingerprintLog } from '../src/state/fingerprint-log.js';
import { RecordTable } from '../src/state/record-table.js';
import { loadState, type StateData, saveState } from '../src/state/state-file.js';
import {
  commandTarget,
  graphOf,
  pipelineOf,
  ROOT,
  stepsFor,
  task,
  VirtualWorkspace,
} from './planner-fixture.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pipe-quick-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function chain(params: Record<string, unknown> = {}) {
  const pipeline = pipelineOf([commandTarget('each'), commandTarget('final')]);
  const tasks: Task[] = [
    task('each[a]', 'each', { files: ['a.txt'], outputs: { out: 'out/a' }, params }),
    task('each[b]', 'each', { files: ['b.txt'], outputs: { out: 'out/b' } }),
    task('final', 'final', {
      from: [
        ['each[a]', 'out/a'],
        ['each[b]', 'out/b'],
      ],
      outputs: { out: 'out/f' },
    }),
  ];
  return { pipeline, graph: graphOf(tasks) };
}

/** Decide every task in order and, like the scheduler, run and record what must run. */
async function build(
  ws: VirtualWorkspace,
  p: ReturnType<typeof chain>,
  state: StateData,
): Promise<Map<string, Decision>> {
  const steps = stepsFor(p.pipeline);
  const known = new Map<string, Record<string, KnownOutput>>();
  const decisions = new Map<string, Decision>();
  for (const id of topoOrder(p.graph.tasks)) {
    const t = p.graph.tasks.get(id)!;
    const d = await decideTask(t, {
      root: ROOT,
      io: ws,
      previous: state.tasks.get(id),
      previousRecord: () => {
        const rec = state.tasks.get(id);
        return rec ? state.fingerprints?.get(id, rec.key) : undefined;
      },
      upstream: known,
      step: steps.get(t.target)!,
      target: p.pipeline.targets.get(t.target)!,
      forced: false,
    });
    decisions.set(id, d);
    if (d.action === 'up-to-date') {
      known.set(id, d.outputs);
      continue;
    }
    if (d.action !== 'run') throw new Error(`${id}: ${d.action}`);
    const inputs = Object.values(t.inputs)
      .flat()
      .map((f) => ws.files.get(f.path)!.content);
    const rel = t.outputs.out!.slice(ROOT.length + 1);
    ws.write(rel, `${t.id}(${inputs.join(',')})`);
    const content = ws.files.get(t.outputs.out!)!.content;
    const st = ws.stamp(t.outputs.out!)!;
    const out = { path: rel, sha256: sha256Hex(content), size: content.length };
    state.tasks.set(id, {
      key: d.key,
      fp: d.record,
      ...(d.check ? { check: d.check } : {}),
      outputs: { out: { ...out, mtimeNs: st.mtimeNs, ino: st.ino } },
      buildId: 'b',
    });
    known.set(id, { out });
  }
  return decisions;
}

const summary = (ds: Map<string, Decision>) =>
  [...ds].map(
    ([id, d]) =>
      `${d.action} ${id}${d.action === 'run' ? `: ${d.reasons.map(renderReason).join('; ')}` : ''}`,
  );

describe('quick up-to-date check', () => {
  it('decides an unchanged task without a fingerprint record; a change takes the full path, explained from the log', async () => {
    const dir = tmp();
    const file = path.join(dir, 'state.json');
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const first = loadState(file).data;
    await build(ws, chain(), first);
    await saveState(file, first);
    // The state file keeps no fingerprint records: they went to the log.
    expect(readFileSync(file, 'utf8')).not.toContain('"fp"');
    expect(readFileSync(path.join(dir, 'fingerprints.log'), 'utf8').split('\n')[0]).toBe(
      'pipe-fingerprints 1',
    );

    let state = loadState(file).data;
    let ds = await build(ws, chain(), state);
    expect(summary(ds)).toEqual(['up-to-date each[a]', 'up-to-date each[b]', 'up-to-date final']);
    // Decided by the check: no record was built, and no product hashed.
    for (const d of ds.values()) expect(d.action === 'up-to-date' && d.record).toBe(undefined);
    expect(ws.hashedProducts).toEqual([]);

    // A content change: the task and its dependant run, with reasons read back from the log.
    ws.write('a.txt', 'A');
    state = loadState(file).data;
    ds = await build(ws, chain(), state);
    expect(summary(ds)).toEqual([
      `run each[a]: input changed: a.txt ${sha256Hex('a').slice(0, 12)} → ${sha256Hex('A').slice(0, 12)}`,
      'up-to-date each[b]',
      expect.stringMatching(/^run final: input changed: out\/a [0-9a-f]{12} → [0-9a-f]{12}$/),
    ]);
    await saveState(file, state);

    // A param change alters the check as well: the full path finds and names it.
    state = loadState(file).data;
    ds = await build(ws, chain({ level: 2 }), state);
    expect(summary(ds)[0]).toBe('run each[a]: param changed: level null → 2');
  });

  it('without the old record (log lost), a changed key is still a reason', async () => {
    const dir = tmp();
    const file = path.join(dir, 'state.json');
    const ws = new VirtualWorkspace();
    ws.write('a.txt', 'a');
    ws.write('b.txt', 'b');
    const state = loadState(file).data;
    await build(ws, chain(), state);
    await saveState(file, state);
    rmSync(path.join(dir, 'fingerprints.log'));
    ws.write('b.txt', 'B');
    const ds = await build(ws, chain(), loadState(file).data);
    expect(summary(ds)[1]).toMatch(/^run each\[b\]: key changed: [0-9a-f]{12} → [0-9a-f]{12}/);
  });
});

describe('fingerprint log', () => {
  const fp = (n: number) => ({
    v: 1,
    step: { name: 's', version: '1', code: '' },
    params: { n },
    inputs: {},
    env: {},
    kernels: [],
  });

  it('the last line of an id wins, a torn line is skipped, and a record under another key is not used', async () => {
    const file = path.join(tmp(), 'fingerprints.log');
    const log = new FingerprintLog(file);
    log.set('t1', 'k1', fp(1));
    log.set('t2', 'k2', fp(2));
    await log.save(RecordTable.of({ t1: { key: 'k1' }, t2: { key: 'k2' } }));
    const again = new FingerprintLog(file);
    again.set('t1', 'k1b', fp(3));
    await again.save(RecordTable.of({ t1: { key: 'k1b' }, t2: { key: 'k2' } }));
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"id":"t2","key":"k2","fp":{"v":`, { flag: 'w' }); // a crash while appending
    const read = new FingerprintLog(file);
    expect(read.get('t1', 'k1b')).toEqual(fp(3));
    expect(read.get('t1', 'k1')).toBeUndefined();
    expect(read.get('t2', 'k2')).toEqual(fp(2));
    // A line appended after the torn one is whole.
    read.set('t3', 'k3', fp(4));
    await read.save(RecordTable.of({ t1: { key: 'k1b' }, t2: { key: 'k2' }, t3: { key: 'k3' } }));
    expect(new FingerprintLog(file).get('t3', 'k3')).toEqual(fp(4));
  });

  it('rewrites itself with only the live records once it has grown', async () => {
    const file = path.join(tmp(), 'fingerprints.log');
    for (let i = 0; i < 120; i++) {
      const log = new FingerprintLog(file);
      log.set('t', `k${i}`, fp(i));
      await log.save(RecordTable.of({ t: { key: `k${i}` } }));
    }
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeLessThan(110);
    expect(new FingerprintLog(file).get('t', 'k119')).toEqual(fp(119));
  });
});

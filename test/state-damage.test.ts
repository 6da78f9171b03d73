/**
 * A damaged line in `.pipe/state.json` (design.md: the state file is versioned and self-healing) costs only the
 * task it recorded: the next build drops it with a note, checks that task afresh (its output re-hashed and taken
 * from the cache, or it reruns), builds what changed, and writes the state without it. Never an error, never a
 * wrong product. Twice per damage: once as an editor would do it (the file's stamp changes: the no-op snapshot no
 * longer vouches for anything), once as a failing medium would (the stamps the snapshot keeps still agree, so it
 * vouches for the damaged task: the planner must not take its key from the line).
 * Runs the real `pipe` binary in a temp workspace.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const COPY_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.copy', version: '1',
  run(ctx) { writeFileSync(ctx.outputs.out, ctx.inputs.src.map((f) => readFileSync(f, 'utf8')).join('')); } };
`;

const PIPELINE = `version: 1
targets:
  each:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    step: ./steps/copy.mjs
    outputs: { out: "out/each/{item}.txt" }
  all:
    inputs: { src: { target: each } }
    step: ./steps/copy.mjs
    outputs: { out: out/all.txt }
`;

const STATE = '.pipe/state.json';

/** Rewrite the line of task `id` in the state file. */
function damageRecord(ws: Workspace, id: string, damage: (line: string) => string): void {
  const lines = ws.read(STATE).split('\n');
  const at = lines.findIndex((l) => l.startsWith(`t\t${JSON.stringify(id)}\t`));
  expect(at).toBeGreaterThan(0);
  const damaged = damage(lines[at]!);
  expect(damaged).not.toBe(lines[at]);
  lines[at] = damaged;
  writeFileSync(ws.path(STATE), lines.join('\n'));
}

/**
 * Make the no-op snapshot's stamp of the state file agree with the file as it is now: what a medium that damages
 * bytes without a write through the file system leaves (the snapshot then still vouches for every unchanged task).
 */
function stampsAgree(ws: Workspace): void {
  const dir = ws.path('.pipe/noop');
  const snaps = readdirSync(dir).filter((f) => f.endsWith('.snap'));
  expect(snaps).toHaveLength(1);
  const file = `${dir}/${snaps[0]}`;
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = JSON.parse(lines[0]!) as { stateFile: string };
  const st = statSync(ws.path(STATE));
  const ns = (ms: number) => String(Math.round(ms * 1e6));
  const at = lines.findIndex((l) => l.startsWith(`[${JSON.stringify(header.stateFile)},`));
  expect(at).toBeGreaterThan(0);
  const comma = lines[at]!.endsWith(',') ? ',' : '';
  lines[at] =
    JSON.stringify([header.stateFile, 'f', st.size, ns(st.mtimeMs), st.ino, ns(st.ctimeMs)]) + comma;
  writeFileSync(file, lines.join('\n'));
}

/**
 * `pipe build all` as typed (no --json: the no-op snapshot is only written and consulted for such a command line):
 * the tasks that ran or were restored, and the summary's counts.
 */
async function build(ws: Workspace) {
  const run = await ws.run(['build', 'all']);
  const out = run.stdout + run.stderr;
  const ids = (word: string) =>
    [...out.matchAll(new RegExp(`^${word}\\s+(\\S+)`, 'gm'))].map((m) => m[1]!).sort();
  const counts = /succeeded: (.*) \(/.exec(out)?.[1] ?? (/^up to date: /m.test(out) ? 'nothing to do' : '?');
  return { run, ran: ids('ran'), restored: ids('restored'), counts };
}

const damages: Array<[string, (line: string) => string]> = [
  ['truncated', (l) => l.slice(0, l.length - 50)],
  ['garbled JSON', (l) => l.replace('"outputs"', '"outp{ts"')],
  ['a wrong type', (l) => l.replace(/"size":(\d+)/, '"size":"$1"')],
  ['another key on the line', (l) => l.replace(/^(t\t"each\[b\]"\t)[0-9a-f]/, '$1x')],
];

describe('pipe build: a damaged record in the state file', () => {
  describe.each([
    ['edited (its stamp changed)', false],
    ['damaged in place (its stamps agree)', true],
  ])('%s', (_, inPlace) => {
    it.each(damages)(
      '%s: the next build checks that task afresh and builds the rest right',
      async (_, damage) => {
        const ws = new Workspace({
          'pipe.yaml': PIPELINE,
          'data/a.txt': 'A',
          'data/b.txt': 'B',
          'data/c.txt': 'C',
          'steps/copy.mjs': COPY_STEP,
        });
        let b = await build(ws);
        expect(b.run.code, b.run.stderr).toBe(0);
        // A no-op, answered from the no-op snapshot (which vouches for every task from now on).
        b = await build(ws);
        expect(b.counts).toBe('nothing to do');

        damageRecord(ws, 'each[b]', damage);
        if (inPlace) stampsAgree(ws);
        // A content change next to it: `all` reads each[b]'s outputs, which only its damaged record held.
        ws.write('data/a.txt', 'A2');
        b = await build(ws);
        expect(b.run.code, b.run.stderr).toBe(0);
        expect(b.run.stderr).toMatch(/state\.json: damaged: the record of task each\[b\]; dropped/);
        // each[b] costs a re-hash of its output (found in the cache: up to date again, not rerun).
        expect(b.ran).toEqual(['all', 'each[a]']);
        expect(b.restored).toEqual([]);
        expect(b.counts).toBe('2 up-to-date, 2 ran');
        expect(ws.read('out/all.txt')).toBe('A2BC');
        expect(ws.read('out/each/b.txt')).toBe('B');

        // Healed: the state was written without the damaged line; nothing runs, no note.
        const j = await ws.build(['all']);
        expect(j.run.code, j.run.stderr).toBe(0);
        expect(j.run.stderr).not.toMatch(/damaged/);
        expect(j.ended).toEqual({ 'up-to-date': ['all', 'each[a]', 'each[b]', 'each[c]'] });

        // And a change of b's own input reruns it from its healed record.
        ws.write('data/b.txt', 'B2');
        b = await build(ws);
        expect(b.ran).toEqual(['all', 'each[b]']);
        expect(ws.read('out/all.txt')).toBe('A2B2C');
      },
    );
  });

  it('a damaged record whose output is gone from the cache reruns that task (and only it)', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'data/a.txt': 'A',
      'data/b.txt': 'B',
      'steps/copy.mjs': COPY_STEP,
    });
    expect((await ws.build(['all'])).run.code).toBe(0);
    ws.remove('.pipe/cache');
    damageRecord(ws, 'each[b]', (l) => l.slice(0, 30));
    const b = await ws.build(['all']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.ended).toEqual({ ran: ['each[b]'], 'up-to-date': ['all', 'each[a]'] });
    expect(ws.read('out/all.txt')).toBe('AB');
  });
});

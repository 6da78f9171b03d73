/**
 * `pipe why` on a fan-out task's product after a build with another emitter config failed on that item: the item
 * came from the emitter's run in the build that made the product, not from its latest record. Runs the real binary.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

// Emits one item per file of its `store` input (the runs of a data store), the file as the item's.
const SELECT_STEP = `
import { writeFileSync } from 'node:fs';
import path from 'node:path';
export default {
  name: 'test.select',
  version: '1',
  run(ctx) {
    const files = ctx.inputs.store;
    writeFileSync(ctx.outputs.out, files.join('\\n'));
    return { items: files.map((f) => ({ id: path.basename(f, '.txt'), files: [f], data: path.basename(f, '.txt') })) };
  },
};
`;

// Fails on a damaged run file (as a reduction does on a truncated one).
const REDUCE_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.reduce',
  version: '1',
  run(ctx) {
    const text = readFileSync(ctx.item.files[0], 'utf8');
    if (text.startsWith('broken')) throw new Error('damaged run file');
    writeFileSync(ctx.outputs.out, 'reduced ' + text);
  },
};
`;

const pipeline = (store: string, selection: string) => `version: 1
targets:
  observations:
    step: ./steps/select.mjs
    inputs: { store: ${store}/*.txt }
    params: { selection: ${selection} }
    outputs: { out: build/observations.txt }
  datasets:
    step: ./steps/reduce.mjs
    foreach: { items: observations }
    outputs: { out: "build/datasets/{item}.txt" }
`;

describe('pipe why after a failed build with another emitter config', () => {
  it('names the emitter run the product was made from, or says its record is gone', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('cone', 'cone'),
      'steps/select.mjs': SELECT_STEP,
      'steps/reduce.mjs': REDUCE_STEP,
      'cone/a.txt': 'run a\n',
      'cone/b.txt': 'run b\n',
      'store/a.txt': 'run a\n',
      'store/b.txt': 'broken\n',
    });
    expect((await ws.build(['datasets'])).run.code).toBe(0);
    const made = await ws.run(['why', 'build/datasets/b.txt']);
    expect(made.code, made.stderr).toBe(0);
    const emitter = made.stdout.match(/^ {4}observations {2}\[test\.select@1\] key (\w+)$/m)?.[1];
    expect(emitter, made.stdout).toBeDefined();

    // Another config's selection of the same runs: its reduction fails on b, whose product stays the first build's.
    ws.write('pipe.yaml', pipeline('store', 'ids'));
    const failed = await ws.build(['datasets']);
    expect(failed.run.code).not.toBe(0);
    expect(failed.ended.failed).toEqual(['datasets[b]']);
    expect(ws.read('build/datasets/b.txt')).toBe('reduced run b\n');

    const why = await ws.run(['why', 'build/datasets/b.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain('← item b emitted by:');
    expect(why.stdout).toMatch(new RegExp(`^ {4}observations {2}\\[test\\.select@1\\] key ${emitter}$`, 'm'));
    expect(why.stdout).toContain('params {"selection":"cone"}');
    expect(why.stdout).toContain('← cone/b.txt (raw input');
    expect(why.stdout).not.toContain('store/');
    expect(why.stdout).not.toContain('"ids"');

    // Once the fingerprint log no longer holds that run (rewritten since), it is named, not explained.
    const log = ws.path('.pipe/fingerprints.log');
    const lines = readFileSync(log, 'utf8').split('\n');
    const kept = lines.filter(
      (l) => !(l.includes('"id":"observations"') && l.includes('"selection":"cone"')),
    );
    expect(kept.length).toBeLessThan(lines.length);
    writeFileSync(log, kept.join('\n'));
    const gone = await ws.run(['why', 'build/datasets/b.txt']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(
      new RegExp(
        `← item b emitted by observations \\(key ${emitter}, in build \\S+\\), whose record is no longer kept`,
      ),
    );
    expect(gone.stdout).not.toContain('store/');
    expect(gone.stdout).not.toContain('"ids"');
  });

  // Found by helper-127: with the item's data naming its file, the two runs' items differ, and no emitter was shown.
  it('finds the emitter run when the runs gave the item other data', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('cone', 'cone'),
      // Emits the item with its file's path as data: another store gives the same id other data.
      'steps/select.mjs': SELECT_STEP.replace("data: path.basename(f, '.txt')", 'data: { from: f }'),
      'steps/reduce.mjs': REDUCE_STEP,
      'cone/a.txt': 'run a\n',
      'cone/b.txt': 'run b\n',
      'store/a.txt': 'run a\n',
      'store/b.txt': 'broken\n',
    });
    expect(ws.read('steps/select.mjs')).toContain('data: { from: f }');
    expect((await ws.build(['datasets'])).run.code).toBe(0);
    const made = await ws.run(['why', 'build/datasets/b.txt']);
    const emitter = made.stdout.match(/^ {4}observations {2}\[test\.select@1\] key (\w+)$/m)?.[1];
    expect(emitter, made.stdout).toBeDefined();
    ws.write('pipe.yaml', pipeline('store', 'ids'));
    expect((await ws.build(['datasets'])).ended.failed).toEqual(['datasets[b]']);
    const why = await ws.run(['why', 'build/datasets/b.txt']);
    expect(why.stdout).toContain('← item b emitted by:');
    expect(why.stdout).toMatch(new RegExp(`^ {4}observations {2}\\[test\\.select@1\\] key ${emitter}$`, 'm'));
    expect(why.stdout).toContain('params {"selection":"cone"}');
    expect(why.stdout).not.toContain('store/');
  });

  // Found by helper-127: the emitter's latest run chose the same runs, and the task stayed up to date in that build.
  it("shows the emitter's latest run when that run kept the task as it is", async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('cone', 'cone'),
      'steps/select.mjs': SELECT_STEP,
      'steps/reduce.mjs': REDUCE_STEP,
      'cone/a.txt': 'run a\n',
    });
    expect((await ws.build(['datasets'])).run.code).toBe(0);
    // The selection's own setting changes, and it emits the same item: only it runs.
    ws.write('pipe.yaml', pipeline('cone', 'ids'));
    const b = await ws.build(['datasets']);
    expect(b.ended).toEqual({ ran: ['observations'], 'up-to-date': ['datasets[a]'] });
    const current = (await ws.run(['why', 'build/observations.txt'])).stdout.match(
      /^observations {2}\[test\.select@1\] key (\w+)$/m,
    )?.[1];
    expect(current).toBeDefined();
    const why = await ws.run(['why', 'build/datasets/a.txt']);
    expect(why.stdout).toMatch(new RegExp(`^ {4}observations {2}\\[test\\.select@1\\] key ${current}$`, 'm'));
    expect(why.stdout).toContain('params {"selection":"ids"}');
  });
});

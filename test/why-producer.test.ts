/**
 * `pipe why` on a product two records name (a target renamed and back, two configs writing the same products): the
 * record that made the file there now explains it, not whichever the state lists last. Runs the real binary.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const pipeline = (name: string, input: string) =>
  `version: 1\ntargets:\n  ${name}:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: data/${input}}\n    outputs: {o: build/out.txt}\n`;

describe('pipe why on a product more than one record names', () => {
  it('names the task whose run wrote the file there now, and its input', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('a', '1.txt'),
      'data/1.txt': 'one\n',
      'data/2.txt': 'two\n',
      'data/3.txt': 'three\n',
    });
    expect((await ws.build(['a'])).run.code).toBe(0);
    ws.write('pipe.yaml', pipeline('b', '2.txt'));
    expect((await ws.build(['b'])).run.code).toBe(0);
    ws.write('pipe.yaml', pipeline('a', '3.txt'));
    expect((await ws.build(['a'])).run.code).toBe(0);
    expect(ws.read('build/out.txt')).toBe('three\n');
    const why = await ws.run(['why', 'build/out.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(/^a {2}\[command\]/);
    expect(why.stdout).toContain('← data/3.txt (raw input');
    expect(why.stdout).not.toContain('data/2.txt');
    // A copy (e.g. an --out folder) is explained by the same record, named once.
    ws.write('copy/out.txt', 'three\n');
    const copy = await ws.run(['why', 'copy/out.txt']);
    expect(copy.stdout).toContain('copy/out.txt: a copy of build/out.txt (same content), made by:\n');
    expect(copy.stdout).toMatch(/^a {2}\[command\]/m);
    expect(copy.stdout).not.toMatch(/^b {2}\[command\]/m);
  });
});

describe('pipe why after a build with --cache-dir', () => {
  it('looks in the cache that build used: an edited product is said to be restorable from it', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1\ntargets:\n  t:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: data/1.txt}\n    outputs: {o: out.txt}\n`,
      'data/1.txt': 'one\n',
    });
    const cacheDir = ws.path('elsewhere-cache');
    expect((await ws.run(['build', 't', '--cache-dir', cacheDir])).code).toBe(0);
    ws.write('out.txt', 'edited\n');
    const why = await ws.run(['why', 'out.txt']);
    expect(why.stdout).toContain('edited or replaced since; a build that needs it restores it');
    expect(why.stdout).not.toContain('no longer in the local cache');
  });
});

describe('pipe why, log and status on what is not as pipe wrote it', () => {
  it('a folder or a named pipe where a product was: said, not a crash or a wait for ever', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('a', '1.txt'), 'data/1.txt': 'one\n' });
    expect((await ws.build(['a'])).run.code).toBe(0);
    ws.remove('build/out.txt');
    ws.write('build/out.txt/inside', 'x');
    const folder = await ws.run(['why', 'a']);
    expect(folder.code, folder.stderr).toBe(0);
    expect(folder.stdout).toContain('— now not a regular file (a folder): a build that needs it restores it');
    ws.remove('build/out.txt');
    execFileSync('mkfifo', [ws.path('build/out.txt')]);
    const fifo = await ws.run(['why', 'a']);
    expect(fifo.code, fifo.stderr).toBe(0);
    expect(fifo.stdout).toContain('— now not a regular file (a named pipe)');
  });

  it('a build record that parses but lacks its fields is named unreadable, not a TypeError', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline('a', '1.txt'), 'data/1.txt': 'one\n' });
    expect((await ws.build(['a'])).run.code).toBe(0);
    const id = '20991231-000000-000-aaaaaa'; // the newest: what 'last' reads
    ws.write(`.pipe/builds/${id}.json`, '{"format":"pipe-build","version":1}');
    const log = await ws.run(['log']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(new RegExp(`${id}\\s+unreadable`));
    const status = await ws.run(['status', id]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(
      `build ${id}: its record lacks id, status, startedAt, targets, params, counts, tasks`,
    );
    expect(status.stderr).not.toContain('TypeError');
    const why = await ws.run(['why', 'build/out.txt']);
    expect(why.code, why.stderr).toBe(0);
  });
});

describe('pipe why on a product whose upstream was rebuilt since', () => {
  // Found by helper-110: the chain went on with the upstream's latest record, as if this product had been made from it.
  it('says which bytes it read, that they were rebuilt since, and that it is out of date', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  total:
    inputs: {x: data/in.txt}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: products/total.txt}
  extra:
    inputs: {x: {target: total}}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: products/extra.txt}
`,
      'data/in.txt': '1\n',
    });
    expect((await ws.build(['extra'])).run.code).toBe(0);
    const fresh = await ws.run(['why', 'products/extra.txt']);
    expect(fresh.stdout).toContain('← products/total.txt from:');
    expect(fresh.stdout).not.toContain('rebuilt since');
    ws.write('data/in.txt', '2\n');
    expect((await ws.build(['total'])).run.code).toBe(0);
    const sha = (text: string) => execFileSync('sha256sum', { input: text }).toString().slice(0, 12);
    const why = await ws.run(['why', 'products/extra.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain(
      `← products/total.txt (read as sha256 ${sha('1\n')}) — rebuilt since (now sha256 ${sha('2\n')}): extra is out of date, its next build reruns it; now made by:`,
    );
  });
});

// helper-130: what a step returns as metadata was kept in the cache entry's provenance and shown nowhere.
describe('pipe why shows what a step said of its work', () => {
  it("prints a task's metadata under it (long values cut), and none for a task without", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  count:
    step: ./steps/count.mjs
    inputs: {x: data/a.txt}
    outputs: {o: build/count.txt}
  copy:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: {target: count}}
    outputs: {o: build/copy.txt}
`,
      'data/a.txt': 'abc\n',
      'steps/count.mjs': `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'count', version: '1',
  run(ctx) {
    const text = readFileSync(ctx.inputs.x[0], 'utf8');
    writeFileSync(ctx.outputs.o, String(text.length));
    return { metadata: { chars: text.length, note: 'n'.repeat(300) } };
  },
};
`,
    });
    expect((await ws.build(['copy'])).run.code).toBe(0);
    const why = await ws.run(['why', 'build/copy.txt']);
    expect(why.code, why.stderr).toBe(0);
    const lines = why.stdout.split('\n');
    const meta = lines.filter((l) => l.includes('metadata '));
    expect(meta).toHaveLength(1); // count's; the command has none
    expect(meta[0]).toMatch(/^ {6}metadata \{"chars":4,"note":"n+…$/);
    expect(meta[0]!.length).toBeLessThan(260);
  });
});

describe('pipe why of a restored product, once its cache entry is gone', () => {
  it('still names the build and host that made it: the restoring build kept them', async () => {
    const files = {
      'pipe.yaml': `version: 1\ntargets:\n  t:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: data/1.txt}\n    outputs: {o: out.txt}\n`,
      'data/1.txt': 'one\n',
    };
    // Two workspaces sharing one cache (a colleague's clone; a remote cache is the same to the restoring side).
    const maker = new Workspace(files);
    const user = new Workspace(files);
    const shared = maker.path('shared-cache');
    const made = await maker.build(['t'], ['--cache-dir', shared]);
    expect(made.ended).toEqual({ ran: ['t'] });
    const restored = await user.build(['t'], ['--cache-dir', shared]);
    expect(restored.ended).toEqual({ restored: ['t'] });
    const madeLine = /^ {2}made in build (\S+) \(process on \S+, ended \S+\)$/m;
    const before = await user.run(['why', 'out.txt']);
    expect(before.stdout).toMatch(madeLine);
    const id = madeLine.exec(before.stdout)![1]!;
    expect(maker.exists(`.pipe/builds/${id}.json`)).toBe(true);
    const restoredEvent = parseEvents(restored.run.stdout).find((e) => e.event === 'task-end');
    expect(restoredEvent?.['madeIn']).toMatchObject({ build: id, executor: 'process' });
    expect((await user.run(['status'])).stdout).toContain(`\n            made in build ${id} (process on `);
    // The entry leaves the cache (gc, the size budget, a colleague's cleanup): the product here is still that build's.
    maker.remove('shared-cache');
    const after = await user.run(['why', 'out.txt']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(madeLine);
    expect(madeLine.exec(after.stdout)![1]).toBe(id);
  });
});

describe("pipe why of a product whose cache entry is gone (gc, a budget, a colleague's cleanup)", () => {
  it('still prints what its step said of its work: the build that ran or restored it kept it', async () => {
    const files = {
      'pipe.yaml': `version: 1
targets:
  count:
    step: ./steps/count.mjs
    inputs: {x: data/a.txt}
    outputs: {o: build/count.txt}
  big:
    step: ./steps/big.mjs
    outputs: {o: build/big.txt}
`,
      'data/a.txt': 'abc\n',
      'steps/count.mjs': `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'count', version: '1',
  run(ctx) {
    const text = readFileSync(ctx.inputs.x[0], 'utf8');
    writeFileSync(ctx.outputs.o, String(text.length));
    return { metadata: { chars: text.length, peak: { dec: 22, ra: 83.6 } } };
  },
};
`,
      'steps/big.mjs': `import { writeFileSync } from 'node:fs';
export default {
  name: 'big', version: '1',
  run(ctx) {
    writeFileSync(ctx.outputs.o, 'big');
    return { metadata: { rows: Array.from({ length: 600 }, (_, i) => i) } };
  },
};
`,
    };
    const maker = new Workspace(files);
    const user = new Workspace(files);
    const shared = maker.path('shared-cache');
    expect((await maker.build(['count', 'big'], ['--cache-dir', shared])).ended).toEqual({
      ran: ['big', 'count'],
    });
    expect((await user.build(['count', 'big'], ['--cache-dir', shared])).ended).toEqual({
      restored: ['big', 'count'],
    });
    const line = '  metadata {"chars":4,"peak":{"dec":22,"ra":83.6}}';
    for (const ws of [maker, user])
      expect((await ws.run(['why', 'build/count.txt'])).stdout).toContain(`\n${line}\n`);
    // The entries leave the cache, as gc evicts them (manifests and blobs).
    maker.remove('shared-cache');
    for (const ws of [maker, user]) {
      const why = await ws.run(['why', 'build/count.txt']);
      expect(why.code, why.stderr).toBe(0);
      expect(why.stdout).toContain(`\n${line}\n`);
      const json = JSON.parse((await ws.run(['why', 'build/count.txt', '--json'])).stdout);
      expect(json[0].lastBuild.metadata).toEqual({ chars: 4, peak: { dec: 22, ra: 83.6 } });
      // Larger metadata (here 2.3 kB, past the 2 kB a record keeps) is the cache entry's alone: a fan-out's record
      // stays small.
      const big = await ws.run(['why', 'build/big.txt']);
      expect(big.code, big.stderr).toBe(0);
      expect(big.stdout).not.toContain('metadata');
    }
  });
});

/**
 * Freshness, narrated: initially stale → no change, nothing runs → content change, exactly the
 * dependants run → mtime-only change, nothing runs → param change → step code change → identical
 * output stops the cascade → a deleted product is restored from the cache without running.
 * Runs the real `pipe` binary in a temp workspace with command steps and an in-process step.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const UPPER =
  "const fs=require('fs');fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8').toUpperCase())";
const CONCAT =
  "const fs=require('fs');fs.writeFileSync(process.argv[1], 'final:'+fs.readFileSync(process.argv[2],'utf8'))";

const COUNT_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
import { letters } from './letters.mjs';
export default {
  name: 'test.count',
  version: '1',
  run(ctx) {
    const text = ctx.inputs.parts.map((f) => readFileSync(f, 'utf8')).join('');
    writeFileSync(ctx.outputs.out, letters(text) + ctx.params.suffix);
    return { metadata: { files: ctx.inputs.parts.length } };
  },
};
`;

/** A target that upper-cases data/a.txt into `output` (a command step). */
function upperTarget(name: string, output: string): string {
  return `  ${name}:
    inputs: { x: data/a.txt }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.x}", "{outputs.o}"]
    outputs: { o: ${output} }
`;
}

function pipeline(suffix: string): string {
  return `version: 1
targets:
  upper:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.src}", "{outputs.out}"]
    outputs: { out: "out/{item}.up" }
  count:
    step: ./steps/count.mjs
    inputs: { parts: { target: upper } }
    params: { suffix: "${suffix}" }
    outputs: { out: out/count.txt }
  final:
    inputs: { c: { target: count } }
    command: [node, -e, ${JSON.stringify(CONCAT)}, "{outputs.out}", "{inputs.c}"]
    outputs: { out: out/final.txt }
`;
}

describe('pipe build: freshness', () => {
  it('rebuilds exactly what changed, and nothing else', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('!'),
      'data/a.txt': 'abc',
      'data/b.txt': 'de',
      'steps/count.mjs': COUNT_STEP,
      'steps/letters.mjs': 'export const letters = (s) => String(s.replace(/[^A-Za-z]/g, "").length);\n',
    });

    // Initially stale: everything runs.
    let b = await ws.build(['final']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.ended).toEqual({ ran: ['count', 'final', 'upper[a]', 'upper[b]'] });
    expect(ws.read('out/final.txt')).toBe('final:5!');

    // No change: nothing runs.
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ 'up-to-date': ['count', 'final', 'upper[a]', 'upper[b]'] });

    // Content change: the task reading the file and its dependants run, the sibling does not.
    ws.write('data/a.txt', 'abcx');
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ ran: ['count', 'final', 'upper[a]'], 'up-to-date': ['upper[b]'] });
    expect(ws.read('out/final.txt')).toBe('final:6!');

    // mtime-only change: nothing runs, and `why` still names the build that made the product, and why.
    const madeBy = (await ws.run(['why', 'out/count.txt'])).stdout.match(/last ran in build (\S+): .*/)?.[0];
    expect(madeBy).toMatch(/^last ran in build \S+: input changed: out\/a\.up /);
    const later = new Date(Date.now() + 5_000);
    utimesSync(ws.path('data/b.txt'), later, later);
    utimesSync(ws.path('out/count.txt'), later, later);
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ 'up-to-date': ['count', 'final', 'upper[a]', 'upper[b]'] });
    expect((await ws.run(['why', 'out/count.txt'])).stdout).toContain(`  ${madeBy}\n`);

    // Rewritten in place with size and mtime restored (cp -p, rsync -a, touch -r): the ctime tells, its reader runs
    // (and writes the same upper-cased bytes, so the cascade stops there).
    const stamp = statSync(ws.path('data/b.txt'));
    writeFileSync(ws.path('data/b.txt'), 'DE');
    utimesSync(ws.path('data/b.txt'), stamp.atime, stamp.mtime);
    expect(statSync(ws.path('data/b.txt')).ino).toBe(stamp.ino);
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ ran: ['upper[b]'], 'up-to-date': ['count', 'final', 'upper[a]'] });
    // Back to the old bytes: that key's cache entry has the very bytes in the workspace, so nothing runs.
    ws.write('data/b.txt', 'de');
    utimesSync(ws.path('data/b.txt'), later, later);
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ 'up-to-date': ['count', 'final', 'upper[a]', 'upper[b]'] });

    // Param change: the step runs, and its dependant (its output changed).
    ws.write('pipe.yaml', pipeline('?'));
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ ran: ['count', 'final'], 'up-to-date': ['upper[a]', 'upper[b]'] });
    expect(ws.read('out/final.txt')).toBe('final:6?');

    // Step code change in a transitive import: the step runs; its output is identical, so the
    // cascade stops there (final stays up to date).
    ws.write(
      'steps/letters.mjs',
      'export const letters = (s) => String(s.replace(/[^a-zA-Z]/g, "").length); // tidier\n',
    );
    const plan = await ws.run(['plan', 'final']);
    expect(plan.stdout).toMatch(/run\s+count\n\s+step code changed: test.count/);
    expect(plan.stdout).toMatch(/maybe\s+final\n\s+runs if its upstream outputs change \(count\)/);
    // Behind a task that runs, a product gone from the workspace is said: it comes back whatever the upstream makes.
    const finalBytes = ws.read('out/final.txt');
    ws.remove('out/final.txt');
    const missing = await ws.run(['plan', 'final']);
    expect(missing.stdout).toMatch(
      /run\s+final\n\s+output missing: out\/final\.txt\n\s+after its upstream \(count\), unless the cache then holds its result/,
    );
    ws.write('out/final.txt', finalBytes);
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ ran: ['count'], 'up-to-date': ['final', 'upper[a]', 'upper[b]'] });

    // A deleted product comes back from the cache; nothing runs.
    ws.remove('out/count.txt');
    b = await ws.build(['final']);
    expect(b.ended).toEqual({ restored: ['count'], 'up-to-date': ['final', 'upper[a]', 'upper[b]'] });
    expect(ws.read('out/count.txt')).toBe('6?');

    // The provenance chain goes back to the raw inputs, and says why count last ran.
    const why = await ws.run(['why', 'out/final.txt']);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain('← data/a.txt (raw input');
    expect(why.stdout).toMatch(/count .*\n.*\n\s+last restored in build/);
    expect(why.stdout).not.toContain('now differs');
    // A copy of a product (what `pipe build --out DIR` leaves) is found by its content; it was "neither a product
    // nor a target built in this workspace".
    ws.write('copies/final.txt', ws.read('out/final.txt'));
    const copy = await ws.run(['why', 'copies/final.txt']);
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stdout).toMatch(
      /^copies\/final\.txt: a copy of out\/final\.txt \(same content\), made by:\nfinal /,
    );
    ws.write('copies/other.txt', 'not made here');
    const other = await ws.run(['why', 'copies/other.txt']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('no product built here has its content');
    // An edited product is shown as such, not as the recorded bytes.
    ws.write('out/count.txt', 'edited');
    const stale = await ws.run(['why', 'out/count.txt']);
    expect(stale.stdout).toMatch(
      /→ out\/count\.txt \(sha256 \w+\) — now differs .*a build that needs it restores it/,
    );
    ws.write('out/count.txt', '6?');
    // Gone, with its bytes evicted from the cache: recomputed, not restored, says why.
    const blob = JSON.parse((await ws.run(['why', 'out/count.txt', '--json'])).stdout)[0].outputs[0]
      .sha256 as string;
    const blobFile = ws.path(`.pipe/cache/cas/${blob.slice(0, 2)}/${blob}`);
    const bytes = readFileSync(blobFile);
    rmSync(blobFile, { force: true });
    ws.remove('out/count.txt');
    expect((await ws.run(['why', 'out/count.txt'])).stdout).toMatch(
      /now missing: its bytes are no longer in the local cache: a build that needs it recomputes it/,
    );
    writeFileSync(blobFile, bytes, { mode: 0o444 });
    ws.write('out/count.txt', '6?');

    // The builds are recorded, except the one that had nothing to do (a no-op build writes nothing).
    const log = await ws.run(['log', '--json']);
    expect(log.stdout.trim().split('\n')).toHaveLength(8);
    const status = JSON.parse((await ws.run(['status', '--json'])).stdout);
    expect(status).toMatchObject({
      status: 'succeeded',
      counts: { restored: 1, 'up-to-date': 3 },
      tasks: { count: { state: 'restored' } },
    });
  });

  it('--out copies the requested outputs (or says in one line why it cannot); an unknown target exits 2', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('!'),
      'data/a.txt': 'abc',
      'steps/count.mjs': COUNT_STEP,
      'steps/letters.mjs': 'export const letters = (s) => String(s.length);\n',
    });
    const out = ws.path('export');
    const b = await ws.build(['count'], ['--out', out]);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(ws.read('export/count.txt')).toBe('3!');
    // Under --json, what the folder got (and lost) is an event.
    expect(b.run.stdout.split('\n').find((l) => l.includes('"event":"out"'))).toBe(
      JSON.stringify({ event: 'out', dir: out, copied: [ws.path('export/count.txt')], removed: [] }),
    );
    // A folder where a product goes: one line, nothing replaced, no temporary left behind.
    ws.write('data/a.txt', 'abcd');
    mkdirSync(ws.path('export2/count.txt'), { recursive: true });
    const blocked = await ws.build(['count'], ['--out', ws.path('export2')]);
    expect(blocked.run.code).toBe(1);
    expect(blocked.run.stderr).toContain(`could not copy the products to ${ws.path('export2')} (EISDIR`);
    expect(blocked.run.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(ws.path('export2'))).toEqual(['count.txt']);
    // A file where the folder goes: refused before anything runs.
    ws.write('export3', 'a file');
    const file = await ws.run(['build', 'count', '--out', ws.path('export3')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(
      `pipe: --out ${ws.path('export3')}: a file is in the way of the folder (${ws.path('export3')})\n`,
    );
    // An empty --out is refused, not ignored.
    const empty = await ws.run(['build', 'count', '--out', '']);
    expect([empty.code, empty.stderr]).toEqual([
      2,
      'pipe: --out needs a folder to copy the products to (it was given an empty one)\n',
    ]);
    // A build that does not get to copy leaves no empty folder behind.
    const unloaded = await ws.run(['build', 'nosuch', '--out', ws.path('export4/sub')]);
    expect(unloaded.code).toBe(2);
    expect(ws.exists('export4')).toBe(false);
    const bad = await ws.run(['build', 'cuont']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("did you mean 'count'?");
  });

  it('--out never replaces a raw input, the pipeline or another product; the products own folder is a no-op', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1\ntargets:\n${upperTarget('up', 'build/a.txt')}${upperTarget('cfg', 'build/pipe.yaml')}${upperTarget('other', 'elsewhere/a.txt')}`,
      'data/a.txt': 'original',
    });
    const pipeYaml = ws.read('pipe.yaml');
    // Refused before the build (helper-123: the work ran, then the copy was refused).
    const intoData = await ws.run(['build', 'up', '--out', 'data']);
    expect(intoData.code).toBe(2);
    expect(intoData.stderr).toContain(
      `pipe: --out ${ws.path('data')}: build/a.txt would replace data/a.txt, input 'x' of up; nothing was built or copied`,
    );
    expect(ws.read('data/a.txt')).toBe('original');
    expect(ws.exists('build/a.txt')).toBe(false);
    const overPipeline = await ws.run(['build', 'cfg', '--out', '.']);
    expect(overPipeline.code).toBe(2);
    expect(overPipeline.stderr).toContain('build/pipe.yaml would replace pipe.yaml, the pipeline file');
    expect(ws.read('pipe.yaml')).toBe(pipeYaml);
    // Another task's product (built or not) is not replaced either.
    expect((await ws.run(['build', 'other'])).code).toBe(0);
    const overProduct = await ws.run(['build', 'up', '--out', 'elsewhere']);
    expect(overProduct.code).toBe(2);
    expect(overProduct.stderr).toContain("would replace elsewhere/a.txt, an output of target 'other'");
    expect(ws.read('elsewhere/a.txt')).toBe('ORIGINAL');
    // Into pipe's own folder: refused, by --dry-run too.
    for (const dry of [[], ['--dry-run']]) {
      const intoState = await ws.run(['build', 'up', '--out', '.pipe/x', ...dry]);
      expect(intoState.code).toBe(2);
      expect(intoState.stderr).toBe(
        `pipe: --out ${ws.path('.pipe/x')}: inside pipe's own folder (.pipe/); nothing was built or copied\n`,
      );
    }
    // The products' own folder: nothing to copy, nothing refused.
    const own = await ws.run(['build', 'up', '--out', 'build']);
    expect(own.code, own.stderr).toBe(0);
    expect(ws.read('build/a.txt')).toBe('ORIGINAL');
  });

  // Found by helper-128: a product the pipeline stopped declaring stayed in the --out folder from the build before,
  // so `pipe compare ref new` found it there and passed.
  it('--out drops what an earlier --out put there and this build does not make, and nothing else', async () => {
    const two = (outputs: string[]) =>
      `version: 1\ntargets:\n${outputs.map((o, i) => upperTarget(`t${i}`, `build/${o}`)).join('')}default: [${outputs.map((_, i) => `t${i}`).join(', ')}]\n`;
    const ws = new Workspace({ 'pipe.yaml': two(['a.txt', 'sub/b.txt']), 'data/a.txt': 'x' });
    const first = await ws.run(['build', '--out', 'new']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`copied 2 files to ${ws.path('new')}\n`);
    ws.write('new/notes.md', 'mine'); // a file of the user's, in the same folder
    ws.write('pipe.yaml', two(['a.txt']));
    const second = await ws.run(['build', '--out', 'new']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(
      `copied 1 file to ${ws.path('new')}; removed 1 that an earlier --out put there and this build does not make (sub/b.txt)\n`,
    );
    expect(readdirSync(ws.path('new')).sort()).toEqual(['.pipe-out.json', 'a.txt', 'notes.md']);
    expect(JSON.parse(ws.read('new/.pipe-out.json'))).toMatchObject({
      format: 'pipe-out',
      version: 1,
      files: ['a.txt'],
      copies: { 'a.txt': { target: 't0', size: 1 } },
    });
    // A copy edited since, and one another target or another workspace put there, are not removed by a later copy.
    const edited = new Workspace({ 'pipe.yaml': two(['a.txt', 'sub/b.txt']), 'data/a.txt': 'x' });
    expect((await edited.run(['build', '--out', 'mine'])).code).toBe(0);
    edited.write('mine/sub/b.txt', 'edited by hand');
    expect((await edited.run(['build', 't0', '--out', 'mine'])).stderr).not.toContain('removed');
    edited.write('pipe.yaml', two(['a.txt']));
    expect((await edited.run(['build', '--out', 'mine'])).stderr).not.toContain('removed');
    expect(edited.read('mine/sub/b.txt')).toBe('edited by hand');
    // A list edited to name files outside the folder, or the workspace's own, removes none of them.
    ws.write(
      'new/.pipe-out.json',
      JSON.stringify({
        format: 'pipe-out',
        version: 1,
        files: ['../data/a.txt', '../pipe.yaml', 'notes.md/..'],
      }),
    );
    const third = await ws.run(['build', '--out', 'new']);
    expect(third.code, third.stderr).toBe(0);
    expect([ws.read('data/a.txt'), ws.exists('pipe.yaml'), ws.read('new/notes.md')]).toEqual([
      'x',
      true,
      'mine',
    ]);
    // pipe compare does not take the list for a product.
    const compare = await ws.run(['compare', 'new', 'build']);
    expect(compare.stdout).not.toContain('.pipe-out.json');
  });

  // Found by helper-127: before a fan-out has run, the delivered products' common folder is not the one they end up
  // in, so a destination worked out then was wrong (a refusal of a copy that clashed with nothing).
  it('--out behind a fan-out over emitted items is checked once the products are known, not refused ahead', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  sel:
    step: ./steps/sel.mjs
    inputs: { runs: "runs/*.txt" }
    outputs: { list: build/sel.txt }
  each:
    foreach: { items: sel }
    command: [cp, "{item.files}", "{outputs.o}"]
    outputs: { o: "out/{item}.txt" }
  notes:
    inputs: { x: "data/sel.txt" }
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: { o: build/notes.txt }
`,
      'steps/sel.mjs': `import { writeFileSync } from 'node:fs';
import path from 'node:path';
export default { name: 'test.sel', version: '1', run(ctx) {
  writeFileSync(ctx.outputs.list, ctx.inputs.runs.join('\\n'));
  return { items: ctx.inputs.runs.map((f) => ({ id: path.basename(f, '.txt'), files: [f] })) };
} };
`,
      'runs/a.txt': 'a\n',
      'data/sel.txt': 'input\n',
    });
    // Before the fan-out, sel's list alone would have gone to data/sel.txt (an input of 'notes'); with the fan-out's
    // products, the common folder is the workspace: the copies are data/build/sel.txt and data/out/a.txt.
    const r = await ws.run(['build', 'sel', 'each', '--out', 'data']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('data/sel.txt')).toBe('input\n');
    expect(ws.read('data/out/a.txt')).toBe('a\n');
  });

  // Found by helper-110: a copy into a folder a foreach glob reads became a new item of the next build.
  it('--out never writes a file that a foreach or input glob would read', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  each:
    foreach: {glob: "runs/*.txt"}
    inputs: {x: "runs/{item}.txt"}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: "build/each/{item}.txt"}
  all:
    inputs: {x: {target: each}, notes: "notes/*"}
    command: [sh, -c, 'cat "$@" > {outputs.o}', sh, "{inputs.x}"]
    outputs: {o: build/all.txt}
`,
      'runs/a.txt': 'a\n',
      'notes/n.md': 'n\n',
    });
    const intoRuns = await ws.run(['build', 'all', '--out', 'runs']);
    expect(intoRuns.code).toBe(2);
    expect(intoRuns.stderr).toContain(
      `pipe: --out ${ws.path('runs')}: build/all.txt would replace runs/all.txt, a file the foreach glob of target 'each' would read (its glob matches it); nothing was built or copied`,
    );
    expect(ws.exists('runs/all.txt')).toBe(false);
    const intoNotes = await ws.run(['build', 'all', '--out', 'notes']);
    expect(intoNotes.code).toBe(2);
    expect(intoNotes.stderr).toContain(
      "would replace notes/all.txt, a file input 'notes' of target 'all' would read",
    );
    // Nothing was built by the refused ones, and nothing they named is read as data.
    expect((await ws.build(['all'])).ended).toEqual({ ran: ['all', 'each[a]'] });
    // A fan-out over a list reads only the listed items' files (found by helper-112: {item} stood for any name).
    ws.write(
      'pipe.yaml',
      `version: 1
targets:
  one:
    foreach: [a]
    inputs: {x: "runs/{item}.txt"}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: "build/{item}.txt"}
  b:
    inputs: {x: "notes/n.md"}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: "out/b.txt"}
  c:
    inputs: {x: "notes/a.txt"}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: "out/c.txt"}
`,
    );
    const besideList = await ws.run(['build', 'b', '--out', 'runs']);
    expect(besideList.code, besideList.stderr).toBe(0);
    expect(ws.read('runs/b.txt')).toBe('n\n');
    const overListed = await ws.run(['build', 'one', '--out', 'runs']);
    expect(overListed.code).toBe(2);
    expect(overListed.stderr).toContain("would replace runs/a.txt, input 'x' of one");
    // A path another target reads as it is (not through a glob) is said so.
    const literal = await ws.run(['build', 'one', '--out', 'notes']);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toContain("would replace notes/a.txt, a file input 'x' of target 'c' reads;");
  });

  // Found by an adversarial review: a full disk while the state was saved gave a stack trace (exit 70), and the
  // build was listed as interrupted. A folder where the fingerprint log goes fails its write the same way here.
  it('a state that cannot be saved fails the build in one line, recorded as failed; the next build recovers', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1\ntargets:\n${upperTarget('up', 'build/a.txt')}`,
      'data/a.txt': 'one',
    });
    expect((await ws.run(['build', 'up'])).code).toBe(0);
    rmSync(ws.path('.pipe/fingerprints.log'), { force: true });
    mkdirSync(ws.path('.pipe/fingerprints.log'));
    ws.write('data/a.txt', 'two');
    const failed = await ws.run(['build', 'up']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `pipe: could not save the workspace state in ${ws.path('.pipe')}: EISDIR`,
    );
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect(ws.read('build/a.txt')).toBe('TWO');
    expect((await ws.run(['log'])).stdout).toMatch(/failed\s+up\s+\(1 ran\)\n$/);
    rmSync(ws.path('.pipe/fingerprints.log'), { recursive: true });
    const next = await ws.run(['build', 'up']);
    expect(next.code, next.stderr).toBe(0);
    expect(ws.read('build/a.txt')).toBe('TWO');
  });

  it('a task whose last run failed is planned with that reason (and the build), not "no previous build"', async () => {
    const FAIL_UNLESS_FIXED =
      "const fs=require('fs');if(!fs.existsSync(process.argv[1]))process.exit(3);fs.writeFileSync(process.argv[2],'ok')";
    const ws = new Workspace({ 'pipe.yaml': '' });
    ws.write(
      'pipe.yaml',
      `version: 1
targets:
  flaky:
    command: [node, -e, ${JSON.stringify(FAIL_UNLESS_FIXED)}, ${JSON.stringify(ws.path('fixed'))}, "{outputs.out}"]
    outputs: { out: out/flaky.txt }
`,
    );
    const failed = await ws.build(['flaky']);
    expect(failed.run.code).toBe(1);
    const buildId = failed.end?.buildId;
    expect(typeof buildId).toBe('string');
    const plan = await ws.run(['plan', 'flaky', '--json']);
    const reasons = JSON.parse(plan.stdout.trim().split('\n')[0]!).tasks[0].reasons;
    expect(reasons).toEqual([
      { type: 'last-run-failed', build: buildId, at: expect.any(String), error: 'exited with status 3' },
    ]);
    const text = await ws.run(['plan', 'flaky']);
    expect(text.stdout).toContain(`its last run failed (build ${buildId} at `);
    expect(text.stdout).not.toContain('no previous build');
    ws.write('fixed', '');
    const fixed = await ws.build(['flaky']);
    expect(fixed.ended).toEqual({ ran: ['flaky'] });
    expect((await ws.run(['plan', 'flaky'])).stdout).not.toContain('its last run failed');
  });

  it('keeps nothing of a task whose input changed while it ran, and reruns it on the new content', async () => {
    // The command edits its own input after reading it, as an editor saving the file mid-build would: the output
    // (old bytes) must not be recorded or cached, or restoring the old content later would serve the wrong product.
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  copy:
    inputs: {i: in.txt}
    command: [python3, -c, "import sys; d = open(sys.argv[1]).read(); open(sys.argv[1], 'a').write('+'); open(sys.argv[2], 'w').write(d)", "{inputs.i}", "{outputs.o}"]
    outputs: {o: out.txt}
`,
      'in.txt': 'A',
    });
    const first = await ws.run(['build', 'copy']);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(
      "copy: input 'i' (in.txt) changed during the build, after the task's key was computed, so its outputs may not match the input it was keyed on: they were not kept; build again",
    );
    expect(ws.exists('out.txt')).toBe(false);
    expect((await ws.run(['cache', 'stats', '--json'])).stdout).toMatch(/"manifests":0,"blobs":0,/);
    expect(ws.read('in.txt')).toBe('A+');
    // The next build reads 'A+' (and appends again): the same refusal, never an up-to-date 'A'.
    ws.write('in.txt', 'A');
    const second = await ws.run(['build', 'copy']);
    expect(second.code).toBe(1);
    expect(second.stderr).not.toContain('up-to-date');
  });

  it('keeps nothing of a task whose upstream product was written over while it ran; the next build restores it and reruns', async () => {
    // The downstream command writes over the product it read (as a hand edit, or a program the upstream task left
    // running, would): its output was made from bytes its key does not name.
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  up:
    command: [sh, -c, 'echo AAA > "$1"', sh, "{outputs.o}"]
    outputs: {o: products/up.txt}
  down:
    inputs: {i: {target: up}}
    command: [sh, -c, 'echo EDITED > "$1"; cat "$1" > "$2"', sh, "{inputs.i}", "{outputs.o}"]
    outputs: {o: products/down.txt}
`,
    });
    const first = await ws.run(['build', 'down']);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("down: input 'i' (products/up.txt) changed during the build");
    expect(ws.exists('products/down.txt')).toBe(false);
    // up's product is not as recorded: restored from the cache, and down runs on it (and fails again the same way).
    const second = await ws.run(['build', 'down']);
    expect(second.stderr).toMatch(
      /restored\s+up from cache — output modified in the workspace: products\/up\.txt/,
    );
    expect(second.code).toBe(1);
  });

  it('keeps nothing of a step task whose code was edited while the build ran (a module it imports when it runs)', async () => {
    const ws = new Workspace({
      // up stands for the edit: it saves the step's helper after the keys were computed, before s runs.
      'pipe.yaml': `version: 1
targets:
  up:
    command: [node, edit.mjs, "{outputs.o}"]
    outputs: {o: products/up.txt}
  s:
    step: ./steps/s.mjs
    inputs: {u: {target: up}}
    outputs: {o: products/s.txt}
`,
      'edit.mjs': `import fs from 'node:fs';
fs.writeFileSync('steps/lib/dyn.mjs', "export const v = 'v2';");
fs.writeFileSync(process.argv[2], 'u');
`,
      'steps/lib/dyn.mjs': "export const v = 'v1';",
      'steps/s.mjs': `import fs from 'node:fs';
export default { name: 's', version: '1', async run(ctx) {
  const { v } = await import('./lib/dyn.mjs');
  fs.writeFileSync(ctx.outputs.o, 'made by ' + v);
} };
`,
    });
    const first = await ws.run(['build', 's']);
    expect(first.code, first.stderr).toBe(1);
    // The file that changed, not the step that imports it (found by helper-155: the step was named).
    expect(first.stderr).toContain(
      "s: the code of its step (steps/lib/dyn.mjs) changed during the build, after the task's key was computed",
    );
    expect(ws.exists('products/s.txt')).toBe(false);
    // Under the new code's key, run again: what the product says is what made it.
    const second = await ws.run(['build', 's']);
    expect(second.code, second.stderr).toBe(0);
    expect(ws.read('products/s.txt')).toBe('made by v2');
  });

  it('pipe log shows the --param values a build ran with, quoted as a shell reads them back', async () => {
    const ws = new Workspace({
      'pipe.yaml': pipeline('!'),
      'data/a.txt': 'abc',
      'steps/count.mjs': COUNT_STEP,
      'steps/letters.mjs': 'export const letters = (s) => String(s.length);\n',
    });
    expect((await ws.run(['build', 'count', '--param', 'count.suffix=two words'])).code).toBe(0);
    expect((await ws.run(['build', 'count', '--param', 'count.suffix=?'])).code).toBe(0);
    const lines = (await ws.run(['log'])).stdout.trim().split('\n');
    expect(lines.at(-2)).toMatch(/succeeded\s+count --param 'count\.suffix=two words'\s/);
    expect(lines.at(-1)).toMatch(/succeeded\s+count --param 'count\.suffix=\?'\s/);
    const json = JSON.parse((await ws.run(['log', '--json'])).stdout.trim().split('\n').at(-1)!);
    expect(json.params).toEqual({ 'count.suffix': '?' });
  });

  it("a command that hard-links its input builds: a new link changes the input's ctime, not its content", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  link:
    inputs: {i: in.txt}
    command: [ln, "{inputs.i}", "{outputs.o}"]
    outputs: {o: out/linked.txt}
`,
      'in.txt': 'A',
    });
    const r = await ws.run(['build', 'link']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('out/linked.txt')).toBe('A');
  });
});

/**
 * `pipe watch`, narrated through its --json event stream (no sleeps: every step waits for the
 * watch's own events): initial build → a parameter change runs exactly its dependants → a touch
 * runs nothing → broken YAML is a diagnostic and watching goes on → the fix rebuilds → a step's
 * helper edit reruns that step → a deleted input is seen, and so is its re-creation → an editor's
 * atomic save (temp file + rename, swap file beside it) is one change, the swap file none.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, renameSync, symlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { holdLock, Workspace } from './rig.js';
import { WatchProcess } from './watch-rig.js';

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
  },
};
`;

const PIPELINE = `version: 1
config: params.yaml
targets:
  upper:
    foreach: { glob: "data/*.txt" }
    inputs: { src: "data/{item}.txt" }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.src}", "{outputs.out}"]
    outputs: { out: "out/{item}.up" }
  count:
    step: ./steps/count.mjs
    inputs: { parts: { target: upper } }
    params: { suffix: "\${config.suffix}" }
    outputs: { out: out/count.txt }
  final:
    inputs: { c: { target: count } }
    command: [node, -e, ${JSON.stringify(CONCAT)}, "{outputs.out}", "{inputs.c}"]
    outputs: { out: out/final.txt }
`;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let watcher: WatchProcess | undefined;
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
});

describe('pipe watch', () => {
  it('rebuilds exactly what each edit touches, survives bad edits, and ignores non-changes', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'params.yaml': 'suffix: "!"\n',
      'data/a.txt': 'abc',
      'data/b.txt': 'de',
      'steps/count.mjs': COUNT_STEP,
      'steps/letters.mjs': 'export const letters = (s) => String(s.replace(/[^A-Za-z]/g, "").length);\n',
    });
    const w = WatchProcess.start(ws, ['final', '-j', '2']);
    watcher = w;

    // Initially everything runs; then the watcher is armed.
    let end = await w.initialBuild();
    expect(end.status).toBe('succeeded');
    expect(end.ran).toEqual(['count', 'final', 'upper[a]', 'upper[b]']);
    expect(end.products).toEqual([ws.path('out/final.txt')]);
    await w.event('watch-start');
    expect(ws.read('out/final.txt')).toBe('final:5!');

    // A parameter change: exactly the tasks that depend on it.
    await w.event('idle');
    ws.write('params.yaml', 'suffix: "?"\n');
    const change = await w.event('change');
    expect(change.paths).toEqual([ws.path('params.yaml')]);
    expect(change.kinds).toEqual(['config']);
    end = await w.buildEnd();
    expect(end.ran).toEqual(['count', 'final']);
    expect(ws.read('out/final.txt')).toBe('final:5?');

    // A touch without a content change: nothing runs, not even a build.
    await w.event('idle');
    let from = w.mark();
    const later = new Date(Date.now() + 5000);
    utimesSync(ws.path('params.yaml'), later, later);
    const unchanged = await w.event('unchanged');
    expect(unchanged.paths).toEqual([ws.path('params.yaml')]);
    await w.event('idle');
    expect(w.between(from).map((e) => e.event)).not.toContain('build-start');

    // Broken YAML: a diagnostic with the place, and watch goes on.
    ws.write('pipe.yaml', `${PIPELINE}  broken: [\n`);
    const diag = await w.next((e) => e.event === 'diagnostics', 'diagnostics');
    expect(diag.source).toBe('pipeline');
    expect(String(diag.message)).toMatch(/pipe\.yaml:\d+:\d+/);
    // One by one too, with the place as fields (an editor reading --json need not parse the text).
    const [first] = diag.diagnostics as Array<Record<string, unknown>>;
    expect(first).toMatchObject({ severity: 'error', file: ws.path('pipe.yaml') });
    expect(first!.line).toEqual(expect.any(Number));
    expect(first!.col).toEqual(expect.any(Number));
    await w.event('idle');
    expect(w.alive).toBe(true);

    // The fix rebuilds (a changed command reruns only its task).
    ws.write('pipe.yaml', PIPELINE.replace("'final:'", "'FINAL:'"));
    end = await w.buildEnd();
    expect(end.status).toBe('succeeded');
    expect(end.ran).toEqual(['final']);
    expect(ws.read('out/final.txt')).toBe('FINAL:5?');

    // A step's helper module is part of the step's code: the step reruns.
    await w.event('idle');
    ws.write('steps/letters.mjs', 'export const letters = (s) => String(s.length * 10);\n');
    expect((await w.event('change')).kinds).toEqual(['step']);
    end = await w.buildEnd();
    expect(end.ran).toEqual(['count', 'final']);
    expect(ws.read('out/final.txt')).toBe('FINAL:50?');

    // Deleting an input is seen; so is creating it again.
    await w.event('idle');
    ws.remove('data/b.txt');
    expect((await w.event('change')).paths).toEqual([ws.path('data/b.txt')]);
    end = await w.buildEnd();
    expect(end.ran).toEqual(['count', 'final']);
    expect(ws.read('out/final.txt')).toBe('FINAL:30?');
    await w.event('idle');
    ws.write('data/b.txt', 'xyzw');
    expect((await w.event('change')).paths).toEqual([ws.path('data/b.txt')]);
    end = await w.buildEnd();
    expect(end.ran).toEqual(['count', 'final', 'upper[b]']);
    expect(ws.read('out/final.txt')).toBe('FINAL:70?');

    // An editor's save: swap file, write to a temp name, rename over the original → one change.
    await w.event('idle');
    from = w.mark();
    ws.write('.params.yaml.swp', 'swap');
    ws.write('params.yaml.tmp', 'suffix: "#"\n');
    renameSync(ws.path('params.yaml.tmp'), ws.path('params.yaml'));
    const saved = await w.event('change');
    expect(saved.paths).toEqual([ws.path('params.yaml')]);
    end = await w.buildEnd();
    expect(end.ran).toEqual(['count', 'final']);
    await w.event('idle');
    expect(w.between(from).filter((e) => e.event === 'build-start')).toHaveLength(1);
    expect(ws.read('out/final.txt')).toBe('FINAL:70#');

    expect(await w.stop()).toBe(0);
  }, 240_000);

  it('a fixed input deleted (the session cannot open) is still watched: putting it back rebuilds', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  copy:
    inputs: { mask: data/mask.txt }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.mask}", "{outputs.out}"]
    outputs: { out: out/mask.up }
`,
      'data/mask.txt': 'mask',
    });
    const w = WatchProcess.start(ws, ['copy']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('watch-start');
    await w.event('idle');
    ws.remove('data/mask.txt');
    const diag = await w.next((e) => e.event === 'diagnostics', 'the missing input');
    expect(String(diag.message)).toContain("file 'data/mask.txt' does not exist");
    await w.event('idle');
    ws.write('data/mask.txt', 'MASK2');
    const back = await w.event('change');
    expect(back.paths).toEqual([ws.path('data/mask.txt')]);
    const end = await w.buildEnd();
    expect(end.status).toBe('succeeded');
    expect(end.ran).toEqual(['copy']);
    expect(ws.read('out/mask.up')).toBe('MASK2');
    expect(await w.stop()).toBe(0);
  }, 120_000);

  it('Ctrl-C during a build interrupts it and exits 130 (0 when idle), without announcing a watch', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  slow:
    command: [sh, -c, 'echo started > out.started; sleep 30; echo done > "$0"', "{outputs.out}"]
    outputs: { out: out/slow.txt }
`,
    });
    const w = WatchProcess.start(ws, ['slow']);
    watcher = w;
    await w.next((e) => e.event === 'task-start', 'the task to start');
    for (let i = 0; i < 100 && !ws.exists('out.started'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await w.stop()).toBe(130);
    expect(w.events.map((e) => e.event)).not.toContain('watch-start');
    expect(ws.exists('out/slow.txt')).toBe(false);
    // SIGTERM and SIGHUP stop it as they stop pipe build: 143 and 129.
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      ws.remove('out.started');
      const again = WatchProcess.start(ws, ['slow']);
      watcher = again;
      await again.next((e) => e.event === 'task-start', 'the task to start');
      for (let i = 0; i < 100 && !ws.exists('out.started'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await again.stop(signal), signal).toBe(code);
    }
  }, 60_000);

  it("keeps to its pipe.yaml while it is gone for a moment, not a parent folder's", async () => {
    const parent = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  up:\n    inputs: {src: a.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'a.txt': 'parent\n',
      'sub/pipe.yaml':
        'version: 1\ntargets:\n  up:\n    inputs: {src: a.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'sub/a.txt': 'sub\n',
    });
    const w = new WatchProcess(parent.spawnIn('sub', ['watch', 'up', '--json']));
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    renameSync(parent.path('sub/pipe.yaml'), parent.path('sub/p.moved'));
    await w.next((e) => e.event === 'diagnostics', 'the missing pipeline file');
    await w.event('idle');
    renameSync(parent.path('sub/p.moved'), parent.path('sub/pipe.yaml'));
    await w.event('idle');
    parent.write('sub/a.txt', 'sub2\n');
    const end = await w.buildEnd();
    expect(end.ran).toEqual(['up']);
    expect(parent.read('sub/out.txt')).toBe('sub2\n');
    expect(parent.exists('out.txt')).toBe(false);
    expect(await w.stop()).toBe(0);
  }, 120_000);

  it("a deleted product is restored (from the cache); the builds' own writes set nothing off", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  copy:
    inputs: { src: data/a.txt }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.src}", "{outputs.out}"]
    outputs: { out: out/a.up }
`,
      'data/a.txt': 'abc',
    });
    const w = WatchProcess.start(ws, ['copy']);
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['copy']);
    await w.event('watch-start');
    await w.event('idle');
    const from = w.mark();
    ws.remove('out/a.up');
    const gone = await w.event('change');
    expect(gone.paths).toEqual([ws.path('out/a.up')]);
    expect(gone.kinds).toEqual(['product']);
    const end = await w.buildEnd();
    expect(end.ran).toEqual([]);
    expect(ws.read('out/a.up')).toBe('ABC');
    // Its event as pipe build --json gives it: with the build that made the product (found by helper-155: not there).
    const restored = w.between(from).find((e) => e.event === 'task-end' && e.state === 'restored');
    expect(restored?.['madeIn']).toMatchObject({
      build: w.events.find((e) => e.event === 'build-end')?.buildId,
    });
    await w.event('idle');
    // The restore wrote the product: that is no change (one build in all).
    expect(w.between(from).filter((e) => e.event === 'build-start')).toHaveLength(1);
    // An input edit reruns the task; its write of the product sets off nothing more either.
    ws.write('data/a.txt', 'xyz');
    expect((await w.buildEnd()).ran).toEqual(['copy']);
    await w.event('idle');
    expect(ws.read('out/a.up')).toBe('XYZ');
    expect(w.between(from).filter((e) => e.event === 'build-start')).toHaveLength(2);
    // The products' whole folder deleted: restored too, in one build.
    ws.remove('out');
    expect((await w.buildEnd()).ran).toEqual([]);
    await w.event('idle');
    expect(ws.read('out/a.up')).toBe('XYZ');
    expect(w.between(from).filter((e) => e.event === 'build-start')).toHaveLength(3);
    expect(await w.stop()).toBe(0);
  }, 120_000);

  /**
   * The moment between the first build and the watcher's arming (the first build's files are watched only once it
   * has run): `copy` reads data/a.txt, and `then`, ordered after it (needs:), runs `js` as it ends — the same moment,
   * every time.
   */
  const afterFirstCopy = (js: string) =>
    new Workspace({
      'pipe.yaml': `version: 1
targets:
  copy:
    inputs: { src: data/a.txt }
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.src}", "{outputs.out}"]
    outputs: { out: out/a.up }
  then:
    needs: [copy]
    command: [node, -e, ${JSON.stringify(`const fs=require('fs');${js};fs.writeFileSync(process.argv[1],'done')`)}, "{outputs.out}"]
    outputs: { out: out/done.txt }
`,
      'data/a.txt': 'abc',
    });

  // Found by helper-142: a product deleted just after the first build (`rm` as soon as `pipe watch` printed it) and
  // before the watcher was armed gave no event, and the baseline taken then held it as missing: it stayed missing
  // while the watch said it was watching.
  it('a product deleted after the first build, before the watcher was armed, is restored', async () => {
    const ws = afterFirstCopy("fs.rmSync('out/a.up')");
    const w = WatchProcess.start(ws, ['copy', 'then']);
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['copy', 'then']);
    const gone = await w.event('change');
    expect(gone.paths).toEqual([ws.path('out/a.up')]);
    expect(gone.kinds).toEqual(['product']);
    expect((await w.buildEnd()).ran).toEqual([]);
    expect(ws.read('out/a.up')).toBe('ABC');
    expect(await w.stop()).toBe(0);
  }, 120_000);

  // The same moment for an input: edited after the first build read it and before the watcher was armed, it gave no
  // event, and the baseline taken at arming held the edit, so the watch sat on a product of the old bytes until the
  // file changed again.
  it('an input edited after the first build read it, before the watcher was armed, is built', async () => {
    const ws = afterFirstCopy("fs.writeFileSync('data/a.txt','xyz')");
    const w = WatchProcess.start(ws, ['copy', 'then']);
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['copy', 'then']);
    expect(ws.read('out/a.up')).toBe('ABC');
    const edited = await w.event('change');
    expect(edited.paths).toEqual([ws.path('data/a.txt')]);
    expect(edited.kinds).toEqual(['data']);
    expect((await w.buildEnd()).ran).toEqual(['copy']);
    expect(ws.read('out/a.up')).toBe('XYZ');
    expect(await w.stop()).toBe(0);
  }, 120_000);

  it('compiles an edited TypeScript step: a type error is a diagnostic, the fix rebuilds', async () => {
    const STEP = (expr: string) => `import { writeFileSync } from 'node:fs';
export default {
  name: 'test.ts-step',
  version: '1',
  run(ctx: { outputs: Record<string, string> }): void {
    const value: number = ${expr};
    writeFileSync(ctx.outputs.out, String(value));
  },
};
`;
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    step: ./stepkg/dist/step.js
    inputs: { src: in.txt }
    outputs: { out: out/t.txt }
`,
      'in.txt': '1',
      'stepkg/package.json': '{ "type": "module" }\n',
      'stepkg/tsconfig.json': JSON.stringify({
        compilerOptions: {
          rootDir: 'src',
          outDir: 'dist',
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          types: ['node'],
        },
        include: ['src'],
      }),
      'stepkg/src/step.ts': STEP('1 + 1'),
    });
    // The step package compiles with the repository's TypeScript and Node types.
    symlinkSync(path.join(REPO, 'node_modules'), ws.path('stepkg/node_modules'));
    const tsc = spawnSync(
      process.execPath,
      [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-b', ws.path('stepkg')],
      { encoding: 'utf8' },
    );
    expect(tsc.status, tsc.stdout).toBe(0);

    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['t']);
    expect(ws.read('out/t.txt')).toBe('2');
    await w.event('idle');

    ws.write('stepkg/src/step.ts', STEP('"not a number"'));
    expect((await w.event('change')).kinds).toEqual(['step']);
    const diag = await w.next((e) => e.event === 'diagnostics', 'step diagnostics');
    expect(diag.source).toBe('step-compile');
    // At file:line:col, as pipe's other diagnostics (found by helper-155: tsc's own `src/step.ts(6,11)`).
    expect(String(diag.message)).toContain(`${ws.path('stepkg/src/step.ts')}:6:11: error TS2322`);
    await w.event('idle');
    expect(w.alive).toBe(true);

    ws.write('stepkg/src/step.ts', STEP('6 * 7'));
    await w.event('step-compiled');
    const from = w.mark();
    expect((await w.buildEnd()).ran).toEqual(['t']);
    expect(ws.read('out/t.txt')).toBe('42');

    // The compile's own writes of dist/ are no edit (found by helper-155: each save built twice, the second time
    // finding nothing to run). An input edited now is the next change, and the only one.
    await w.event('idle');
    ws.write('in.txt', '2');
    expect((await w.buildEnd()).ran).toEqual(['t']);
    const changes = w.events.slice(from).filter((e) => e.event === 'change');
    expect(changes.map((e) => e.paths)).toEqual([[ws.path('in.txt')]]);
  }, 180_000);

  it('polls when asked (--poll), with the same results', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'params.yaml': 'suffix: "!"\n',
      'data/a.txt': 'abc',
      'steps/count.mjs': COUNT_STEP,
      'steps/letters.mjs': 'export const letters = (s) => String(s.length);\n',
    });
    const w = WatchProcess.start(ws, ['final', '--poll']);
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['count', 'final', 'upper[a]']);
    expect(await w.event('watch-start')).toMatchObject({ polling: true });
    await w.event('idle');
    ws.write('params.yaml', 'suffix: "?"\n');
    expect((await w.event('change')).paths).toEqual([ws.path('params.yaml')]);
    expect((await w.buildEnd()).ran).toEqual(['count', 'final']);
    expect(ws.read('out/final.txt')).toBe('final:3?');
  }, 120_000);

  it('runs the tasks of a pipeline meant for Slurm on this machine, and says so once', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
defaults:
  executor: slurm
  resources: {mem: 4G, partition: long}
targets:
  upper:
    foreach: [a, b]
    command: [node, -e, ${JSON.stringify(UPPER)}, "{inputs.src}", "{outputs.out}"]
    inputs: { src: "data/{item}.txt" }
    outputs: { out: "out/{item}.up" }
  final:
    executor: slurm
    inputs: { c: { target: upper, output: out } }
    command: [node, -e, ${JSON.stringify(CONCAT)}, "{outputs.out}", "{inputs.c}"]
    outputs: { out: out/final.txt }
`,
      'data/a.txt': 'abc',
      'data/b.txt': 'de',
    });
    const w = WatchProcess.start(ws, ['final'], { SLURM_CONF: '/nonexistent/slurm.conf' });
    watcher = w;
    const end = await w.initialBuild();
    expect(end.status).toBe('succeeded');
    expect(end.ran).toEqual(['final', 'upper[a]', 'upper[b]']);
    expect(ws.read('out/final.txt')).toBe('final:ABC');
    const notes = w.events.filter((e) => e.event === 'note').map((e) => String(e.message));
    expect(notes).toEqual([
      'pipe watch runs every task on this machine: final, upper run here, not on Slurm (pipe build submits them)',
    ]);
    await w.event('watch-start');
    ws.write('data/b.txt', 'xyz');
    expect((await w.buildEnd()).ran).toEqual(['final', 'upper[b]']);
    // Said once per watch, not per rebuild.
    expect(w.events.filter((e) => e.event === 'note')).toHaveLength(1);
  });
});

describe('pipe watch: step code edits', () => {
  const stepWith = (tag: string, factor: number) =>
    `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'tagged',
  version: '1',
  validateParams: (p) => ({ ok: true, value: { n: Number(p.n) * ${factor} } }),
  run(ctx) {
    writeFileSync(ctx.outputs.out, '${tag}:' + ctx.params.n + ':' + readFileSync(ctx.inputs.src[0], 'utf8'));
  },
};
`;
  const pipeline = (version = '1') =>
    `version: ${version}\ntargets:\n  t:\n    step: ./steps/t.mjs\n    params: {n: 2}\n    inputs: {src: in.txt}\n    outputs: {out: out.txt}\n`;

  it('an edit saved while the pipeline does not load runs once it loads again, not the old code', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline(), 'in.txt': 'x', 'steps/t.mjs': stepWith('OLD', 1) });
    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    expect(ws.read('out.txt')).toBe('OLD:2:x');
    ws.write('pipe.yaml', pipeline('1:'));
    await w.next((e) => e.event === 'diagnostics', 'the broken pipeline');
    await w.event('idle');
    ws.write('steps/t.mjs', stepWith('NEW', 1));
    await w.event('idle');
    ws.write('pipe.yaml', pipeline());
    const end = await w.buildEnd();
    expect(end.ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('NEW:2:x');
    expect(await w.stop()).toBe(0);
  }, 120_000);

  it("an edit of a step's validateParams is what checks the params next (the main thread imports it again)", async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline(), 'in.txt': 'x', 'steps/t.mjs': stepWith('S', 1) });
    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    ws.write('steps/t.mjs', stepWith('S', 60));
    const end = await w.buildEnd();
    expect(end.ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('S:120:x');
    expect(await w.stop()).toBe(0);
  }, 120_000);

  // Found by helper-155: a helper that normalises params, edited, left the main thread on its first import: the key
  // and `pipe why` held the old normalisation, and a fresh `pipe plan` wanted to run the task again.
  it('an edit of a module validateParams imports is what checks the params next', async () => {
    const helper = (factor: number) => `export const scale = (n) => Number(n) * ${factor};\n`;
    const ws = new Workspace({
      'pipe.yaml': pipeline(),
      'in.txt': 'x',
      'steps/t.mjs': stepWith('H', 1)
        .replace(
          'validateParams: (p) => ({ ok: true, value: { n: Number(p.n) * 1 } }),',
          'validateParams: (p) => ({ ok: true, value: { n: scale(p.n) } }),',
        )
        .replace("from 'node:fs';", "from 'node:fs';\nimport { scale } from './lib/scale.mjs';"),
      'steps/lib/scale.mjs': helper(1),
    });
    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    expect(ws.read('out.txt')).toBe('H:2:x');
    await w.event('idle');
    ws.write('steps/lib/scale.mjs', helper(30));
    const end = await w.buildEnd();
    expect(end.ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('H:60:x');
    // Edited again: the new text, not the first reload's.
    ws.write('steps/lib/scale.mjs', helper(500));
    expect((await w.buildEnd()).ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('H:1000:x');
    expect(await w.stop()).toBe(0);
    // A fresh process agrees: nothing to run.
    const plan = await ws.build(['t']);
    expect(plan.ended['up-to-date']).toEqual(['t']);
  }, 120_000);

  // Found by helper-155: node keeps CommonJS modules by file name, so neither the step (tsc's CommonJS output) nor a
  // helper it requires was imported again: validateParams stayed the first one.
  it('a CommonJS step and the helper it requires are imported again when edited', async () => {
    const step = (extra: number) => `const { readFileSync, writeFileSync } = require('node:fs');
const { scale } = require('./scale.cjs');
module.exports = {
  name: 'cjs',
  version: '1',
  validateParams: (p) => ({ ok: true, value: { n: scale(p.n) + ${extra} } }),
  run(ctx) { writeFileSync(ctx.outputs.out, 'C:' + ctx.params.n + ':' + readFileSync(ctx.inputs.src[0], 'utf8')); },
};
`;
    const helper = (factor: number) => `exports.scale = (n) => Number(n) * ${factor};\n`;
    const ws = new Workspace({
      'pipe.yaml': pipeline().replace('./steps/t.mjs', './steps/t.cjs'),
      'in.txt': 'x',
      'steps/t.cjs': step(0),
      'steps/scale.cjs': helper(1),
    });
    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    expect(ws.read('out.txt')).toBe('C:2:x');
    await w.event('idle');
    ws.write('steps/scale.cjs', helper(30));
    expect((await w.buildEnd()).ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('C:60:x');
    ws.write('steps/t.cjs', step(1000));
    expect((await w.buildEnd()).ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('C:1060:x');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: a file of a foreach glob deleted', () => {
  it("removes that task's output and says so, as pipe build does", async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  each:\n    foreach: {glob: "data/*.txt"}\n    inputs: {src: "data/{item}.txt"}\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    outputs: {out: "out/{item}.txt"}\n',
      'data/a.txt': 'a',
      'data/b.txt': 'b',
    });
    const w = WatchProcess.start(ws, ['each']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    ws.remove('data/b.txt');
    const note = await w.next(
      (e) =>
        e.event === 'note' &&
        String(e.message).startsWith('removed 1 output of tasks no longer in the pipeline'),
      'the retired output',
    );
    expect(String(note.message)).toContain('out/b.txt');
    expect(ws.exists('out/b.txt')).toBe(false);
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch started on a broken pipeline', () => {
  it('sees the fix: a config typo, an input not there yet, a foreach glob that matches nothing yet', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\nconfig: params.yaml\ntargets:\n  copy:\n    inputs: {src: data/in.txt}\n    params: {n: "${config.n}"}\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    outputs: {out: out/copy.txt}\n  each:\n    foreach: {glob: "runs/*.txt"}\n    inputs: {src: "runs/{item}.txt"}\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    outputs: {out: "out/each/{item}.txt"}\n',
      'params.yaml': 'n: [1\n',
    });
    const w = WatchProcess.start(ws, ['copy', 'each']);
    watcher = w;
    await w.next((e) => e.event === 'diagnostics', 'the config typo');
    await w.event('idle');
    ws.write('params.yaml', 'n: 1\n');
    await w.next(
      (e) => e.event === 'diagnostics' && String(e.message).includes('data/in.txt'),
      'the missing input',
    );
    await w.event('idle');
    ws.write('data/in.txt', 'in');
    ws.write('runs/r1.txt', 'r1');
    const end = await w.buildEnd();
    expect(end.status).toBe('succeeded');
    expect(ws.read('out/copy.txt')).toBe('in');
    expect(ws.read('out/each/r1.txt')).toBe('r1');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch with no target, started on a pipeline that does not load', () => {
  it('watches the default its YAML declares, and builds it once fixed (no default: exit 2, as before)', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: copy\ntargets:\n  copy:\n    inputs: {src: a.txt}\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    outputs: {out: out/a.txt}\n    bogus: 1\n',
      'a.txt': 'a1',
    });
    const w = WatchProcess.start(ws, []);
    watcher = w;
    await w.next((e) => e.event === 'diagnostics' && String(e.message).includes('bogus'), 'the unknown key');
    await w.event('idle');
    ws.write('pipe.yaml', ws.read('pipe.yaml').replace('    bogus: 1\n', ''));
    const end = await w.buildEnd();
    expect(end.status).toBe('succeeded');
    expect(ws.read('out/a.txt')).toBe('a1');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch while another build holds the lock', () => {
  it('waits for it, says so, and builds the change once the lock is free', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  copy:\n    inputs: {src: a.txt}\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    outputs: {out: out/a.txt}\n',
      'a.txt': 'a1',
    });
    const w = WatchProcess.start(ws, ['copy']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    // A live build of this host holds the lock (a process of its own: see holdLock).
    const holder = holdLock(ws, 'other-build');
    onTestFinished(() => {
      holder.kill('SIGKILL');
    });
    ws.write('a.txt', 'a2');
    const note = await w.next(
      (e) => e.event === 'note' && String(e.message).startsWith('waiting for build'),
      'the wait',
    );
    expect(String(note.message)).toContain('waiting for build other-build');
    ws.remove('.pipe/lock');
    const end = await w.buildEnd();
    expect(end.status).toBe('succeeded');
    expect(ws.read('out/a.txt')).toBe('a2');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: an input folder deleted and made again at once', () => {
  it('still hears the edits in the new folder (rm -rf data && cp -r backup data)', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  up:\n    inputs: {src: data/sub/x.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'data/sub/x.txt': 'v1',
    });
    const w = WatchProcess.start(ws, ['up']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    cpSync(ws.path('data'), ws.path('backup'), { recursive: true });
    ws.remove('data');
    cpSync(ws.path('backup'), ws.path('data'), { recursive: true });
    // The watcher looks at its folders' identity every 2 s: give it that, then edit.
    await new Promise((r) => setTimeout(r, 3000));
    ws.write('data/sub/x.txt', 'v2');
    // (The folder's replacement may have set off a build of its own, which ran nothing: same bytes.)
    await w.next(
      (e) => e.event === 'build-end' && JSON.stringify(e.ran) === '["up"]',
      'the rebuild after the edit',
    );
    expect(ws.read('out.txt')).toBe('v2');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: the folder above an input folder moved away', () => {
  // Found by helper-146: `mv data elsewhere` (a data disk unmounted, a folder renamed) moves the watched folder
  // data/sub with it; inotify says nothing of it, and watch went on as if the inputs were there.
  it('says the inputs are gone, and builds again when they come back', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  up:\n    inputs: {src: data/sub/x.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'data/sub/x.txt': 'v1',
    });
    const w = WatchProcess.start(ws, ['up']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    renameSync(ws.path('data'), ws.path('moved'));
    const gone = await w.next((e) => e.event === 'diagnostics', 'the missing input', 15_000);
    expect(String(gone.message)).toContain('data/sub/x.txt');
    ws.write('moved/sub/x.txt', 'v2');
    renameSync(ws.path('moved'), ws.path('data'));
    const back = await w.next(
      (e) => e.event === 'build-end' && JSON.stringify(e.ran) === '["up"]',
      'the rebuild once the folder is back',
      15_000,
    );
    expect(back.status).toBe('succeeded');
    expect(ws.read('out.txt')).toBe('v2');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: an input folder moved away and back unchanged', () => {
  it('runs one build that finds nothing to run, not two', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  up:\n    inputs: {src: data/sub/x.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'data/sub/x.txt': 'v1',
    });
    const w = WatchProcess.start(ws, ['up']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    renameSync(ws.path('data'), ws.path('moved'));
    await w.next((e) => e.event === 'diagnostics', 'the missing input', 15_000);
    // Idle: the watcher is aimed at what is left of the folders.
    await w.event('idle');
    const from = w.mark();
    renameSync(ws.path('moved'), ws.path('data'));
    const back = await w.buildEnd(15_000);
    expect(back).toMatchObject({ status: 'succeeded', ran: [] });
    // The watcher re-arms on the folder after that build (and checks its folders every 2 s): give it that.
    await new Promise((r) => setTimeout(r, 3000));
    await w.settled();
    expect(w.events.slice(from).filter((e) => e.event === 'build-start')).toHaveLength(1);
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: an input edited during the first build', () => {
  it('builds again once that build has thrown the stale result away', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  slow:\n    inputs: {src: in.txt}\n    command: [sh, -c, \'echo started > started.txt; sleep 2; cp "$1" "$2"\', sh, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
      'in.txt': '1',
    });
    const w = WatchProcess.start(ws, ['slow']);
    watcher = w;
    for (let i = 0; i < 200 && !ws.exists('started.txt'); i++) await new Promise((r) => setTimeout(r, 25));
    ws.write('in.txt', '2');
    const first = await w.buildEnd();
    expect(first.status).toBe('failed');
    const again = await w.buildEnd();
    expect(again.ran).toEqual(['slow']);
    expect(ws.read('out.txt')).toBe('2');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch: a step module saved again while its rebuild runs', () => {
  // Found by helper-113: the second save failed the running task (code changed during the build); the build that
  // followed ran on the threads that had imported the first save, and cached its output under the second's key.
  it("builds with the last save's code, on threads that import it afresh", async () => {
    const step = (v: string) =>
      `import { writeFileSync } from 'node:fs';
export default { name: 'w.per', version: '1', run(ctx) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600); writeFileSync(ctx.outputs.out, '${v}'); } };
`;
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  per:\n    foreach: {glob: "data/*.txt"}\n    step: ./steps/per.mjs\n    inputs: {src: "data/{item}.txt"}\n    outputs: {out: "out/{item}.val"}\n',
      'data/a.txt': '1',
      'data/b.txt': '2',
      'steps/per.mjs': step('v1'),
    });
    const w = WatchProcess.start(ws, ['per']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    // An editor's saves: a temporary file renamed over the module.
    const save = (v: string) => {
      ws.write('steps/.per.tmp', step(v));
      renameSync(ws.path('steps/.per.tmp'), ws.path('steps/per.mjs'));
    };
    save('v2');
    await w.next((e) => e.event === 'task-start', 'the rebuild after the first save');
    await new Promise((r) => setTimeout(r, 300));
    save('v3');
    // The rebuild the second save failed, then the one after it, which must have run the last save.
    for (let i = 0; i < 4 && ws.read('out/a.val') !== 'v3'; i++) await w.buildEnd();
    expect(ws.read('out/a.val')).toBe('v3');
    expect(ws.read('out/b.val')).toBe('v3');
    await w.settled();
    expect(await w.stop()).toBe(0);
    // And the cache holds v3 under v3's key: a clean build is up to date with the same bytes.
    const clean = await ws.build(['per']);
    expect(clean.ended['up-to-date']).toEqual(['per[a]', 'per[b]']);
    expect(ws.read('out/a.val')).toBe('v3');
  }, 120_000);
});

describe('pipe watch: a step importing a module not written yet', () => {
  it('rebuilds when that module is created (the failed import is tried again)', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  t:\n    step: ./steps/t.mjs\n    outputs: {out: out.txt}\n',
      'steps/t.mjs':
        "import { writeFileSync } from 'node:fs';\nexport default { name: 't', version: '1', run(ctx) { writeFileSync(ctx.outputs.out, 'v1'); } };\n",
    });
    const w = WatchProcess.start(ws, ['t']);
    watcher = w;
    expect((await w.initialBuild()).status).toBe('succeeded');
    await w.event('idle');
    ws.write(
      'steps/t.mjs',
      "import { writeFileSync } from 'node:fs';\nimport { label } from './label.mjs';\nexport default { name: 't', version: '1', run(ctx) { writeFileSync(ctx.outputs.out, label); } };\n",
    );
    await w.next(
      (e) => e.event === 'diagnostics' && String(e.message).includes('label.mjs'),
      'the missing module',
    );
    await w.event('idle');
    ws.write('steps/label.mjs', "export const label = 'v2';\n");
    const end = await w.buildEnd();
    expect(end.ran).toEqual(['t']);
    expect(ws.read('out.txt')).toBe('v2');
    // And the next load of the step finds the module that imported, not node's cached failure.
    ws.write('steps/label.mjs', "export const label = 'v3';\n");
    const next = await w.next((e) => e.event === 'build-end' || e.event === 'diagnostics', 'the next build');
    expect(next.event).toBe('build-end');
    expect(ws.read('out.txt')).toBe('v3');
    expect(await w.stop()).toBe(0);
  }, 120_000);
});

describe('pipe watch in a terminal', () => {
  it("names the workspace's own folder '.', and counts files and folders in the singular when one", async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  copy:\n    command: [node, -e, "require(\'fs\').writeFileSync(process.argv[1], \'x\')", "{outputs.out}"]\n    outputs: {out: out.txt}\n',
    });
    const child = ws.spawn(['watch', 'copy']);
    let text = '';
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('Ctrl-C to stop')) resolve();
      });
    });
    child.kill('SIGINT');
    await new Promise((r) => child.on('close', r));
    expect(text).toContain('products: .\n');
    expect(text).toMatch(/watching 1 file in 1 folder — Ctrl-C to stop/);
  }, 60_000);

  // Found by helper-155: a rebuild said which file changed and what ran, never why (pipe build says it).
  it('says why each task ran, as pipe build does', async () => {
    const pipeline = (tag: string) =>
      `version: 1\ntargets:\n  copy:\n    command: [node, -e, "require('fs').writeFileSync(process.argv[1], process.argv[2])", "{outputs.out}", "{params.tag}"]\n    params: {tag: ${tag}}\n    outputs: {out: out.txt}\n`;
    const ws = new Workspace({ 'pipe.yaml': pipeline('a') });
    const child = ws.spawn(['watch', 'copy']);
    // Stopped however the test ends (a failed expectation before the Ctrl-C below left it watching).
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let text = '';
    let waiting: { what: string; from: number; resolve: () => void } | undefined;
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (waiting && text.indexOf(waiting.what, waiting.from) >= 0) waiting.resolve();
    });
    // Text said from `from` on (the first build says 'built: ran copy' too).
    const until = (what: string, from = 0) =>
      new Promise<void>((resolve) => {
        if (text.indexOf(what, from) >= 0) resolve();
        else waiting = { what, from, resolve };
      });
    await until('Ctrl-C to stop');
    expect(text).toContain('ran copy — no previous build\n');
    const from = text.length;
    ws.write('pipe.yaml', pipeline('b'));
    await until('built: ran copy', from);
    child.kill('SIGINT');
    await new Promise((r) => child.on('close', r));
    expect(text.slice(from)).toContain('ran copy — param changed: tag "a" → "b"\nbuilt: ran copy (');
    expect(ws.read('out.txt')).toBe('b');
  }, 60_000);
});

// Inputs that would make the engine lose data or give a wrong result, each refused with its reason: dynamic item
// ids that leave their folder or repeat, an output that is the folder of another, a folder given as an input, a
// directory where an output file goes, and item ids with glob characters read literally.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const LIST_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.list', version: '1',
  run(ctx) {
    const names = JSON.parse(readFileSync(ctx.inputs.names[0], 'utf8'));
    writeFileSync(ctx.outputs.out, names.join('\\n'));
    return { items: names.map((id) => ({ id, files: [], data: id })) };
  } };
`;
const EACH_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.each', version: '1',
  run(ctx) { writeFileSync(ctx.outputs.out, (ctx.inputs.src ?? []).map((f) => readFileSync(f, 'utf8')).join('+') || 'item ' + ctx.item.id); } };
`;
const FANOUT = `version: 1
targets:
  list:
    step: ./steps/list.mjs
    inputs: { names: names.json }
    outputs: { out: out/list.txt }
  each:
    step: ./steps/each.mjs
    foreach: { items: list }
    outputs: { out: "out/each/{item}.txt" }
`;

function fanout(names: string[], pipeline = FANOUT): Workspace {
  return new Workspace({
    'pipe.yaml': pipeline,
    'names.json': JSON.stringify(names),
    'steps/list.mjs': LIST_STEP,
    'steps/each.mjs': EACH_STEP,
    'data.txt': 'precious raw data',
  });
}

/** Target g, and target m whose input file is missing. */
const G_AND_M = `version: 1
targets:
  g:
    command: [sh, -c, 'echo g > "$1"', sh, "{outputs.o}"]
    outputs: {o: out/g.txt}
  m:
    inputs: {src: data/missing.txt}
    command: [cp, "{inputs.src}", "{outputs.o}"]
    outputs: {o: out/m.txt}
`;

/**
 * A build that failed a task ended as a build does: exit 1, the record says failed (not left 'running'), the lock
 * released and the temporary outputs cleared, no stack trace.
 */
async function expectFailedCleanly(ws: Workspace, r: { code: number | null; stderr: string }): Promise<void> {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(ws.exists('.pipe/lock')).toBe(false);
  expect(ws.exists('.pipe/tmp/run')).toBe(false);
  const log = await ws.run(['log', '-n', '1']);
  expect(log.stdout).toMatch(/ failed /);
}

describe('pipe build: guards', () => {
  it("refuses a dynamic item id with a '..' segment, and leaves the file it would overwrite alone", async () => {
    const ws = fanout(['ok', '../../data']);
    const r = await ws.run(['build', 'each']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(
      `the step emitted a bad item: item id "../../data" has a '..' segment`,
    );
    expect(ws.read('data.txt')).toBe('precious raw data');
  });

  it('refuses two dynamic items with one id (one task, the second item lost)', async () => {
    const ws = fanout(['a', 'b', 'a']);
    const r = await ws.run(['build', 'each']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('the step emitted two items with id "a"');
  });

  it('fails a step that emits items of the wrong shape, naming the task and the item; the build ends as usual', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  emit:
    step: ./steps/emit.mjs
    inputs: { items: items.json }
    outputs: { out: out/emit.txt }
  each:
    foreach: { items: emit }
    command: [sh, -c, 'echo "$0" > "$1"', "{item}", "{outputs.o}"]
    outputs: { o: "out/each/{item}.txt" }
`,
      'steps/emit.mjs': `import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.emit', version: '1',
  run(ctx) { writeFileSync(ctx.outputs.out, 'x'); return { items: JSON.parse(readFileSync(ctx.inputs.items[0], 'utf8')) }; } };
`,
    });
    const cases: Array<[unknown, string]> = [
      [
        [{ id: 'a', files: 'notalist' }],
        'item "a": files must be a list of absolute paths, not the string "notalist"',
      ],
      [[{ id: 'a' }], 'item "a" has no files: give files: [] when it names none'],
      [[{ id: 'a', files: [], value: 1 }], 'item "a" has \'value\': an item holds only id, files and data'],
      [
        [{ id: 'a', files: ['data/a.txt'] }],
        'item "a": files[0] is the string "data/a.txt", not an absolute path',
      ],
      [[{ id: 'a', files: [] }, 7], 'items[1] is 7, not {id, files, data?}'],
    ];
    for (const [items, problem] of cases) {
      ws.write('items.json', JSON.stringify(items));
      const r = await ws.run(['build', 'each']);
      expect(r.stdout + r.stderr).toContain(`emit: step failed: the step emitted a bad item: ${problem}`);
      await expectFailedCleanly(ws, r);
    }
    ws.write('items.json', JSON.stringify({ a: { files: [] } }));
    const notList = await ws.run(['build', 'each']);
    expect(notList.stdout + notList.stderr).toContain(
      'emit: step failed: the step emitted items that are not a list (an object): return {items: [{id, files, data?}, ...]}',
    );
    await expectFailedCleanly(ws, notList);
    ws.write('items.json', JSON.stringify([{ id: 'a', files: [ws.path('items.json')], data: 1 }]));
    expect((await ws.build(['each'])).ended).toEqual({ ran: ['each[a]', 'emit'] });
  });

  it('reads an item id with glob characters literally in an input path', async () => {
    const ws = fanout(['x1', 'x[1]'], `${FANOUT}    inputs: { src: "in/{item}.txt" }\n`);
    ws.write('in/x1.txt', 'plain');
    ws.write('in/x[1].txt', 'bracket');
    const b = await ws.build(['each']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(ws.read('out/each/x[1].txt')).toBe('bracket');
    expect(ws.read('out/each/x1.txt')).toBe('plain');
  });

  it('refuses at load an output inside another output, and a folder as an input', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  f:
    command: [node, -e, "0", "{outputs.o}"]
    outputs: {o: out/x}
  d:
    command: [node, -e, "0", "{inputs.i}", "{outputs.o}"]
    inputs: {i: data/sub}
    outputs: {o: out/x/y.txt}
`,
      'data/sub/a.txt': 'a',
    });
    const r = await ws.run(['build', 'd']);
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(2);
    expect(out).toContain(
      "pipe.yaml:9:18: error: output 'out/x/y.txt' of target 'd' is inside 'out/x', an output file of target 'f'",
    );
    expect(out).toContain("pipe.yaml:8:17: error: input 'i' of target 'd': 'data/sub' is a directory");
    expect(out).toContain("hint: name its files with a glob, e.g. 'data/sub/**'");
  });

  it('refuses at load outputs over pipe.yaml, its config file or .pipe/, or that name no file; nothing is written', async () => {
    const copy = `    inputs: [in.txt]\n    command: [cp, "{inputs.default}", "{outputs.o}"]\n`;
    const pipeline = `version: 1
config: cfg.yaml
targets:
  c:
${copy}    outputs: {o: "build/dir/"}
  d:
${copy}    outputs: {o: ""}
  e:
${copy}    outputs: {o: ".pipe/evil.txt"}
  g:
    params: {k: "\${config.k}"}
${copy}    outputs: {o: cfg.yaml}
  f:
${copy}    outputs: {o: pipe.yaml}
`;
    const ws = new Workspace({ 'pipe.yaml': pipeline, 'cfg.yaml': 'k: 1\n', 'in.txt': 'hi\n' });
    const r = await ws.run(['build', 'c', 'd', 'e', 'f', 'g', '-k']);
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(2);
    for (const line of [
      "pipe.yaml:7:18: error: output 'build/dir/' of target 'c' ends with '/': it names a folder, and an output is a file",
      "pipe.yaml:11:18: error: output '' of target 'd' names the workspace folder, not a file",
      "pipe.yaml:15:18: error: output '.pipe/evil.txt' of target 'e' is inside .pipe/, pipe's own folder (state, cache, logs)",
      "pipe.yaml:20:18: error: output 'cfg.yaml' of target 'g' is the config file, cfg.yaml: a build would overwrite it",
      "pipe.yaml:24:18: error: output 'pipe.yaml' of target 'f' is the pipeline file, pipe.yaml: a build would overwrite it",
    ])
      expect(out).toContain(line);
    expect(out).toContain('5 errors');
    expect(ws.read('pipe.yaml')).toBe(pipeline);
    expect(ws.read('cfg.yaml')).toBe('k: 1\n');
    expect(ws.exists('.pipe/evil.txt')).toBe(false);
  });

  it("refuses at load a path another target's {item} output names, whichever of the two is built", async () => {
    // Built one at a time, a[x] and b overwrote each other's build/x.out, each build "up to date" or "restored".
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a:
    foreach: {glob: "d/*.txt"}
    inputs: {i: "d/{item}.txt"}
    command: [cp, "{inputs.i}", "{outputs.o}"]
    outputs: {o: "build/{item}.out"}
  b:
    inputs: [d/y.txt]
    command: [cp, "{inputs.default}", "{outputs.o}"]
    outputs: {o: build/x.out}
`,
      'd/x.txt': '1',
      'd/y.txt': '2',
    });
    for (const target of ['a', 'b']) {
      const r = await ws.run(['build', target]);
      const out = r.stdout + r.stderr;
      expect(r.code, out).toBe(2);
      expect(out).toContain(
        `pipe.yaml:11:18: error: 'build/x.out' (target 'b') is also written by target 'a', for item 'x' ('build/{item}.out', ${ws.path('pipe.yaml')}:7:18)`,
      );
      expect(out).toContain(
        "hint: every output path belongs to one target: give the outputs of 'a' a folder of their own (e.g. 'build/a/{item}.out')",
      );
      expect(out).toContain("pipe.yaml:7:18: note: 'build/{item}.out' declared here, by target 'a'");
    }
    expect(ws.exists('build/x.out')).toBe(false);
  });

  it("a glob input or foreach glob never reads the target's own outputs (a build would never settle)", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  all:
    command: [node, -e, "const fs=require('fs');fs.writeFileSync(process.argv.at(-1), process.argv.slice(1,-1).map(f=>fs.readFileSync(f,'utf8')).join(''))", "{inputs.src}", "{outputs.out}"]
    inputs: {src: "data/*.txt"}
    outputs: {out: data/all.txt}
  up:
    foreach: {glob: "src/*.txt"}
    command: [node, -e, "const fs=require('fs');fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8').toUpperCase())", "{inputs.src}", "{outputs.out}"]
    inputs: {src: "src/{item}.txt"}
    outputs: {out: "src/{item}.up.txt"}
`,
      'data/a.txt': 'a',
      'data/b.txt': 'b',
      'src/a.txt': 'a',
      'src/b.txt': 'b',
    });
    const first = await ws.build(['all']);
    expect(first.ended).toEqual({ ran: ['all'] });
    expect(ws.read('data/all.txt')).toBe('ab');
    const again = await ws.build(['all']);
    expect(again.ended).toEqual({ 'up-to-date': ['all'] });
    expect(ws.read('data/all.txt')).toBe('ab');
    const up = await ws.build(['up']);
    expect(up.ended).toEqual({ ran: ['up[a]', 'up[b]'] });
    const upAgain = await ws.build(['up']);
    expect(upAgain.ended).toEqual({ 'up-to-date': ['up[a]', 'up[b]'] });
  });

  it('an output renamed in pipe.yaml reruns its task (what it writes may hang on the name); renamed back, it is restored', async () => {
    // A tool that picks its format from the extension, as savefig or a .fits.gz writer does.
    const pipeline = (out: string) => `version: 1
targets:
  a:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], process.argv[1].endsWith('.json') ? '{}' : 'text')", "{outputs.o}"]
    outputs: {o: ${out}}
`;
    const ws = new Workspace({ 'pipe.yaml': pipeline('out/a.txt') });
    expect((await ws.build(['a'])).ended).toEqual({ ran: ['a'] });
    ws.write('pipe.yaml', pipeline('out/a.json'));
    const plan = await ws.run(['plan', 'a']);
    expect(plan.stdout).toMatch(/run\s+a\n\s+output path changed: o out\/a\.txt → out\/a\.json\n/);
    expect((await ws.build(['a'])).ended).toEqual({ ran: ['a'] });
    expect(ws.read('out/a.json')).toBe('{}');
    ws.remove('out/a.txt');
    ws.write('pipe.yaml', pipeline('out/a.txt'));
    expect((await ws.build(['a'])).ended).toEqual({ restored: ['a'] });
    expect(ws.read('out/a.txt')).toBe('text');
  });

  it('an output not written says why when it can: the command wrote the final path itself, or made a folder', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  hard:
    command: [sh, -c, 'mkdir -p out; echo hard > out/hard.txt']
    outputs: {o: out/hard.txt}
  dir:
    command: [mkdir, -p, "{outputs.o}"]
    outputs: {o: out/d.txt}
`,
    });
    const b = await ws.build(['hard', 'dir'], ['-k']);
    const text = b.run.stdout + b.run.stderr;
    expect(text).toContain(
      "output 'o' was not written (out/hard.txt): the task wrote out/hard.txt itself; write to {outputs.o}, the temporary path pipe moves into place",
    );
    expect(text).toContain(
      "output 'o' was not written (out/d.txt): a folder was made in its place; an output must be a file",
    );
  });

  it('a step that did not write an output is told where to, in its own terms: ctx.outputs.NAME, not {outputs.NAME}', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  self: {step: ./steps/self.mjs, outputs: {o: out/self.txt}}
  none: {step: ./steps/none.mjs, outputs: {'my-out': out/none.txt}}
`,
      'steps/self.mjs':
        "import { mkdirSync, writeFileSync } from 'node:fs';\nexport default { name: 'self', version: '1', run() { mkdirSync('out', { recursive: true }); writeFileSync('out/self.txt', 'x'); } };\n",
      'steps/none.mjs': "export default { name: 'none', version: '1', run() {} };\n",
    });
    const b = await ws.build(['self', 'none'], ['-k']);
    const text = b.run.stdout + b.run.stderr;
    expect(text).toContain(
      "output 'o' was not written (out/self.txt): the task wrote out/self.txt itself; write to ctx.outputs.o, the temporary path pipe moves into place",
    );
    expect(text).toContain(
      `output 'my-out' was not written (out/none.txt): the step is to write it to ctx.outputs[\\"my-out\\"]`,
    );
  });

  it('a command that failed is told which library variables of the shell it did not see (PYTHONPATH not under env:)', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a:
    command: [node, -e, "process.exit(process.env.PYTHONPATH ? 0 : 3)", "{outputs.o}"]
    outputs: {o: out/a.txt}
  b:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], process.env.PYTHONPATH)", "{outputs.o}"]
    outputs: {o: out/b.txt}
    env: [PYTHONPATH]
`,
    });
    const r = await ws.run(['build', 'a', 'b', '-k'], { PYTHONPATH: '/opt/lib' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'warning: a: the command did not see PYTHONPATH, set where pipe was started: a command sees PATH, HOME, TMPDIR and the locale (LANG, LC_ALL, LC_*), and the variables its target lists under env: (which enter its key)',
    );
    expect(r.stderr).toMatch(/FAILED\s+a: exited with status 3\n/);
    expect(ws.read('out/b.txt')).toBe('/opt/lib');
  });

  it("an output the command's argv never names: the hint says the program was not told the path (no shell: stdout goes to the log)", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  printed:
    command: [cat, "{inputs.x}"]
    inputs: {x: x.txt}
    outputs: {o: out/printed.txt}
  sibling:
    command: [cp, "{inputs.x}", "{outputs.bam}"]
    inputs: {x: x.txt}
    outputs: {bam: out/x.bam, bai: out/x.bam.bai}
`,
      'x.txt': 'x\n',
    });
    const b = await ws.build(['printed', 'sibling'], ['-k']);
    const text = b.run.stdout + b.run.stderr;
    expect(text).toContain(
      "output 'o' was not written (out/printed.txt): the command never names {outputs.o}, so the program was not told where to write it (no shell runs it: what it prints goes to the task's log); pass it as an argument",
    );
    // x.bam.bai is named after x.bam, which the argv names: a program may derive it, so no such hint.
    expect(text).toMatch(/output 'bai' was not written \(out\/x\.bam\.bai\)"/);
  });

  it('a fan-out over the items of a target that emits none: refused for a command, a warning for a step', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  sorted:
    command: [sort, -o, "{outputs.out}", "{inputs.src}"]
    foreach: {glob: "data/*.txt"}
    inputs: {src: "data/{item}.txt"}
    outputs: {out: "build/sorted/{item}.txt"}
  zipped:
    command: [cp, "{inputs.src}", "{outputs.out}"]
    foreach: {items: sorted}
    inputs: {src: {target: sorted, per_item: true}}
    outputs: {out: "build/zipped/{item}.txt"}
`,
      'data/a.txt': '2\n1\n',
      'steps/silent.mjs': `import { writeFileSync } from 'node:fs';
export default { name: 'test.silent', version: '1', run(ctx) { writeFileSync(ctx.outputs.out, 'x'); } };
`,
    });
    const refused = await ws.run(['build', 'zipped']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "pipe.yaml:10:14: error: 'foreach' takes its items from target 'sorted', which runs a command: a command emits no items",
    );
    expect(refused.stderr).toContain('write foreach: {glob: "data/*.txt"} here');
    // A step module that returns no items: the build says so instead of a silent success with no task.
    ws.write(
      'pipe.yaml',
      `version: 1
targets:
  silent:
    step: ./steps/silent.mjs
    outputs: {out: build/silent.txt}
  each:
    command: [sh, -c, 'echo "$0" > "$1"', "{item}", "{outputs.out}"]
    foreach: {items: silent}
    outputs: {out: "build/each/{item}.txt"}
`,
    );
    const warned = await ws.run(['build', 'each']);
    expect(warned.code).toBe(0);
    expect(warned.stdout + warned.stderr).toContain(
      "target 'each' fans out over the items of 'silent', whose step emitted none",
    );
  });

  it('pipe why of a target that failed or was skipped says what its last build did with it', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  bad:
    command: [sh, -c, "exit 3"]
    outputs: {o: out/bad.txt}
  after:
    inputs: {x: {target: bad}}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: out/after.txt}
`,
    });
    expect((await ws.run(['build', 'after'])).code).toBe(1);
    const bad = await ws.run(['why', 'bad']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'bad' has no product: in build \S+, bad failed: exited with status 3 \(log /);
    expect((await ws.run(['why', 'after'])).stderr).toMatch(
      /after skipped: upstream task bad did not succeed/,
    );
    expect((await ws.run(['why', 'nothing'])).stderr).toContain(
      "'nothing' is neither a product nor a target",
    );
    // Asked by the path it declares, whether the file is there or not (a stale one from elsewhere).
    const byPath = await ws.run(['why', 'out/bad.txt']);
    expect(byPath.stderr).toMatch(
      /'out\/bad\.txt' has no product: in build \S+, bad failed: exited with status 3 \(log /,
    );
    ws.write('out/after.txt', 'stale');
    expect((await ws.run(['why', 'out/after.txt'])).stderr).toMatch(
      /'out\/after\.txt' has no product: in build \S+, after skipped: upstream task bad did not succeed/,
    );
    // pipe log -n takes a count of builds: 0, -1 or a word is a usage error.
    for (const n of ['0', '-1', 'abc']) expect((await ws.run(['log', '-n', n])).code, n).toBe(2);
    expect((await ws.run(['log', '-n', '1'])).code).toBe(0);
  });

  it('a command sees PIPE_CPUS, the cpus its target asks for (1 by default), outside the key', async () => {
    const pipeline = (cpus: string) => `version: 1
targets:
  threads:
    command: [sh, -c, 'echo "$PIPE_CPUS" > "$0"', "{outputs.o}"]
    outputs: {o: out/threads.txt}
${cpus}  plain:
    command: [sh, -c, 'echo "$PIPE_CPUS" > "$0"', "{outputs.o}"]
    outputs: {o: out/plain.txt}
`;
    const ws = new Workspace({ 'pipe.yaml': pipeline('    resources: {cpus: 3}\n') });
    expect((await ws.build(['threads', 'plain'])).ended).toEqual({ ran: ['plain', 'threads'] });
    expect(ws.read('out/threads.txt')).toBe('3\n');
    expect(ws.read('out/plain.txt')).toBe('1\n');
  });

  it("a target's missing input stops only the commands that need it, at its line:col", async () => {
    const ws = new Workspace({
      'pipe.yaml': `${G_AND_M}  after_m:
    inputs: {x: {target: m}}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: out/am.txt}
`,
    });
    expect((await ws.build(['g'])).ended).toEqual({ ran: ['g'] });
    for (const args of [['build', 'after_m'], ['plan', 'm'], ['graph']]) {
      const r = await ws.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        "pipe.yaml:7:19: error: input 'src' of target 'm': file 'data/missing.txt' does not exist",
      );
    }
    ws.write('data/missing.txt', 'here now');
    expect((await ws.build(['after_m'])).ended).toEqual({ ran: ['after_m', 'm'] });
  });

  it('-k builds what does not need a target whose input is missing, then fails; no snapshot answers for it', async () => {
    const ws = new Workspace({
      'pipe.yaml': `${G_AND_M}  both:
    inputs: {x: {target: m}, y: {target: g}}
    command: [sh, -c, 'cat "$1" "$2" > "$3"', sh, "{inputs.x}", "{inputs.y}", "{outputs.o}"]
    outputs: {o: out/both.txt}
  after_g:
    inputs: {x: {target: g}}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: out/ag.txt}
`,
    });
    for (let round = 0; round < 2; round++) {
      const b = await ws.build(['both', 'after_g'], ['-k']);
      expect(b.run.code).toBe(1);
      expect(b.ended).toEqual(round === 0 ? { ran: ['after_g', 'g'] } : { 'up-to-date': ['after_g', 'g'] });
      expect(b.run.stderr).toContain("pipe.yaml:7:19: error: input 'src' of target 'm'");
      expect(b.run.stderr).toContain('not built: m, both');
    }
    expect(ws.exists('out/ag.txt')).toBe(true);
    // Without -k the command stops at load, as before.
    expect((await ws.run(['build', 'both', 'after_g'])).code).toBe(2);
    // Nothing buildable: the errors, exit 2.
    expect((await ws.run(['build', 'both', '-k'])).code).toBe(1);
    expect((await ws.run(['build', 'm', '-k'])).code).toBe(2);
    ws.write('data/missing.txt', 'm');
    const fixed = await ws.build(['both', 'after_g'], ['-k']);
    expect(fixed.run.code).toBe(0);
    expect(fixed.ended).toEqual({ ran: ['both', 'm'], 'up-to-date': ['after_g', 'g'] });
    expect(ws.read('out/both.txt')).toBe('mg\n');
    // `plan --all` lists the up-to-date tasks too (plain `plan` only counts them).
    const all = await ws.run(['plan', 'both', '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('up-to-date  both');
    expect((await ws.run(['plan', 'both'])).stdout).not.toContain('up-to-date  both');
  });

  it('a program that writes its own output path makes the same bytes every build (the cut-off holds)', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  self:
    command: [sh, -c, 'echo "I am $1" > "$1"', sh, "{outputs.o}"]
    outputs: {o: out/self.txt}
  after:
    inputs: {x: {target: self}}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: out/after.txt}
`,
    });
    expect((await ws.build(['after'])).ended).toEqual({ ran: ['after', 'self'] });
    const first = ws.read('out/self.txt');
    const again = await ws.build(['after'], ['--force', 'self']);
    expect(again.ended).toEqual({ ran: ['self'], 'up-to-date': ['after'] });
    expect(ws.read('out/self.txt')).toBe(first);
  });

  it('items whose ids fold to one file name (a/b, a_b) write apart: each its own temporary output', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  each:
    foreach: ["a/b", "a_b"]
    command: [sh, -c, 'printf "%s" "$1" > "$2"; sleep 0.3', sh, "{item}", "{outputs.o}"]
    outputs: {o: "out/{item}/r.txt"}
`,
    });
    const b = await ws.build(['each'], ['-j', '2']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(ws.read('out/a/b/r.txt')).toBe('a/b');
    expect(ws.read('out/a_b/r.txt')).toBe('a_b');
  });

  it('a program that names a file after its output (x.bam → x.bam.bai) finds it declared; an undeclared one is said', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  index:
    command: [sh, -c, 'echo bam > "$0"; echo bai > "$0.bai"; echo log > "$0.log"', "{outputs.bam}"]
    outputs: {bam: out/x.bam, bai: out/x.bam.bai}
`,
    });
    const b = await ws.build(['index']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(ws.read('out/x.bam.bai')).toBe('bai\n');
    expect(ws.exists('out/x.bam.log')).toBe(false);
    expect(b.run.stdout).toContain(
      "index: wrote 'out/x.bam.log' beside its outputs; not a declared output, so not kept (declare it under outputs: to keep it)",
    );
    expect(ws.exists('.pipe/tmp/run')).toBe(false);
  });

  it('a file written beside the outputs under a name of its own is said too: by its task when it ran alone, else at the end', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  notes:
    command: [sh, -c, 'echo o > "$0"; echo n > "$(dirname "$0")/notes.txt"', "{outputs.o}"]
    outputs: {o: out/n/o.txt}
  pair:
    foreach: [a, b]
    command: [sh, -c, 'echo o > "$0"; echo s > "$(dirname "$0")/scratch-$1.txt"; sleep 0.4', "{outputs.o}", "{item}"]
    outputs: {o: "out/p/{item}.txt"}
`,
    });
    const alone = await ws.build(['notes']);
    expect(alone.run.code, alone.run.stderr).toBe(0);
    expect(alone.run.stdout).toContain(
      "notes: wrote 'out/n/notes.txt' beside its outputs; not a declared output, so not kept (declare it under outputs: to keep it)",
    );
    const together = await ws.build(['pair'], ['-j', '2']);
    expect(together.run.code, together.run.stderr).toBe(0);
    // Both ran at once: which wrote which is not known, so the build says it once, at its end.
    expect(together.run.stdout).toContain(
      "a task wrote 'scratch-a.txt', 'scratch-b.txt' beside its outputs while others ran (pipe -j 1 names it); not a declared output, so not kept (declare it under outputs: to keep it)",
    );
    expect(ws.exists('.pipe/tmp/run')).toBe(false);
  });

  it("fails a task whose output's folder is a file, when it would run and when it would restore; the build goes on", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    command: [sh, -c, 'echo t > "$0"', "{outputs.o}"]
    outputs: {o: out/sub/t.txt}
  g:
    command: [sh, -c, 'echo g > "$0"', "{outputs.o}"]
    outputs: {o: g.txt}
`,
      out: 'a file where a folder goes',
    });
    const blocked = "cannot create folder out/sub for output 'o': out is a file";
    const run = await ws.build(['t', 'g'], ['-k']);
    expect(run.ended).toEqual({ failed: ['t'], ran: ['g'] });
    expect(run.run.stdout + run.run.stderr).toContain(blocked);
    await expectFailedCleanly(ws, run.run);
    ws.remove('out');
    expect((await ws.build(['t'])).ended).toEqual({ ran: ['t'] });
    // The product is in the cache now: the task would be restored, and its folder is blocked again.
    ws.remove('out');
    ws.write('out', 'a file again');
    expect((await ws.run(['plan', 't'])).stdout).toMatch(/restore\s+t\n/);
    const restore = await ws.run(['build', 't']);
    expect(restore.stdout + restore.stderr).toContain(`t: ${blocked}`);
    await expectFailedCleanly(ws, restore);
    expect(ws.read('out')).toBe('a file again');
  });

  it('refuses an output made as a symbolic link (by a command or a step): the product would alias its target', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  abs:
    inputs: {i: in.txt}
    command: [ln, -s, "{inputs.i}", "{outputs.o}"]
    outputs: {o: build/abs.txt}
  rel:
    inputs: {i: in.txt}
    command: [ln, -s, ../in.txt, "{outputs.o}"]
    outputs: {o: build/rel.txt}
  step:
    step: ./steps/link.mjs
    inputs: {i: in.txt}
    outputs: {o: build/step.txt}
`,
      'in.txt': 'raw input',
      'steps/link.mjs': `import { symlinkSync } from 'node:fs';
export default { name: 'test.link', version: '1', run(ctx) { symlinkSync(ctx.inputs.i[0], ctx.outputs.o); } };
`,
    });
    const b = await ws.build(['abs', 'rel', 'step'], ['-k']);
    expect(b.ended).toEqual({ failed: ['abs', 'rel', 'step'] });
    const text = b.run.stdout;
    const hint = 'write a file (e.g. cp instead of ln -s)';
    expect(text).toContain(`output 'o' (build/abs.txt) is a symbolic link to ${ws.path('in.txt')}: ${hint}`);
    expect(text).toContain(`output 'o' (build/rel.txt) is a symbolic link to ../in.txt: ${hint}`);
    expect(text).toContain(`output 'o' (build/step.txt) is a symbolic link to ${ws.path('in.txt')}: ${hint}`);
    await expectFailedCleanly(ws, b.run);
    for (const name of ['abs', 'rel', 'step']) expect(ws.exists(`build/${name}.txt`)).toBe(false);
    expect(ws.read('in.txt')).toBe('raw input');
  });

  it('gives an output made as a hard link (ln) bytes of its own: editing the input in place leaves the product', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  linked:
    inputs: {i: in.txt}
    command: [ln, "{inputs.i}", "{outputs.o}"]
    outputs: {o: build/linked.txt}
`,
      'in.txt': 'raw input',
    });
    const b = await ws.build(['linked']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(statSync(ws.path('build/linked.txt')).nlink).toBe(1);
    expect(statSync(ws.path('build/linked.txt')).ino).not.toBe(statSync(ws.path('in.txt')).ino);
    appendFileSync(ws.path('in.txt'), ', edited in place');
    expect(ws.read('build/linked.txt')).toBe('raw input');
    // The next build sees the edit and links again.
    const again = await ws.build(['linked']);
    expect(again.ended).toEqual({ ran: ['linked'] });
    expect(ws.read('build/linked.txt')).toBe('raw input, edited in place');
  });

  it('fails a task whose output path is a directory, and records the build as failed', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], 'x')", "{outputs.o}"]
    outputs: {o: out/a.txt}
`,
    });
    mkdirSync(ws.path('out/a.txt/inner'), { recursive: true });
    ws.write('out/a.txt/inner/notes.txt', 'the user keeps notes here');
    const b = await ws.build(['a']);
    expect(b.run.code).toBe(1);
    expect(b.run.stdout + b.run.stderr).toContain(
      "a folder stands where output 'o' goes (out/a.txt): move or remove it, pipe does not",
    );
    expect(ws.read('out/a.txt/inner/notes.txt')).toBe('the user keeps notes here');
    expect((await ws.run(['log'])).stdout).toMatch(/failed\s+a/);
  });

  it('an output that a symbolic link on its way makes a raw input or the config: refused before the task runs', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
config: params.yaml
targets:
  t:
    inputs: {src: data/in.txt}
    params: {n: "\${config.n}"}
    command: [sh, -c, 'tr a-z A-Z < "$0" > "$1"', "{inputs.src}", "{outputs.o}"]
    outputs: {o: products/in.txt}
  c:
    command: [sh, -c, 'echo n: 2 > "$0"', "{outputs.o}"]
    outputs: {o: out/params.yaml}
`,
      'params.yaml': 'n: 1\n',
      'data/in.txt': 'raw precious',
    });
    symlinkSync('data', ws.path('products'));
    symlinkSync('.', ws.path('out'));
    const b = await ws.run(['build', 't', 'c']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      /FAILED\s+t: output 'o' \(products\/in\.txt\) is, through the symbolic link products → \S+\/data, input 'src' of t, data\/in\.txt: a build would overwrite it/,
    );
    expect(b.stderr).toMatch(
      /FAILED\s+c: output 'o' \(out\/params\.yaml\) is, through the symbolic link out → \S+, a file the pipeline is read from, params\.yaml/,
    );
    expect(ws.read('data/in.txt')).toBe('raw precious');
    expect(ws.read('params.yaml')).toBe('n: 1\n');
  });

  it('a .pipe folder that cannot be written: a clear refusal, not a stack trace', async (t) => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    inputs: {i: in.txt}
    command: [cp, "{inputs.i}", "{outputs.o}"]
    outputs: {o: out/t.txt}
`,
      'in.txt': 'v1',
    });
    expect((await ws.build(['t'])).run.code).toBe(0);
    ws.write('in.txt', 'v2');
    // Read-only for root too: the immutable attribute (ext4, xfs, btrfs; not every file system has it).
    const immutable = spawnSync('chattr', ['+i', ws.path('.pipe')]);
    if (immutable.status !== 0) {
      console.info(
        `skipped: chattr +i failed here (${immutable.stderr?.toString().trim() || immutable.error?.message})`,
      );
      t.skip();
      return;
    }
    try {
      const b = await ws.run(['build', 't']);
      expect(b.code).toBe(1);
      expect(b.stderr).toMatch(/pipe: cannot take the build lock in \S+\.pipe: E(PERM|ACCES|ROFS)/);
      expect(b.stderr).not.toContain('    at ');
    } finally {
      spawnSync('chattr', ['-i', ws.path('.pipe')]);
    }
  });

  it("a raw input that is a symbolic link to another target's output: refused, with how to read it", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a: {command: [cp, "{inputs.i}", "{outputs.o}"], inputs: {i: src.txt}, outputs: {o: products/a.txt}}
  b: {command: [cp, "{inputs.i}", "{outputs.o}"], inputs: {i: data/link.txt}, outputs: {o: products/b.txt}}
`,
      'src.txt': '1',
    });
    expect((await ws.build(['a'])).run.code).toBe(0);
    mkdirSync(ws.path('data'));
    symlinkSync('../products/a.txt', ws.path('data/link.txt'));
    ws.write('src.txt', '2');
    // Before: a ran, b read the link before or after it (b said 1 while a said 2, until the next build).
    const b = await ws.run(['build', 'a', 'b']);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(
      "b: input 'i' (data/link.txt) is, through a symbolic link, products/a.txt, an output of a: read as a raw file it has no edge to that task, which may not have run yet; read it as {target: a}",
    );
    expect(ws.exists('products/b.txt')).toBe(false);
  });

  it('a folder where one of its outputs goes: the task does not run, and its other outputs stay as they were', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  t:
    inputs: {i: in.txt}
    command: [sh, -c, 'echo ran >> runs.log; cp "$0" "$1"; cp "$0" "$2"', "{inputs.i}", "{outputs.a}", "{outputs.z}"]
    outputs: {a: products/a.txt, z: products/z.txt}
`,
      'in.txt': 'v1',
    });
    expect((await ws.build(['t'])).run.code).toBe(0);
    ws.write('in.txt', 'v2');
    ws.remove('products/z.txt');
    ws.write('products/z.txt/notes.txt', 'mine');
    const b = await ws.build(['t']);
    expect(b.run.code).toBe(1);
    expect(b.run.stdout).toContain("a folder stands where output 'z' goes (products/z.txt)");
    // Before: the command ran, and a.txt was replaced by v2 before z's folder was found (a mixed set).
    expect(ws.read('products/a.txt')).toBe('v1');
    expect(ws.read('runs.log')).toBe('ran\n');
  });

  it("fails the build when a step's items make two tasks write one path, and runs neither", async () => {
    // Items a step emits are not known at load: the check runs when they are, before any of their tasks.
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  list:
    step: ./steps/list.mjs
    outputs: {o: build/list.txt}
  c:
    foreach: {items: list}
    command: [sh, -c, 'echo c > "$1"', sh, "{outputs.o}"]
    outputs: {o: "out/{item}/{item}.txt"}
  d:
    foreach: {items: list}
    command: [sh, -c, 'echo d > "$1"', sh, "{outputs.o}"]
    outputs: {o: "out/{item}/a.txt"}
`,
      'steps/list.mjs': `import { writeFileSync } from 'node:fs';
export default { name: 'list', version: '1', run(ctx) { writeFileSync(ctx.outputs.o, 'a'); return { items: [{ id: 'a', files: [] }] }; } };
`,
    });
    const r = await ws.run(['build', 'c', 'd']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the items of 'list' cannot be built: tasks 'c[a]' (output 'o') and 'd[a]' (output 'o') both write 'out/a/a.txt'",
    );
    expect(ws.exists('out/a/a.txt')).toBe(false);
  });

  it('refuses items whose outputs are folders of each other (sub and sub/e of build/{item}) before anything runs', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  c:
    foreach: {glob: "src/**/*.txt"}
    inputs: {i: "src/{item}.txt"}
    command: [cp, "{inputs.i}", "{outputs.o}"]
    outputs: {o: "build/{item}"}
`,
      'src/sub.txt': 'a',
      'src/sub/e.txt': 'b',
    });
    const plan = await ws.run(['plan', 'c']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(
      "task 'c[sub]' (output 'o') writes 'build/sub', a folder that task 'c[sub/e]' (output 'o') writes 'build/sub/e' into",
    );
    const build = await ws.run(['build', 'c']);
    expect(build.code).toBe(2);
    expect(ws.exists('build')).toBe(false);
  });

  it("prints a failed step's own log lines without the stack of its error, also when the message has several lines", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  bad:
    step: ./steps/bad.mjs
    outputs: {o: out/bad.txt}
`,
      'steps/bad.mjs': `export default { name: 'bad', version: '1', run(ctx) {
  ctx.log.info('reading the store');
  throw new Error('the data store names files that do not exist:\\n  OBS_ID 1: a.fits not found');
} };
`,
    });
    const r = await ws.run(['build', 'bad']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('reading the store');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // Found by helper-110: `data/{item}` under a glob of data/*.txt failed on "input missing: data/a" alone.
  it('says that {item} drops the extension when an input misses exactly that', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  c:
    foreach: {glob: "data/*.txt"}
    inputs: {x: "data/{item}"}
    command: [cp, "{inputs.x}", "{outputs.o}"]
    outputs: {o: "out/{item}.txt"}
`,
      'data/a.txt': 'a',
    });
    const b = await ws.run(['build', 'c']);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(
      'FAILED    c[a]: input missing: data/a (x); {item} is the name of the file it fans out over without its extension (a.txt → a): add the extension to the pattern (…{item}.txt)',
    );
  });
});

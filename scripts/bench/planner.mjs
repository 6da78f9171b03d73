#!/usr/bin/env node
// Planner benchmark: pipe vs GNU make, ninja and Snakemake on one synthetic workload.
//   N input files in/g<j>/f<i>.txt (100 per group) → one copy task per file → one concat task per
//   group of 100 → one final concat task.
// pipe runs its steps in-process (a small step module in the workspace, steps/concat.mjs: pipe's native
// way to run a step); make, ninja and Snakemake spawn cp/cat per task.
// Measures: cold build, no-op rebuild, one-content-change rebuild, and `pipe plan` (dry run for the
// others: make -n, ninja -n, snakemake -n). Times the `pipe` command (packages/cli/bin/pipe, which starts node
// without NODE_EXTRA_CA_CERTS). When that is set, row `node pipe.js` repeats pipe's no-op, change and plan as
// `node packages/cli/bin/pipe.js`, whose node loads it at start.
// Usage: node scripts/bench/planner.mjs [--sizes 1000,10000,100000] [--runs 5] [--jobs 2] [--cold-max 100000]
//          [--cold-runs 3]  (cold builds per tool and size, each in a fresh workspace: the median is reported)
//          [--tools pipe,make,ninja,snakemake] [--snakemake-max 10000] [--snakemake-cap 300]
//        Snakemake's cold build is capped at --snakemake-cap seconds (at 10,000 tasks it takes longer): past the
//        cap it is stopped, reported as "> cap", and the outputs are written directly (as its rules would) so
//        that its no-op, one-change and plan times are still measured.
//        node scripts/bench/planner.mjs --setup pipe --sizes 10000   only writes the workspace (for profiling), prints its path;
//        --snakemake-max: Snakemake above this size is skipped (its cold build at 10,000 takes > 5 min)
//        [--keep-max 10000]  workspaces of at most this size (input files) are removed at the end of the run, not between
//        builds: on ext4 without a journal (this machine's /) a file created within a minute or so of many deletions
//        makes the kernel scan past every recently freed inode (ialloc.c recently_deleted), so a cold build started
//        right after removing the previous one's ~4,000 files spent 2–3 s of CPU in the kernel instead of 0.6 s
//        (pipe at 1,000 tasks: 2.1–2.5 s instead of 1.5 s; every tool's cold build pays it). Larger ones are
//        removed as soon as done (disk space), and their cold builds say so.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeStartNote, staleBundleNote, withThisNode } from './node-start.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PIPE = path.resolve(here, '../../packages/cli/bin/pipe');
const PIPE_JS = path.resolve(here, '../../packages/cli/bin/pipe.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SIZES = opt('sizes', '1000,10000,100000').split(',').map(Number);
const RUNS = Number(opt('runs', '5'));
const JOBS = Number(opt('jobs', '2'));
const SNAKEMAKE_MAX = Number(opt('snakemake-max', '10000'));
const SNAKEMAKE_CAP = Number(opt('snakemake-cap', '300'));
const COLD_MAX = Number(opt('cold-max', '100000'));
const KEEP_MAX = Number(opt('keep-max', '10000'));
/** Cold builds per tool and size (each in a fresh workspace), of which the median is reported. */
const COLD_RUNS = Number(opt('cold-runs', String(Math.min(RUNS, 3))));
const TOOLS = opt('tools', 'pipe,make,ninja,snakemake').split(',');
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

// The pipe workload's step: concatenates its inputs (one file for the per-file tasks: a copy).
const CONCAT_STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'bench.concat',
  version: '1',
  run(ctx) {
    writeFileSync(ctx.outputs.out, Buffer.concat(ctx.inputs.src.map((f) => readFileSync(f))));
  },
};
`;

/** Workspaces measured and kept until the run ends (see --keep-max). */
const spent = [];
/** Done with `root` (a workspace of `n` files): removed now when large, else at the end of the run. */
function retire(root, n) {
  if (n > KEEP_MAX) rmSync(root, { recursive: true, force: true });
}
/** Every workspace made (the one in use too), removed when the script ends; not those --setup makes for you. */
function removeSpent() {
  if (!opt('setup')) for (const root of spent.splice(0)) rmSync(root, { recursive: true, force: true });
}
// Also when the run stops early: a failed build, an error of the script, Ctrl-C.
process.on('exit', removeSpent);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
])
  process.on(signal, () => process.exit(code));

function makeWorkspace(n) {
  const root = mkdtempSync(path.join(tmpdir(), `pipe-bench-${n}-`));
  spent.push(root);
  const groups = Math.ceil(n / 100);
  for (let j = 0; j < groups; j++) {
    mkdirSync(path.join(root, 'in', `g${j}`), { recursive: true });
    for (let i = j * 100; i < Math.min(n, (j + 1) * 100); i++)
      writeFileSync(path.join(root, 'in', `g${j}`, `f${i}.txt`), `file ${i}\n`);
  }
  return { root, groups };
}

function writePipe(dir, groups) {
  mkdirSync(path.join(dir, 'steps'), { recursive: true });
  writeFileSync(path.join(dir, 'steps', 'concat.mjs'), CONCAT_STEP);
  const lines = ['version: 1', 'targets:'];
  for (let j = 0; j < groups; j++) {
    lines.push(
      `  e${j}:`,
      `    foreach: { glob: "in/g${j}/*.txt" }`,
      `    inputs: { src: "in/g${j}/{item}.txt" }`,
      '    step: ./steps/concat.mjs',
      `    outputs: { out: "out/e/g${j}/{item}.txt" }`,
    );
    lines.push(
      `  g${j}:`,
      `    inputs: { src: { target: e${j} } }`,
      '    step: ./steps/concat.mjs',
      `    outputs: { out: "out/g/${j}.txt" }`,
    );
  }
  lines.push('  final:', '    inputs:', '      src:');
  for (let j = 0; j < groups; j++) lines.push(`        - { target: g${j} }`);
  lines.push('    step: ./steps/concat.mjs', '    outputs: { out: out/final.txt }');
  writeFileSync(path.join(dir, 'pipe.yaml'), `${lines.join('\n')}\n`);
}

function writeMake(dir, n, groups) {
  const l = ['all: out/final.txt'];
  const gs = [];
  for (let j = 0; j < groups; j++) {
    const files = [];
    for (let i = j * 100; i < Math.min(n, (j + 1) * 100); i++) files.push(`out/e/g${j}/f${i}.txt`);
    l.push(`out/g/${j}.txt: ${files.join(' ')}\n\t@mkdir -p out/g && cat $^ > $@`);
    gs.push(`out/g/${j}.txt`);
  }
  l.push('out/e/%.txt: in/%.txt\n\t@mkdir -p $(dir $@) && cp $< $@');
  l.push(`out/final.txt: ${gs.join(' ')}\n\tcat $^ > $@`);
  writeFileSync(path.join(dir, 'Makefile'), `${l.join('\n')}\n`);
}

function writeNinja(dir, n, groups) {
  const l = ['rule cp', '  command = cp $in $out', 'rule cat', '  command = cat $in > $out'];
  const gs = [];
  for (let j = 0; j < groups; j++) {
    const files = [];
    for (let i = j * 100; i < Math.min(n, (j + 1) * 100); i++) {
      l.push(`build out/e/g${j}/f${i}.txt: cp in/g${j}/f${i}.txt`);
      files.push(`out/e/g${j}/f${i}.txt`);
    }
    l.push(`build out/g/${j}.txt: cat ${files.join(' ')}`);
    gs.push(`out/g/${j}.txt`);
  }
  l.push(`build out/final.txt: cat ${gs.join(' ')}`, 'default out/final.txt');
  writeFileSync(path.join(dir, 'build.ninja'), `${l.join('\n')}\n`);
}

function writeSnakefile(dir, n, groups) {
  writeFileSync(
    path.join(dir, 'Snakefile'),
    `N = ${n}
G = ${groups}
def members(j):
    return [f"out/e/g{j}/f{i}.txt" for i in range(int(j) * 100, min(N, (int(j) + 1) * 100))]
rule all:
    input: "out/final.txt"
rule final:
    input: [f"out/g/{j}.txt" for j in range(G)]
    output: "out/final.txt"
    shell: "cat {input} > {output}"
rule group:
    input: lambda w: members(w.j)
    output: "out/g/{j}.txt"
    shell: "cat {input} > {output}"
rule each:
    input: "in/g{j}/f{i}.txt"
    output: "out/e/g{j}/f{i}.txt"
    shell: "cp {input} {output}"
`,
  );
}

/** The workload's outputs, written directly (cp per file, cat per group, cat of the groups). */
function writeOutputsDirectly(dir, n, groups) {
  const finals = [];
  for (let j = 0; j < groups; j++) {
    mkdirSync(path.join(dir, 'out', 'e', `g${j}`), { recursive: true });
    const parts = [];
    for (let i = j * 100; i < Math.min(n, (j + 1) * 100); i++) {
      const bytes = readFileSync(path.join(dir, 'in', `g${j}`, `f${i}.txt`));
      writeFileSync(path.join(dir, 'out', 'e', `g${j}`, `f${i}.txt`), bytes);
      parts.push(bytes);
    }
    mkdirSync(path.join(dir, 'out', 'g'), { recursive: true });
    writeFileSync(path.join(dir, 'out', 'g', `${j}.txt`), Buffer.concat(parts));
    finals.push(Buffer.concat(parts));
  }
  writeFileSync(path.join(dir, 'out', 'final.txt'), Buffer.concat(finals));
}

/** Seconds the command took; Infinity when it ran past `capSeconds` (then it is killed). */
function time(cmd, argv, cwd, capSeconds, env = process.env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: withThisNode({ ...env, CI: 'true' }),
    maxBuffer: 1 << 26,
    ...(capSeconds ? { timeout: capSeconds * 1000, killSignal: 'SIGKILL' } : {}),
  });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (capSeconds && r.error?.code === 'ETIMEDOUT') return Infinity;
  if (r.status !== 0)
    throw new Error(`${cmd} ${argv.join(' ')} failed in ${cwd}: ${r.stderr?.toString().slice(-2000)}`);
  return s;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const tools = {
  pipe: {
    build: [PIPE, ['build', 'final', '-j', String(JOBS)]],
    plan: [PIPE, ['plan', 'final']],
  },
  make: { build: ['make', ['-j', String(JOBS), '-s']], plan: ['make', ['-n', '-s']] },
  ninja: { build: ['/usr/bin/ninja', ['-j', String(JOBS)]], plan: ['/usr/bin/ninja', ['-n']] },
  snakemake: { build: ['snakemake', ['-c', String(JOBS), '-q']], plan: ['snakemake', ['-n', '-q']] },
};

/** A fresh workspace for `tool` with `n` input files. */
function toolWorkspace(tool, n) {
  const ws = makeWorkspace(n);
  ({ pipe: writePipe, make: writeMake, ninja: writeNinja, snakemake: writeSnakefile })[tool](
    ws.root,
    ...(tool === 'pipe' ? [ws.groups] : [n, ws.groups]),
  );
  return ws;
}

function bench(tool, n) {
  const [bcmd, bargs] = tools[tool].build;
  const [pcmd, pargs] = tools[tool].plan;
  const result = {};
  // A cold build is one build of a fresh workspace: the median of COLD_RUNS of them (each in its own workspace; the
  // last one's workspace is kept for the rest), as one sample swung from 1.46 to 2.23 s for pipe at 1,000 tasks.
  const colds = [];
  let root;
  let groups;
  for (let k = 0; k < COLD_RUNS; k++) {
    if (root) retire(root, n);
    ({ root, groups } = toolWorkspace(tool, n));
    if (tool === 'snakemake') {
      const cold = time(bcmd, bargs, root, SNAKEMAKE_CAP);
      colds.push(cold);
      if (cold === Infinity) {
        // Stopped at the cap: its half-done state is discarded and the outputs written as its rules would; one
        // sample is enough to say "> cap".
        rmSync(path.join(root, '.snakemake'), { recursive: true, force: true });
        writeOutputsDirectly(root, n, groups);
        break;
      }
    } else if (n <= COLD_MAX) colds.push(time(bcmd, bargs, root));
    else {
      time(bcmd, bargs, root);
      break;
    }
  }
  result.cold = colds.length > 0 ? median(colds) : NaN;
  result.colds = colds;
  time(bcmd, bargs, root); // settle (memo entries of racily clean inputs)
  const runs = n >= 100000 ? Math.min(RUNS, 3) : RUNS;
  result.noop = median(Array.from({ length: runs }, () => time(bcmd, bargs, root)));
  const changes = [];
  for (let k = 0; k < runs; k++) {
    writeFileSync(path.join(root, 'in', 'g0', 'f0.txt'), `changed ${k} ${Date.now()}\n`);
    changes.push(time(bcmd, bargs, root));
  }
  result.change = median(changes);
  result.plan = median(Array.from({ length: runs }, () => time(pcmd, pargs, root)));
  if (tool === 'pipe' && process.env.NODE_EXTRA_CA_CERTS) {
    // The same no-op, change and plan as `node bin/pipe.js`, whose node loads NODE_EXTRA_CA_CERTS (node-start.mjs).
    const at = (_cmd, argv) => time(process.execPath, [PIPE_JS, ...argv], root);
    at(bcmd, bargs);
    const noop = median(Array.from({ length: runs }, () => at(bcmd, bargs)));
    const viaNodeChanges = [];
    for (let k = 0; k < runs; k++) {
      writeFileSync(path.join(root, 'in', 'g0', 'f0.txt'), `changed via node ${k} ${Date.now()}\n`);
      viaNodeChanges.push(at(bcmd, bargs));
    }
    const plan = median(Array.from({ length: runs }, () => at(pcmd, pargs)));
    result.viaNode = { cold: Number.NaN, noop, change: median(viaNodeChanges), plan };
  }
  retire(root, n);
  return result;
}

const fmt = (s) =>
  s === Infinity
    ? `> ${SNAKEMAKE_CAP} s`
    : Number.isNaN(s) || s === undefined
      ? '—'
      : s < 10
        ? `${s.toFixed(3)} s`
        : `${s.toFixed(1)} s`;
if (opt('setup')) {
  const tool = opt('setup');
  for (const n of SIZES) {
    const { root, groups } = makeWorkspace(n);
    ({ pipe: writePipe, make: writeMake, ninja: writeNinja, snakemake: writeSnakefile })[tool](
      root,
      ...(tool === 'pipe' ? [groups] : [n, groups]),
    );
    console.log(root);
  }
  process.exit(0);
}
if (!existsSync(PIPE)) throw new Error(`build first: ${PIPE} missing`);
const available = TOOLS.filter((t) => tools[t] && (t === 'pipe' || has(tools[t].build[0])));
const missing = TOOLS.filter((t) => !available.includes(t));
if (missing.length) console.log(`not installed (skipped): ${missing.join(', ')}`);
console.log(`planner benchmark: ${RUNS} runs (medians), -j ${JOBS}, node ${process.version}`);
const startNote = nodeStartNote();
if (startNote) console.log(startNote);
const stale = staleBundleNote(path.resolve(here, '../..'));
if (stale) console.log(stale);
for (const n of SIZES) {
  const rows = {};
  for (const tool of available) {
    if (tool === 'snakemake' && n > SNAKEMAKE_MAX) continue;
    process.stderr.write(`  ${tool} ${n}...\n`);
    rows[tool] = bench(tool, n);
    // `node pipe.js`: pipe's no-op, change and plan with node loading NODE_EXTRA_CA_CERTS (when it is set).
    if (rows[tool].viaNode) rows['node pipe.js'] = rows[tool].viaNode;
  }
  const tasks = n + Math.ceil(n / 100) + 1;
  console.log(`\n${n} files (${tasks} tasks)`);
  console.log(
    `${'tool'.padEnd(12)} ${'cold'.padStart(10)} ${'no-op'.padStart(10)} ${'1 change'.padStart(10)} ${'plan'.padStart(10)}`,
  );
  for (const [tool, r] of Object.entries(rows)) {
    console.log(
      `${tool.padEnd(12)} ${fmt(r.cold).padStart(10)} ${fmt(r.noop).padStart(10)} ${fmt(r.change).padStart(10)} ${fmt(r.plan).padStart(10)}`,
    );
  }
  const p = rows.pipe;
  if (!p) continue; // --tools without pipe: no ratios to print
  for (const [tool, r] of Object.entries(rows)) {
    if (tool === 'pipe' || tool === 'node pipe.js') continue;
    const ratio = (a, b) =>
      Number.isNaN(a) || Number.isNaN(b)
        ? '—'
        : a === Infinity
          ? `> ${(SNAKEMAKE_CAP / b).toFixed(0)}×`
          : `${(a / b).toFixed(1)}×`;
    console.log(
      `  ${tool}/pipe: cold ${ratio(r.cold, p.cold)}, no-op ${ratio(r.noop, p.noop)}, 1 change ${ratio(r.change, p.change)}, plan ${ratio(r.plan, p.plan)}`,
    );
    const b = rows['node pipe.js'];
    if (b)
      console.log(
        `  ${tool}/(node pipe.js): no-op ${ratio(r.noop, b.noop)}, 1 change ${ratio(r.change, b.change)}, plan ${ratio(r.plan, b.plan)}`,
      );
  }
  if (rows['node pipe.js'])
    console.log('  node pipe.js: node loads NODE_EXTRA_CA_CERTS at start, as the pipe command avoids');
  const coldSamples = Object.entries(rows).filter(([, r]) => (r.colds ?? []).length > 1);
  if (coldSamples.length > 0)
    console.log(
      `  cold builds (each in a fresh workspace${n > KEEP_MAX ? ", made right after the previous one's files were removed: see --keep-max" : ''}): ${coldSamples.map(([tool, r]) => `${tool} ${r.colds.map(fmt).join(', ')}`).join('; ')}`,
    );
  const targets = { 10000: { noop: 0.25, change: 0.5 }, 100000: { noop: 2.5 } }[n];
  if (targets) {
    const checks = Object.entries(targets).map(
      ([k, lim]) => `${k} ${fmt(p[k])} ${p[k] <= lim ? '≤' : '>'} ${lim} s ${p[k] <= lim ? 'ok' : 'MISSED'}`,
    );
    console.log(`  targets: ${checks.join('; ')}`);
  }
}
removeSpent();
void execFileSync;

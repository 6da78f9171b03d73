#!/usr/bin/env node
// npm run bench:science — pipe against gammapy 1.0 on the same gammapy analysis configs, side by side in one run.
//
// For each config: pipe's whole process (the `pipe` binary, not npx) cold in a fresh workspace, no-op rebuild and a
// one-parameter change (correlation radius); pipe's in-process stage times from the build record; and, where a
// Python with gammapy is found (PIPE_GAMMAPY_PYTHON, else Debian's /usr/bin/python3), gammapy's whole process and its
// get_observations + get_datasets + get_excess_map: the shipped Crab config, with FoV and with ring background, and
// where the full release is found, PKS 2155-304 and MSH 15-52. Medians of BENCH_REPEATS (default 3) runs; ratios
// gammapy/pipe.
// pipe is timed as users start it: the `pipe` command (packages/cli/bin/pipe), which starts node without
// NODE_EXTRA_CA_CERTS; when that is set, the no-op and the change are also timed as `node bin/pipe.js`, which loads it.
// BENCH_GAMMAPY=0 skips gammapy (e.g. to compare two pipe trees); BENCH_CONFIGS=crab,pks selects configs.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeStartNote, staleBundleNote, withThisNode } from './node-start.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pipeBin = path.join(repo, 'packages/cli/bin/pipe');
const pipeJs = path.join(repo, 'packages/cli/bin/pipe.js');
const shared = process.env.PIPE_SHARED_DIR ?? path.resolve(repo, '../shared');
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (s) => (Number.isFinite(s) ? (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`) : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '—');

const configs = [
  {
    name: 'Crab (4 runs, shipped data)',
    file: 'pipelines/excess_map/crab.yaml',
    gammapyData: path.join(repo, 'pipelines/excess_map/data'),
  },
  {
    name: 'Crab, ring background (4 runs, shipped data)',
    file: 'pipelines/excess_map/configs/crab-ring.yaml',
    gammapyData: path.join(repo, 'pipelines/excess_map/data'),
  },
];
if (existsSync(path.join(shared, 'data/hess-dl3-dr1'))) {
  configs.push({
    name: 'PKS 2155-304 (21 runs)',
    file: 'pipelines/excess_map/configs/pks2155.yaml',
    gammapyData: path.join(shared, 'data'),
  });
  configs.push({
    name: 'MSH 15-52 (20 runs, galactic)',
    file: 'pipelines/excess_map/configs/msh1552.yaml',
    gammapyData: path.join(shared, 'data'),
  });
} else {
  console.log(`(${shared}/data not found: only the shipped Crab config is benchmarked)`);
}

function gammapyPython() {
  if (process.env.BENCH_GAMMAPY === '0') return undefined;
  for (const py of [process.env.PIPE_GAMMAPY_PYTHON, '/usr/bin/python3'].filter(Boolean)) {
    const r = spawnSync(py, ['-c', 'import gammapy; print(gammapy.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  return undefined;
}

function workspace() {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-bench-science-'));
  cpSync(path.join(repo, 'pipe.yaml'), path.join(dir, 'pipe.yaml'));
  cpSync(path.join(repo, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true });
  // Files written within pipe's racy window (100 ms) of a build are racily clean: that build cannot cache the
  // loaded pipeline, and the next one loads it again (~0.25 s instead of ~0.06 s for a no-op). A user saving a
  // config and typing a command is slower than that; a script copying a workspace is not. Wait it out.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  return dir;
}

/**
 * Run a command through /bin/sh, whose `times` reports the CPU time (user + sys) of its children: the whole
 * process's CPU, worker threads included, next to its wall time (on a shared machine wall time alone misleads).
 */
function timed(cmd, args, options) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/bin/sh', ['-c', '"$@"; s=$?; times >&2; exit $s', 'sh', cmd, ...args], {
    ...options,
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  // `times` prints the shell's user/sys, then its children's: "0m1.234s 0m0.210s".
  const secs = (t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  };
  const children = (r.stderr ?? '').trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
  const cpu = children.length === 2 ? secs(children[0]) + secs(children[1]) : Number.NaN;
  return { ...r, wall, cpu };
}

/**
 * One pipe command in `dir`: wall and CPU seconds of the whole process. `viaNode` runs `node bin/pipe.js` instead of
 * the `pipe` command: node then loads NODE_EXTRA_CA_CERTS at its start (see bin/pipe and node-start.mjs).
 */
function pipe(dir, args, env, { viaNode = false } = {}) {
  const all = withThisNode({ ...process.env, ...env, CI: 'true' });
  const r = viaNode
    ? timed(process.execPath, [pipeJs, ...args], { cwd: dir, env: all })
    : timed(pipeBin, args, { cwd: dir, env: all });
  if (r.status !== 0) throw new Error(`pipe ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return { wall: r.wall, cpu: r.cpu };
}

/** Σ task time per step of the newest build record (in-process stage times). */
function stageTimes(dir) {
  const builds = path.join(dir, '.pipe/builds');
  const newest = readdirSync(builds).sort().at(-1);
  const record = JSON.parse(readFileSync(path.join(builds, newest), 'utf8'));
  const stages = {};
  for (const [id, t] of Object.entries(record.tasks)) {
    if (t.state !== 'ran') continue;
    const target = id.replace(/\[.*$/, '');
    stages[target] = (stages[target] ?? 0) + (t.ms ?? 0) / 1000;
  }
  return stages;
}

const gp = gammapyPython();
console.log(
  `pipe: ${pipeBin} (node ${process.version}); gammapy: ${gp ? `${gp.version} (${gp.py})` : 'not found — set PIPE_GAMMAPY_PYTHON or apt-get install python3-gammapy'}`,
);
console.log(
  `kernels: ${process.env.PIPE_KERNELS ?? 'default (native if built, else wasm)'}; repeats: ${repeats}\n`,
);
const startNote = nodeStartNote();
if (startNote) console.log(`${startNote}\n`);
const stale = staleBundleNote(repo);
if (stale) console.log(stale);

// BENCH_CONFIGS=crab,pks: only the configs whose name contains one of these words (case-insensitive).
const only = (process.env.BENCH_CONFIGS ?? '').toLowerCase().split(',').filter(Boolean);
const selected = configs.filter(
  (c) => only.length === 0 || only.some((w) => c.name.toLowerCase().includes(w)),
);
// One unmeasured cold build first: the first build of a run paid for cold page and dentry caches (the Crab, benched
// first, read 943 ms cold where five runs right after gave 631-711 ms).
if (selected.length > 0) {
  const dir = workspace();
  try {
    pipe(dir, ['build', 'excess_map', '--config', path.join(repo, selected[0].file)], {
      GAMMAPY_DATA: selected[0].gammapyData,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
for (const cfg of selected) {
  const env = { GAMMAPY_DATA: cfg.gammapyData };
  const config = path.join(repo, cfg.file);
  const cold = [];
  const noop = [];
  const change = [];
  // As `node bin/pipe.js` (when NODE_EXTRA_CA_CERTS is set): the same no-op and change, with node loading it.
  const viaNode = { noop: [], change: [] };
  const stages = [];
  const cpu = { cold: [], noop: [], change: [] };
  const record = (kind, list, run) => {
    list.push(run.wall);
    cpu[kind].push(run.cpu);
  };
  for (let i = 0; i < repeats; i++) {
    const dir = workspace();
    try {
      record('cold', cold, pipe(dir, ['build', 'excess_map', '--config', config], env));
      stages.push(stageTimes(dir));
      record('noop', noop, pipe(dir, ['build', 'excess_map', '--config', config], env));
      const withRadius = (r) => [
        'build',
        'excess_map',
        '--config',
        config,
        '--param',
        `config.excess_map.correlation_radius=${r.toFixed(2)} deg`,
      ];
      record('change', change, pipe(dir, withRadius(0.11 + i * 0.01), env));
      if (startNote) {
        viaNode.noop.push(pipe(dir, withRadius(0.11 + i * 0.01), env, { viaNode: true }).wall);
        viaNode.change.push(pipe(dir, withRadius(0.31 + i * 0.01), env, { viaNode: true }).wall);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const stageMedian = {};
  for (const key of Object.keys(stages[0] ?? {})) stageMedian[key] = median(stages.map((s) => s[key] ?? 0));
  const inProcess = Object.values(stageMedian).reduce((a, b) => a + b, 0);

  let gpWhole = Number.NaN;
  let gpCpu = Number.NaN;
  const gpStages = { get_observations: [], get_datasets: [], get_excess_map: [], import: [] };
  if (gp) {
    const whole = [];
    const wholeCpu = [];
    for (let i = 0; i < repeats; i++) {
      const out = mkdtempSync(path.join(tmpdir(), 'gammapy-bench-'));
      const r = timed(gp.py, [path.join(repo, 'scripts/bench/gammapy_excess_map.py'), config, out], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (r.status !== 0) throw new Error(`gammapy on ${cfg.file} failed:\n${r.stderr}`);
      whole.push(r.wall);
      wholeCpu.push(r.cpu);
      const line = JSON.parse(r.stdout.trim().split('\n').at(-1));
      for (const k of Object.keys(gpStages)) gpStages[k].push(line.times[k]);
      rmSync(out, { recursive: true, force: true });
    }
    gpCpu = median(wholeCpu);
    gpWhole = median(whole);
  }
  const gpInProcess =
    median(gpStages.get_observations) + median(gpStages.get_datasets) + median(gpStages.get_excess_map);

  console.log(`## ${cfg.name}`);
  console.log('| measure | pipe | gammapy 1.0 | gammapy / pipe |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| whole process, cold | ${fmt(median(cold))} | ${fmt(gpWhole)} | ${ratio(gpWhole, median(cold))} |`,
  );
  console.log(
    `| in-process stages (Σ task times / get_* calls) | ${fmt(inProcess)} | ${fmt(gpInProcess)} | ${ratio(gpInProcess, inProcess)} |`,
  );
  console.log(
    `| whole process, cold: CPU (user + sys) | ${fmt(median(cpu.cold))} | ${fmt(gpCpu)} | ${ratio(gpCpu, median(cpu.cold))} |`,
  );
  for (const [k, v] of Object.entries(stageMedian)) console.log(`|   pipe ${k} | ${fmt(v)} | | |`);
  if (gp)
    for (const k of ['import', 'get_observations', 'get_datasets', 'get_excess_map'])
      console.log(`|   gammapy ${k} | | ${fmt(median(gpStages[k]))} | |`);
  console.log(
    `| no-op rebuild | ${fmt(median(noop))} | (recomputes: ${fmt(gpWhole)}) | ${ratio(gpWhole, median(noop))} |`,
  );
  console.log(
    `| one-parameter change (correlation radius) | ${fmt(median(change))} | (recomputes: ${fmt(gpWhole)}) | ${ratio(gpWhole, median(change))} |`,
  );
  if (viaNode.change.length > 0) {
    console.log(
      `| no-op rebuild, as node bin/pipe.js (loads NODE_EXTRA_CA_CERTS) | ${fmt(median(viaNode.noop))} | | |`,
    );
    console.log(`| one-parameter change, as node bin/pipe.js | ${fmt(median(viaNode.change))} | | |`);
  }
  console.log(
    `(pipe runs: cold ${cold.map(fmt).join(', ')}; no-op ${noop.map(fmt).join(', ')}; change ${change.map(fmt).join(', ')}; CPU cold ${cpu.cold.map(fmt).join(', ')}, no-op ${cpu.noop.map(fmt).join(', ')}, change ${cpu.change.map(fmt).join(', ')})\n`,
  );
}

// The full release reduced (dr1_datasets: 105 runs, one task each), on 1 worker and on every core: how the reduction
// scales over the cores. BENCH_DR1=0 skips it; BENCH_DR1_JOBS=1,2 sets the worker counts.
if (existsSync(path.join(shared, 'data/hess-dl3-dr1')) && process.env.BENCH_DR1 !== '0') {
  const { cpus } = await import('node:os');
  const jobsList = (process.env.BENCH_DR1_JOBS ?? `1,${Math.max(2, cpus().length)}`).split(',').map(Number);
  const env = { GAMMAPY_DATA: path.join(shared, 'data') };
  const runs = {};
  let tasks = 0;
  // Alternated (-j 1, -j 2, -j 1, …): a load that comes and goes on a shared machine falls on both.
  for (let i = 0; i < repeats; i++) {
    for (const jobs of jobsList) {
      const dir = workspace();
      try {
        const r = pipe(dir, ['build', 'dr1_datasets', '-j', String(jobs)], env);
        (runs[jobs] ??= []).push(r);
        tasks = readdirSync(path.join(dir, 'build/hess-dr1/datasets')).length;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const wall1 = median(runs[jobsList[0]].map((r) => r.wall));
  console.log(`## H.E.S.S. DR1, every run reduced (dr1_datasets: ${tasks} datasets), cold, whole process`);
  console.log('| workers (-j) | wall | CPU (user + sys) | speed-up | parallel efficiency |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const jobs of jobsList) {
    const wall = median(runs[jobs].map((r) => r.wall));
    const cpu = median(runs[jobs].map((r) => r.cpu));
    const speedup = wall1 / wall;
    console.log(
      `| ${jobs} | ${fmt(wall)} | ${fmt(cpu)} | ${speedup.toFixed(2)}× | ${((speedup / (jobs / jobsList[0])) * 100).toFixed(0)}% |`,
    );
  }
  console.log(
    `(runs: ${jobsList.map((j) => `-j ${j}: ${runs[j].map((r) => fmt(r.wall)).join(', ')}`).join('; ')})\n`,
  );
}

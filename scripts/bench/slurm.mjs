#!/usr/bin/env node
// Slurm executor benchmark on a real single-node cluster: 1,000 tiny tasks submitted as one array job,
// as one job per task, and as an array with several tasks per element; plus submit→start latency.
// Prints a table of medians over BENCH_REPEATS runs.
//
//   node scripts/bench/slurm.mjs                # starts its own cluster (scripts/slurm-up.sh), stops it after
//   BENCH_TASKS=1000 BENCH_REPEATS=3 BENCH_CPUS=32 BENCH_BATCH=10 BENCH_LATENCY_SAMPLES=10 node scripts/bench/slurm.mjs
//
// Needs the Debian packages slurm-wlm and munge, and a built packages/core (npx tsc -b packages/core).
// BENCH_CPUS declares more CPUs than the machine has (config_overrides): tiny jobs do not care, and it lets
// one scheduling pass start many jobs — what a real cluster with many nodes would do.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(repo, 'packages/core/dist/slurm/index.js');
if (!existsSync(dist)) {
  console.error(`${dist} is missing: build first (npx tsc -b packages/core)`);
  process.exit(2);
}
const { SlurmClient, SlurmExecutor, execFileRunner } = await import(dist);

const N = Number(process.env.BENCH_TASKS ?? 1000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CPUS = process.env.BENCH_CPUS ?? '32';
const BATCH = Number(process.env.BENCH_BATCH ?? 10);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 10);
const env = {
  ...process.env,
  SLURM_CI_DIR: '/tmp/pipe-slurm-bench',
  SLURM_CI_CTLD_PORT: '18837',
  SLURM_CI_SLURMD_PORT: '18838',
  SLURM_CI_SRUN_PORTS: '18850-18899',
  SLURM_CI_CPUS: CPUS,
};

const t0 = performance.now();
const up = execFileSync('bash', [join(repo, 'scripts/slurm-up.sh')], { env, encoding: 'utf8' });
const startup = (performance.now() - t0) / 1000;
const slurmConf = /export SLURM_CONF=(\S+)/.exec(up)?.[1];
const work = mkdtempSync(join(tmpdir(), 'pipe-slurm-bench-'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs N `/bin/true` tasks through the executor; returns submit time, wall time, sbatch calls. */
async function runMode(mode, rep) {
  let sbatchCalls = 0;
  const client = new SlurmClient({
    slurmConf,
    runner: (program, args, options) => {
      if (program === 'sbatch') sbatchCalls++;
      return execFileRunner(program, args, options);
    },
  });
  const buildId = `bench-${mode}-${rep}`;
  const ex = new SlurmExecutor({
    buildId,
    workDir: join(work, buildId),
    client,
    tasksPerJob: mode === 'batched' ? BATCH : 1,
    pollMinMs: 250,
    pollMaxMs: 1000,
  });
  const tasks = Array.from({ length: N }, (_, i) => ({
    id: `t[${i}]`,
    // One target per task defeats grouping: one sbatch per task.
    target: mode === 'per-task' ? `t${i}` : 't',
    deps: [],
    run: { kind: 'command', argv: ['/bin/true'] },
    inputs: {},
    outputs: {},
    params: {},
    env: {},
    resources: {},
  }));
  let submitted = 0;
  let submitDone = 0;
  const start = performance.now();
  const res = await ex.run(tasks, {
    onEvent: (e) => {
      if (e.type === 'submitted' && ++submitted === N) submitDone = performance.now();
    },
  }).done;
  const wall = (performance.now() - start) / 1000;
  const failed = [...res.values()].filter((o) => o.status !== 'done').length;
  if (failed > 0) throw new Error(`${mode}: ${failed} tasks failed`);
  return { submit: (submitDone - start) / 1000, wall, sbatchCalls };
}

/** sbatch returns → the job's first line runs, for single jobs one after another on an idle cluster. */
async function latency() {
  const client = new SlurmClient({ slurmConf });
  const samples = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const stamp = join(work, `stamp-${i}`);
    const script = join(work, `stamp-${i}.sh`);
    writeFileSync(script, `#!/bin/bash\ndate +%s.%N > ${stamp}.tmp && mv ${stamp}.tmp ${stamp}\n`);
    chmodSync(script, 0o755);
    const sub = await client.submit({
      script,
      jobName: 'pipe-bench-latency',
      output: '/dev/null',
      chdir: work,
      resourceArgs: [],
    });
    const submitted = Date.now() / 1000;
    if (!sub.ok) throw new Error(sub.message);
    for (let delay = 10; !existsSync(stamp); delay = Math.min(delay * 1.5, 100)) {
      await new Promise((r) => setTimeout(r, delay));
    }
    samples.push(Number(readFileSync(stamp, 'utf8').trim()) - submitted);
  }
  return samples;
}

/**
 * The H.E.S.S. DR1 reduction (pipelines/hess-dr1: one task per run, 105 runs with the full release) through the
 * `pipe` binary: local executor with 1 and 2 workers, and the Slurm executor, each cold in a fresh workspace.
 */
async function dr1Reduction() {
  const shared = process.env.PIPE_SHARED_DIR ?? join(repo, '../shared');
  if (process.env.BENCH_DR1 === '0' || !existsSync(join(shared, 'data/hess-dl3-dr1'))) {
    console.log('\n(H.E.S.S. DR1 reduction skipped: no ../shared/data/hess-dl3-dr1, or BENCH_DR1=0)');
    return;
  }
  const { cpSync } = await import('node:fs');
  const pipeBin = join(repo, 'packages/cli/bin/pipe.js');
  const modes = [
    ['local, 1 worker', ['-j', '1']],
    ['local, 2 workers', ['-j', '2']],
    ['slurm (one array)', ['--executor', 'slurm']],
  ];
  const rows = [];
  for (const [label, args] of modes) {
    const walls = [];
    for (let rep = 0; rep < Math.min(REPEATS, 2); rep++) {
      const ws = mkdtempSync(join(tmpdir(), 'pipe-dr1-bench-'));
      cpSync(join(repo, 'pipe.yaml'), join(ws, 'pipe.yaml'));
      cpSync(join(repo, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
      const t = performance.now();
      execFileSync(process.execPath, [pipeBin, 'build', 'dr1_datasets', ...args], {
        cwd: ws,
        env: { ...env, CI: 'true', GAMMAPY_DATA: join(shared, 'data'), SLURM_CONF: slurmConf },
        stdio: 'ignore',
      });
      walls.push((performance.now() - t) / 1000);
      rmSync(ws, { recursive: true, force: true });
    }
    rows.push([label, median(walls)]);
    process.stderr.write(`  dr1 ${label}: ${walls.map((w) => w.toFixed(2)).join(', ')} s\n`);
  }
  const base = rows[0][1];
  console.log('\nH.E.S.S. DL3 DR1: every run reduced on its own 4°×4° map (pipe build dr1_datasets, cold)');
  console.log('| executor | wall (s) | speed-up vs 1 worker |');
  console.log('|---|---:|---:|');
  for (const [label, wall] of rows)
    console.log(`| ${label} | ${wall.toFixed(2)} | ${(base / wall).toFixed(2)}× |`);
}

const modes = ['array', 'batched', 'per-task'];
const results = Object.fromEntries(modes.map((m) => [m, []]));
try {
  const lat = await latency();
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const mode of modes) {
      results[mode].push(await runMode(mode, rep));
      process.stderr.write(`  ${mode} #${rep + 1}: ${JSON.stringify(results[mode].at(-1))}\n`);
    }
  }
  const fmt = (x) => x.toFixed(2).padStart(8);
  console.log(
    `\nSlurm executor, ${N} tiny tasks (/bin/true via job-entry), node CPUs=${CPUS}, ${REPEATS} repeats (medians)`,
  );
  console.log(
    `cluster start-up: ${startup.toFixed(2)} s; submit→start latency (n=${lat.length}): median ${median(lat).toFixed(2)} s, min ${Math.min(...lat).toFixed(2)}, max ${Math.max(...lat).toFixed(2)}`,
  );
  console.log('| mode                        | sbatch calls | submit (s) | wall (s) | tasks/s |');
  console.log('|-----------------------------|--------------|------------|----------|---------|');
  const label = {
    array: 'one array job',
    batched: `array, ${BATCH} tasks/element`,
    'per-task': 'one job per task',
  };
  for (const m of modes) {
    const r = results[m];
    const wall = median(r.map((x) => x.wall));
    console.log(
      `| ${label[m].padEnd(27)} | ${String(median(r.map((x) => x.sbatchCalls))).padStart(12)} | ${fmt(median(r.map((x) => x.submit)))}   | ${fmt(wall)} | ${fmt(N / wall)}|`,
    );
  }
  await dr1Reduction();
} finally {
  execFileSync('bash', [join(repo, 'scripts/slurm-down.sh')], { env, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

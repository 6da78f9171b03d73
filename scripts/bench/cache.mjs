#!/usr/bin/env node
// 1. Upload/download throughput of each cache backend on loopback: the local store, nginx (Bazel HTTP) and
//    turborepo-remote-cache, with the project's own clients (streamed, hash-verified). Median of 3 runs.
// 2. The full Crab excess_map pipeline restored from each remote server (`pipe build` in a fresh workspace
//    with an empty local cache, --remote-cache=read) versus recomputed (no remote). Median of --crab-runs.
//
//   npm run build && node scripts/bench/cache.mjs [--mib 64] [--runs 3] [--crab-runs 3] [--kernels js]
//                                                 [--only throughput|crab]
//
// Uses the servers named by PIPE_TEST_* variables, else starts them with scripts/cache-servers-up.sh
// (and leaves them running; stop them with scripts/cache-servers-down.sh). Prints a table in MB/s (10^6 B/s).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { BazelHttpCache, LocalStore, TurboRemoteCache, hashFile } = await import(
  join(root, 'packages/cache/dist/index.js')
);

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    'crab-runs': { type: 'string', default: '3' },
    kernels: { type: 'string', default: 'js' },
    only: { type: 'string' },
  },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const CRAB_RUNS = Number(values['crab-runs']);

function serverEnv() {
  const given = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PIPE_TEST_')));
  if (given.PIPE_TEST_BAZEL_CACHE_URL && given.PIPE_TEST_TURBO_CACHE_URL) return given;
  const out = execFileSync('bash', [join(root, 'scripts/cache-servers-up.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = {};
  for (const m of out.matchAll(/^export (PIPE_TEST_[A-Z_]+)=(.*)$/gm))
    env[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
  return env;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

async function throughput(env) {
  const dir = await mkdtemp(join(tmpdir(), 'pipe-bench-cache-'));
  try {
    const rows = [];
    for (let run = 0; run < RUNS; run++) {
      // A fresh random file per run, so no backend can answer "already stored".
      const src = join(dir, `blob-${run}`);
      const out = createWriteStream(src);
      for (let i = 0; i < MIB; i++)
        if (!out.write(randomBytes(1 << 20))) await new Promise((r) => out.once('drain', r));
      await new Promise((r) => out.end(r));
      const { sha256, size } = await hashFile(src);
      const backends = [
        ['local store', new LocalStore({ root: join(dir, 'store') })],
        [
          'nginx (bazel)',
          new BazelHttpCache({ url: env.PIPE_TEST_BAZEL_CACHE_URL, token: env.PIPE_TEST_BAZEL_CACHE_TOKEN }),
        ],
        [
          'turborepo-remote-cache',
          new TurboRemoteCache({
            url: env.PIPE_TEST_TURBO_CACHE_URL,
            token: env.PIPE_TEST_TURBO_CACHE_TOKEN,
            team: env.PIPE_TEST_TURBO_CACHE_TEAM,
          }),
        ],
      ];
      for (const [name, backend] of backends) {
        let t0 = performance.now();
        const put = await backend.putBlob(sha256, src);
        const putMs = performance.now() - t0;
        if (!put.ok) throw new Error(`${name}: put failed: ${JSON.stringify(put.failure)}`);
        const dest = join(dir, `back-${run}`);
        t0 = performance.now();
        const got = await backend.fetchBlob(sha256, dest);
        const getMs = performance.now() - t0;
        if (!got.ok || !got.value) throw new Error(`${name}: fetch failed: ${JSON.stringify(got)}`);
        await rm(dest);
        rows.push({ name, run, put: mbps(size, putMs), get: mbps(size, getMs) });
      }
      await rm(src);
    }
    console.log(
      `cache throughput, ${MIB} MiB random blob, loopback, median of ${RUNS} (MB/s; put includes hashing the source, get includes verifying)`,
    );
    console.log('| backend | upload MB/s | download MB/s | runs (up/down) |');
    console.log('| --- | ---: | ---: | --- |');
    for (const name of [...new Set(rows.map((r) => r.name))]) {
      const mine = rows.filter((r) => r.name === name);
      const runs = mine.map((r) => `${r.put.toFixed(0)}/${r.get.toFixed(0)}`).join(', ');
      console.log(
        `| ${name} | ${median(mine.map((r) => r.put)).toFixed(0)} | ${median(mine.map((r) => r.get)).toFixed(0)} | ${runs} |`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Crab pipeline: restore from each remote vs recompute.

const PIPE = join(root, 'packages/cli/bin/pipe.js');

/** A fresh workspace with the repository's pipe.yaml and pipelines/ (its own empty .pipe/cache). */
function crabWorkspace(dir, name) {
  const ws = join(dir, name);
  cpSync(join(root, 'pipe.yaml'), join(ws, 'pipe.yaml'));
  cpSync(join(root, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
  return ws;
}

/** `pipe build excess_map` in `ws`; wall time in ms and the count of tasks by end state. */
function pipeBuild(ws, remoteEnv, extra = []) {
  const env = {
    ...process.env,
    PIPE_REMOTE_CACHE: '',
    PIPE_REMOTE_CACHE_TOKEN: '',
    PIPE_CACHE_DIR: '',
    ...remoteEnv,
  };
  const t0 = performance.now();
  const out = spawnSync(
    process.execPath,
    [PIPE, 'build', 'excess_map', '--kernels', values.kernels, '--json', ...extra],
    {
      cwd: ws,
      env,
      encoding: 'utf8',
    },
  );
  const ms = performance.now() - t0;
  if (out.status !== 0) throw new Error(`pipe build failed in ${ws}:\n${out.stderr}`);
  const states = {};
  for (const line of out.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    if (e.event === 'task-end') states[e.state] = (states[e.state] ?? 0) + 1;
  }
  const warnings = out.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  if (warnings.length) throw new Error(`unexpected warnings: ${warnings.join('; ')}`);
  return { ms, states };
}

async function crab(env) {
  const dir = await mkdtemp(join(tmpdir(), 'pipe-bench-crab-'));
  try {
    const tag = `bench${randomBytes(4).toString('hex')}`;
    const remotes = [
      [
        'nginx (bazel)',
        {
          PIPE_REMOTE_CACHE: `${env.PIPE_TEST_BAZEL_CACHE_URL}/${tag}`,
          PIPE_REMOTE_CACHE_TOKEN: env.PIPE_TEST_BAZEL_CACHE_TOKEN,
        },
      ],
      [
        'turborepo-remote-cache',
        {
          PIPE_REMOTE_CACHE: env.PIPE_TEST_TURBO_CACHE_URL,
          PIPE_REMOTE_CACHE_TOKEN: env.PIPE_TEST_TURBO_CACHE_TOKEN,
          PIPE_REMOTE_CACHE_PROTOCOL: 'turbo',
          PIPE_REMOTE_CACHE_TEAM: tag,
        },
      ],
    ];
    let n = 0;
    const recompute = [];
    const restore = Object.fromEntries(remotes.map(([name]) => [name, []]));
    let tasks = 0;
    // Populate each remote once (a fresh namespace: nothing to restore yet; timed as a recompute + upload).
    const populate = {};
    for (const [name, remoteEnv] of remotes) {
      const r = pipeBuild(crabWorkspace(dir, `w${n++}`), remoteEnv, ['--remote-cache=readwrite']);
      tasks = r.states.ran;
      populate[name] = r.ms;
    }
    for (let run = 0; run < CRAB_RUNS; run++) {
      const r = pipeBuild(crabWorkspace(dir, `w${n++}`), {});
      if (r.states.ran !== tasks) throw new Error(`recompute ran ${r.states.ran} of ${tasks} tasks`);
      recompute.push(r.ms);
      for (const [name, remoteEnv] of remotes) {
        const got = pipeBuild(crabWorkspace(dir, `w${n++}`), remoteEnv, ['--remote-cache=read']);
        if (got.states.restored !== tasks)
          throw new Error(`${name}: restored ${JSON.stringify(got.states)} of ${tasks}`);
        restore[name].push(got.ms);
      }
    }
    const base = median(recompute);
    console.log('');
    console.log(
      `Crab excess_map pipeline (${tasks} tasks, kernels ${values.kernels}), fresh workspace and empty local cache, wall time of \`pipe build\` (incl. node start-up), median of ${CRAB_RUNS}`,
    );
    console.log('| how | median s | vs recompute | runs (s) |');
    console.log('| --- | ---: | ---: | --- |');
    const fmt = (xs) => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    console.log(`| recompute (no remote) | ${(base / 1000).toFixed(2)} | 1.00 | ${fmt(recompute)} |`);
    for (const [name] of remotes) {
      const m = median(restore[name]);
      console.log(
        `| restore from ${name} | ${(m / 1000).toFixed(2)} | ${(m / base).toFixed(2)} (${(base / m).toFixed(1)}x faster) | ${fmt(restore[name])} |`,
      );
    }
    for (const [name] of remotes)
      console.log(`(populating ${name}: recompute + upload ${(populate[name] / 1000).toFixed(2)} s)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const env = serverEnv();
if (values.only !== 'crab') await throughput(env);
if (values.only !== 'throughput') await crab(env);

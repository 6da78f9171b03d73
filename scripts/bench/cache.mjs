#!/usr/bin/env node
// Upload/download throughput of each cache backend on loopback: the local store, nginx (Bazel HTTP) and
// turborepo-remote-cache, with the project's own clients (streamed, hash-verified). Median of 3 runs.
//
//   npx tsc -b packages/cache && node scripts/bench/cache.mjs [--mib 64] [--runs 3]
//
// Uses the servers named by PIPE_TEST_* variables, else starts them with scripts/cache-servers-up.sh
// (and leaves them running; stop them with scripts/cache-servers-down.sh). Prints a table in MB/s (10^6 B/s).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
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
  options: { mib: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);

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

async function main() {
  const env = serverEnv();
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

await main();

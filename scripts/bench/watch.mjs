// Watch-mode latency on the Crab excess-map pipeline: time from saving a file to the build-end of
// `pipe watch` (the excess map is published before build-end), for a parameter change and for an
// edit of a kernel's AssemblyScript (recompile included), with --kernels wasm. Runs in a temp copy
// of the workspace and of the kernels package (PIPE_KERNELS_ROOT), so the repository is untouched.
// Usage: npm run bench:watch [-- --runs N]. Prints every sample and the medians.
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KERNELS = path.join(REPO, 'packages/kernels');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const TARGETS = { param: 1000, kernel: 3000 };
/** Longer than the worker pool's idle timeout. */
const PAUSE_MS = 3000;

const ws = mkdtempSync(path.join(tmpdir(), 'pipe-bench-watch-'));
cpSync(path.join(REPO, 'pipe.yaml'), path.join(ws, 'pipe.yaml'));
cpSync(path.join(REPO, 'pipelines'), path.join(ws, 'pipelines'), { recursive: true });
const kernels = mkdtempSync(path.join(tmpdir(), 'pipe-bench-kernels-'));
for (const part of [
  'assembly',
  'src',
  'build',
  'scripts',
  'asconfig.json',
  'package.json',
  'native/src',
  'native/Cargo.toml',
]) {
  if (existsSync(path.join(KERNELS, part)))
    cpSync(path.join(KERNELS, part), path.join(kernels, part), { recursive: true });
}
symlinkSync(path.join(REPO, 'node_modules'), path.join(kernels, 'node_modules'));

const child = spawn(
  process.execPath,
  [path.join(REPO, 'packages/cli/bin/pipe.js'), 'watch', 'excess_map', '--kernels', 'wasm', '--json'],
  {
    cwd: ws,
    env: { ...process.env, PIPE_KERNELS_ROOT: kernels },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const events = [];
let waiter;
let buffer = '';
child.stdout.on('data', (d) => {
  buffer += d.toString();
  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    e.at = performance.now();
    events.push(e);
    waiter?.();
  }
});
child.on('exit', (code) => {
  if (code !== 0 && code !== null) {
    console.error(`pipe watch exited with ${code}`);
    process.exit(1);
  }
});

let cursor = 0;
async function next(name, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = events.findIndex((e, k) => k >= cursor && e.event === name);
    if (i >= 0) {
      cursor = i + 1;
      return events[i];
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}`);
    await new Promise((r) => {
      waiter = r;
      setTimeout(r, 1000);
    });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Where the time went: event seen (debounce), recompile + reload + plan, the excess_map task itself. */
const detail = (r) =>
  `(seen ${r.seen.toFixed(0)} ms, compile ${r.compile} ms, to build-start ${r.toBuild.toFixed(0)} ms, excess_map task ${r.task} ms; ran ${r.ran.join(', ')})`;

/** Save `file` with `content`, then wait for the rebuild; returns the latency and what ran. */
async function measure(file, content) {
  if (cursor === 0 || events[cursor - 1]?.event !== 'idle') await next('idle');
  const before = statSync(path.join(ws, 'products/excess_map/excess.fits.gz')).mtimeMs;
  const t0 = performance.now();
  writeFileSync(file, content);
  const end = await next('build-end');
  const after = statSync(path.join(ws, 'products/excess_map/excess.fits.gz')).mtimeMs;
  const during = events.slice(0, cursor).filter((e) => e.at >= t0);
  const compile = during.filter((e) => e.event === 'kernel-rebuilt').reduce((s, e) => s + e.ms, 0);
  const seen = during.find((e) => e.event === 'change')?.at ?? t0;
  const started = during.find((e) => e.event === 'build-start')?.at ?? t0;
  const task = during.find((e) => e.event === 'task-end' && e.id === 'excess_map')?.ms ?? 0;
  if (end.status !== 'succeeded') throw new Error(`build ${end.status}`);
  if (!end.ran.includes('excess_map') || after === before)
    throw new Error(`the excess map was not rebuilt (ran: ${end.ran.join(', ')})`);
  return {
    ms: end.at - t0,
    ran: end.ran,
    build: end.ms,
    compile,
    seen: seen - t0,
    toBuild: started - seen,
    task,
  };
}

try {
  console.log(`pipe watch latency, Crab excess_map, --kernels wasm, ${RUNS} runs each (workspace ${ws})`);
  const first = await next('build-end');
  await next('watch-start');
  console.log(`initial build: ${(first.ms / 1000).toFixed(2)} s (${first.ran.length} tasks ran)`);

  const config = path.join(ws, 'pipelines/excess_map/crab.yaml');
  const configText = readFileSync(config, 'utf8');
  const param = [];
  for (let i = 0; i < RUNS; i++) {
    // A radius not used before: a real rerun, never a cache restore.
    const radius = (0.1 + 0.003 * (i + 1)).toFixed(3);
    const r = await measure(
      config,
      configText.replace(/correlation_radius: [0-9.]+ deg/, `correlation_radius: ${radius} deg`),
    );
    param.push(r);
    console.log(`  parameter  ${r.ms.toFixed(0).padStart(6)} ms  ${detail(r)}`);
  }

  const source = path.join(kernels, 'assembly/cashStatistics.ts');
  const sourceText = readFileSync(source, 'utf8');
  const kernel = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(source, `${sourceText}\n// bench edit ${i} ${Date.now()}\n`);
    kernel.push(r);
    console.log(`  kernel     ${r.ms.toFixed(0).padStart(6)} ms  ${detail(r)}`);
  }

  // Worker threads stop after a short idle time: an edit after a pause starts a cold worker.
  const cold = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    await next('idle');
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const radius = (0.2 + 0.003 * (i + 1)).toFixed(3);
    const r = await measure(
      config,
      configText.replace(/correlation_radius: [0-9.]+ deg/, `correlation_radius: ${radius} deg`),
    );
    cold.push(r);
    console.log(
      `  parameter after ${PAUSE_MS / 1000} s idle ${r.ms.toFixed(0).padStart(6)} ms  ${detail(r)}`,
    );
  }

  const rows = [
    ['parameter change', median(param.map((r) => r.ms)), TARGETS.param],
    ['kernel edit (cashStatistics)', median(kernel.map((r) => r.ms)), TARGETS.kernel],
    [
      `parameter change after ${PAUSE_MS / 1000} s idle (cold worker)`,
      median(cold.map((r) => r.ms)),
      TARGETS.param,
    ],
  ];
  const load = (await import('node:os')).loadavg()[0].toFixed(1);
  console.log(`\nload average ${load} on ${(await import('node:os')).cpus().length} cores`);
  console.log('\n| change | median save → excess map | target |\n| --- | --- | --- |');
  for (const [what, ms, target] of rows)
    console.log(
      `| ${what} | ${(ms / 1000).toFixed(2)} s | < ${target / 1000} s${ms <= target ? '' : ' (missed)'} |`,
    );
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  rmSync(ws, { recursive: true, force: true });
  rmSync(kernels, { recursive: true, force: true });
}

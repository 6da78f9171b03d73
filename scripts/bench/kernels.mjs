#!/usr/bin/env node
// `npm run bench:kernels`: throughput of each kernel on each backend (TypeScript reference, WASM,
// native single-thread and all cores), next to plain C (gcc -O3), numpy (when python3 has it) and
// the machine's memory bandwidth. Medians of BENCH_REPEATS (≥ 3) runs; ratios against the reference.
// Needs `npm run build -w @pipe/kernels` first. BENCH_EVENTS=1e6,1e7 sets the synthetic sizes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskKernel, loadKernels, referenceKernels, tryLoadKernels } from '@pipe/kernels';

const here = dirname(fileURLToPath(import.meta.url));
const repeats = Math.max(3, Number(process.env.BENCH_REPEATS ?? 3));
const sizes = (process.env.BENCH_EVENTS ?? '1e6,1e7').split(',').map(Number);
const dataDir = '/work/shared/data/hess-dl3-dr1/data';
const rows = [];
const correlationNotes = [];

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median wall and CPU seconds of `fn` over the repeats (after one warm-up call). The CPU time (all
 * threads of this process) gives a per-core figure that a busy shared machine distorts much less.
 */
function time(fn, reps = repeats) {
  fn();
  const wall = [];
  const cpu = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** `seconds` is { wall, cpu } or a number (CPU seconds measured by an external baseline). */
function record(kernel, impl, items, seconds, unit) {
  const t = typeof seconds === 'number' ? { wall: undefined, cpu: seconds } : seconds;
  rows.push({
    kernel,
    impl,
    wall: t.wall === undefined ? undefined : items / t.wall,
    cpu: items / t.cpu,
    unit,
  });
}

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** WCS block of an n×n CAR map centred on (lon0, lat0) (see packages/kernels/src/reference/sky.ts). */
function wcsBlock(lon0, lat0, n, binsz) {
  const d = Math.PI / 180;
  const [cl, sl, cb, sb] = [Math.cos(lon0 * d), Math.sin(lon0 * d), Math.cos(lat0 * d), Math.sin(lat0 * d)];
  return Float64Array.from([
    0,
    (n + 1) / 2 - 1,
    (n + 1) / 2 - 1,
    -binsz,
    binsz,
    cb * cl,
    cb * sl,
    sb,
    -sl,
    cl,
    0,
    -sb * cl,
    -sb * sl,
    cb,
  ]);
}

const lnEdges = Float64Array.from({ length: 11 }, (_, k) => (k * Math.log(10)) / 10);
const crab = wcsBlock(83.633, 22.014, 100, 0.02);

function syntheticEvents(n) {
  const rnd = lcg(12345);
  const ra = new Float64Array(n);
  const dec = new Float64Array(n);
  const energy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ra[i] = Math.fround(83.633 + (rnd() - 0.5) * 2.4);
    dec[i] = Math.fround(22.014 + (rnd() - 0.5) * 2.4);
    energy[i] = Math.fround(Math.exp(rnd() * Math.log(12)));
  }
  return { ra, dec, energy };
}

async function realEvents() {
  if (!existsSync(dataDir)) return { skip: `no data at ${dataDir}` };
  let readFitsSync;
  try {
    ({ readFitsSync } = await import('@pipe/astro'));
  } catch (error) {
    return { skip: `@pipe/astro not loadable (${error.message.split('\n')[0]})` };
  }
  if (typeof readFitsSync !== 'function') return { skip: '@pipe/astro has no readFitsSync' };
  const parts = readdirSync(dataDir)
    .filter((f) => f.endsWith('.fits.gz'))
    .map((f) => readFitsSync(join(dataDir, f)).hdu('EVENTS').table());
  const n = parts.reduce((a, t) => a + t.rows, 0);
  const out = {
    ra: new Float64Array(n),
    dec: new Float64Array(n),
    energy: new Float64Array(n),
    runs: parts.length,
  };
  let at = 0;
  for (const t of parts) {
    out.ra.set(t.float64('RA'), at);
    out.dec.set(t.float64('DEC'), at);
    out.energy.set(t.float64('ENERGY'), at);
    at += t.rows;
  }
  return out;
}

/**
 * Native binning on 1 and on all threads: how many cores the threaded run kept busy (its CPU time over
 * its wall time, medians) and its wall-clock speed-up. On a machine shared with other jobs the threads
 * get fewer cores than asked for, and the speed-up follows the cores, not the kernel.
 */
const scalingNotes = [];

/** The load averages (1, 5, 15 min) as printed: the machine is shared, so figures come with them. */
const loadNow = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');

function benchBinning(label, ev, backends) {
  const n = ev.ra.length;
  const cube = new Float32Array(10 * 100 * 100);
  const reps = n > 2e6 ? repeats : Math.max(repeats, 5);
  let want;
  const native = {};
  for (const { name, kernels, threads } of backends) {
    if (threads) process.env.PIPE_KERNEL_THREADS = String(threads);
    else delete process.env.PIPE_KERNEL_THREADS;
    // The reference is slow: time it on a slice of at most 2e6 events.
    const m = name === 'js' ? Math.min(n, 2e6) : n;
    const s = time(() => {
      cube.fill(0);
      kernels.binEvents(ev.ra, ev.dec, ev.energy, m, crab, 100, 100, lnEdges, 10, cube);
    }, reps);
    if (m === n) {
      const total = cube.reduce((a, b) => a + b, 0);
      want ??= total;
      if (total !== want) throw new Error(`binEvents ${name}: ${total} events counted, expected ${want}`);
    }
    record(`binEvents ${label}`, name, m, s, 'events/s');
    if (threads) native[threads] = s;
  }
  delete process.env.PIPE_KERNEL_THREADS;
  const all = Math.max(...Object.keys(native).map(Number));
  if (native[1] && all > 1)
    scalingNotes.push(
      `binEvents ${label}: native ${all} threads kept ${(native[all].cpu / native[all].wall).toFixed(2)} ` +
        `cores busy (CPU / wall time), wall-clock speed-up ${(native[1].wall / native[all].wall).toFixed(2)}× ` +
        `over 1 thread (${(native[1].cpu / native[1].wall).toFixed(2)} cores busy)`,
    );
}

function benchC(n) {
  const gcc = spawnSync('gcc', ['--version']);
  if (gcc.status !== 0) return console.log('C baseline skipped: gcc not found');
  const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-c-'));
  try {
    const exe = join(dir, 'bin');
    execFileSync('gcc', [
      '-O3',
      '-march=native',
      '-o',
      exe,
      join(here, '../../packages/kernels/bench-c/bin.c'),
      '-lm',
    ]);
    const out = execFileSync(exe, [String(n), String(repeats)], { encoding: 'utf8' });
    for (const line of out.trim().split('\n')) {
      const [name, seconds] = line.split(' ');
      if (name === 'exact')
        record(
          `binEvents synthetic ${n.toExponential(0)}`,
          'C gcc -O3 (libm, 1 core)',
          n,
          Number(seconds),
          'events/s',
        );
      if (name === 'accum')
        record('accumulate only (rint + add)', 'C gcc -O3', n, Number(seconds), 'events/s');
      if (name === 'read')
        record('memory read (3 × f64 per event)', 'C gcc -O3', n * 24, Number(seconds), 'bytes/s');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchNumpy(n) {
  const script = `
import sys, time, numpy as np
n = int(sys.argv[1]); reps = int(sys.argv[2]); rng = np.random.default_rng(1)
fx = rng.uniform(-2, 102, n); fy = rng.uniform(-2, 102, n); fe = rng.uniform(-1, 11, n)
def med(f):
    f(); t = []
    for _ in range(reps):
        t0 = time.process_time(); f(); t.append(time.process_time() - t0)
    return sorted(t)[len(t) // 2]
def hdd(): np.histogramdd((fe, fy, fx), bins=(10, 100, 100), range=((-0.5, 9.5), (-0.5, 99.5), (-0.5, 99.5)))
def bc():
    ix = np.rint(fx); iy = np.rint(fy); ie = np.rint(fe)
    ok = (ix >= 0) & (ix < 100) & (iy >= 0) & (iy < 100) & (ie >= 0) & (ie < 10)
    np.bincount(((ie[ok] * 100 + iy[ok]) * 100 + ix[ok]).astype(np.int64), minlength=100000)
print(med(hdd), med(bc))
`;
  // The first python3 on the PATH may lack numpy (a pyenv shim, say) where Debian's has it (python3-gammapy
  // pulls in python3-numpy): take the first interpreter that imports it.
  let py;
  for (const bin of [process.env.PIPE_NUMPY_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    py = spawnSync(bin, ['-c', script, String(n), String(repeats)], { encoding: 'utf8' });
    if (py.status === 0) break;
  }
  if (py.status !== 0)
    return console.log(
      `numpy baseline skipped: ${(py.stderr || 'python3 not found').trim().split('\n').pop()}`,
    );
  const [hdd, bc] = py.stdout.trim().split(' ').map(Number);
  record('accumulate only (rint + add)', 'numpy histogramdd', n, hdd, 'events/s');
  record('accumulate only (rint + add)', 'numpy index + bincount', n, bc, 'events/s');
}

function benchAccumulate(n, native) {
  const rnd = lcg(7);
  const fx = Float64Array.from({ length: n }, () => -2 + rnd() * 104);
  const fy = Float64Array.from({ length: n }, () => -2 + rnd() * 104);
  const fe = Float64Array.from({ length: n }, () => -1 + rnd() * 12);
  const cube = new Float32Array(100000);
  const rint = (v) => {
    const f = Math.floor(v);
    const d = v - f;
    return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  };
  record(
    'accumulate only (rint + add)',
    'js',
    n,
    time(() => {
      for (let i = 0; i < n; i++) {
        const ix = rint(fx[i]);
        const iy = rint(fy[i]);
        const ie = rint(fe[i]);
        if (ix >= 0 && ix < 100 && iy >= 0 && iy < 100 && ie >= 0 && ie < 10)
          cube[(ie * 100 + iy) * 100 + ix] += 1;
      }
    }),
    'events/s',
  );
  if (native)
    record(
      'accumulate only (rint + add)',
      'native',
      n,
      time(() => native.accumulateBinsBench(fx, fy, fe, 100, 100, 10, cube)),
      'events/s',
    );
}

function benchMaps(allBackends) {
  // Map kernels are single-threaded: one native row.
  const backends = allBackends
    .filter((b) => !b.threads || b.threads === 1)
    .map((b) => ({ ...b, name: b.threads ? 'native' : b.name, threads: undefined }));
  const nx = 500;
  const ny = 500;
  const rnd = lcg(3);
  // Counts (integers: native may take its exact FFT for large radii) and a float map (a background: the
  // direct sum on every backend).
  const images = {
    counts: Float64Array.from({ length: nx * ny }, () => Math.floor(rnd() * 5)),
    float: Float64Array.from({ length: nx * ny }, () => rnd() * 5),
  };
  const out = new Float64Array(nx * ny);
  for (const [kind, img] of Object.entries(images))
    for (const [r, deg] of [
      [5, '0.1°'],
      [25, '0.5°'],
    ]) {
      const { kernel, kn } = diskKernel(r);
      for (const { name, kernels, threads } of backends)
        if (!threads)
          record(
            `correlateDisk ${deg} ${kind} (r=${r} px, 500²)`,
            name,
            nx * ny,
            time(() => kernels.correlateDisk(img, nx, ny, kernel, kn, out)),
            'pixels/s',
          );
    }
  // The first correlation with a kernel: native's FFT also transforms the kernel then (later calls with it reuse
  // the spectrum its thread cached). Each call here gets a new kernel (the disk times an integer).
  {
    const { kernel, kn } = diskKernel(25);
    for (const { name, kernels, threads } of backends)
      if (!threads) {
        let scale = 1;
        record(
          'correlateDisk 0.5° with a new kernel each call, counts (r=25 px, 500²)',
          name,
          nx * ny,
          time(() => {
            scale++;
            kernels.correlateDisk(
              images.counts,
              nx,
              ny,
              kernel.map((v) => v * scale),
              kn,
              out,
            );
          }),
          'pixels/s',
        );
      }
  }
  correlationNotes.push(...benchCorrelateC());
  const n = 1_000_000;
  const nOn = Float64Array.from({ length: n }, () => Math.floor(rnd() * 300));
  const muB = Float64Array.from({ length: n }, () => rnd() * 300);
  const o = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (const { name, kernels, threads } of backends)
    if (!threads)
      record(
        'cashStatistics (1e6)',
        name,
        n,
        time(() => kernels.cashStatistics(nOn, muB, o[0], o[1], o[2])),
        'pixels/s',
      );
}

/**
 * Direct versus FFT correlation in plain C (packages/kernels/bench-c/correlate.c) on the same 500² map:
 * the evidence for the algorithm choice of correlateDisk (package README, "Correlation"). Adds the C rows
 * to the 0.1° / 0.5° tables (so the ratio line covers them) and returns one summary line per radius.
 */
function benchCorrelateC() {
  const gcc = spawnSync('gcc', ['--version']);
  if (gcc.status !== 0) return ['correlation C baseline skipped: gcc not found'];
  const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-corr-'));
  try {
    const exe = join(dir, 'correlate');
    execFileSync('gcc', [
      '-O3',
      '-march=native',
      '-ffp-contract=off',
      '-o',
      exe,
      join(here, '../../packages/kernels/bench-c/correlate.c'),
      '-lm',
    ]);
    const out = execFileSync(exe, [String(repeats)], { encoding: 'utf8' });
    const direct = new Map();
    const fft = new Map(); // radius → fastest tile side
    for (const line of out.trim().split('\n')) {
      const [kind, r, ...rest] = line.split(' ');
      if (kind === 'direct') direct.set(Number(r), Number(rest[0]));
      if (kind === 'fft') {
        const [side, seconds, err, peak] = rest.map(Number);
        const best = fft.get(Number(r));
        if (!best || seconds < best.seconds) fft.set(Number(r), { side, seconds, err, peak });
      }
    }
    const label = { 5: '0.1°', 25: '0.5°' };
    const summary = [];
    for (const [r, seconds] of direct) {
      const f = fft.get(r);
      if (label[r]) {
        const kernel = `correlateDisk ${label[r]} counts (r=${r} px, 500²)`;
        record(kernel, 'C gcc -O3 direct (row cascade)', 250_000, seconds, 'pixels/s');
        if (f) record(kernel, 'C gcc -O3 FFT (radix-2, best tile)', 250_000, f.seconds, 'pixels/s');
      }
      if (f)
        summary.push(
          `r=${r} px: direct ${(seconds * 1e3).toFixed(2)} ms, FFT ${(f.seconds * 1e3).toFixed(2)} ms ` +
            `(tiles ${f.side}²; FFT/direct ${(f.seconds / seconds).toFixed(2)}×; max |FFT − direct| ` +
            `${f.err.toExponential(1)} on sums ≤ ${f.peak})`,
        );
    }
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The per-run kernels of the stacking and the background template, at the PKS 2155-304 sizes (200² px,
 * 10 reco / 20 true energy bins; a 12 × 12 × 20 BKG_3D table). Single-threaded: one native row.
 */
function benchStackAndBkg(allBackends) {
  const backends = allBackends.filter((b) => !b.threads || b.threads === 1);
  const rnd = lcg(11);
  const nx = 200;
  const n = nx * nx;
  const nP = 20;
  const src = Float32Array.from({ length: nP * n }, () => rnd() * 10);
  const mask = Uint8Array.from({ length: nP * n }, (_, i) => (i % n < n * 0.9 ? 1 : 0));
  const dst = new Float32Array(nP * 240 * 240);
  const dstMask = new Uint8Array(nP * 240 * 240);
  for (const { name, kernels } of backends) {
    const label = name.startsWith('native') ? 'native' : name;
    record(
      `stackAdd (20 × 200² into 240²)`,
      label,
      nP * n,
      time(() => kernels.stackAdd(dst, 240, 240, src, nx, nx, nP, 20, 20, mask, nP, 1)),
      'elements/s',
    );
    record(
      `stackMaskOr (20 × 200² into 240²)`,
      label,
      nP * n,
      time(() => kernels.stackMaskOr(dstMask, 240, 240, mask, nx, nx, nP, 20, 20)),
      'elements/s',
    );
  }
  const [nE, nL, nK] = [20, 12, 10];
  const lnTable = Float64Array.from({ length: nE * nL * nL }, () => Math.log(1e-6 + rnd() * 1e-3));
  const lnENodes = Float64Array.from({ length: nE }, (_, k) => Math.log(0.1) + k * 0.35);
  const nodes = Float64Array.from({ length: nL }, (_, k) => -5.5 + k);
  const fovLon = Float64Array.from({ length: n }, (_, p) => ((p % nx) - nx / 2) * 0.02);
  const fovLat = Float64Array.from({ length: n }, (_, p) => (Math.floor(p / nx) - nx / 2) * 0.02);
  const bounds = Float64Array.of(0.1, 100, -6, 6, -6, 6);
  const edges = Float64Array.from({ length: nK + 1 }, (_, k) => 0.5 * 20 ** (k / nK));
  const omega = new Float64Array(n).fill(1.2e-7);
  const out = new Float32Array(nK * n);
  for (const { name, kernels } of backends)
    record(
      'evalBkgMap (200², 10 bins, 12² × 20 table)',
      name.startsWith('native') ? 'native' : name,
      n,
      time(() =>
        kernels.evalBkgMap(
          fovLon,
          fovLat,
          n,
          lnTable,
          lnENodes,
          nE,
          nodes,
          nL,
          nodes,
          nL,
          bounds,
          edges,
          nK,
          omega,
          1e9,
          new Float64Array(3 * (nK + 1)),
          out,
        ),
      ),
      'pixels/s',
    );
}

function benchCopy(n) {
  // The bytes the WASM backend moves to pass binning input (24 per event), as one JS-to-JS copy of the whole input:
  // a bound on that cost, not the backend's own copy (16 Ki events at a time into linear memory, which stays in cache).
  const src = new Float64Array(3 * n);
  const dst = new Float64Array(3 * n);
  record(
    'copying the binning input (3 × f64 per event, one JS-to-JS copy)',
    'TypedArray.set',
    n * 24,
    time(() => dst.set(src)),
    'bytes/s',
  );
}

function format(rate, unit) {
  const scaled =
    unit === 'bytes/s' ? `${(rate / 1e9).toFixed(2)} GB/s` : `${(rate / 1e6).toFixed(1)} M ${unit}`;
  return scaled;
}

function printTable() {
  const byKernel = new Map();
  for (const r of rows) byKernel.set(r.kernel, [...(byKernel.get(r.kernel) ?? []), r]);
  const lines = [
    '| kernel | implementation | wall-clock throughput | per CPU-second | × reference (js), CPU |',
    '|---|---|---|---|---|',
  ];
  for (const [kernel, list] of byKernel) {
    const base = list.find((r) => r.impl === 'js')?.cpu;
    for (const r of list) {
      const wall = r.wall === undefined ? '—' : format(r.wall, r.unit);
      const ratio = base ? `${(r.cpu / base).toFixed(2)}×` : '—';
      lines.push(`| ${kernel} | ${r.impl} | ${wall} | ${format(r.cpu, r.unit)} | ${ratio} |`);
    }
  }
  console.log(lines.join('\n'));
  // Issue #5: a 0.5° correlation should cost at most 2× a 0.1° one (time ratio = inverse rate ratio).
  const corr = (deg, kind, impl) =>
    rows.find((r) => r.kernel.startsWith(`correlateDisk ${deg} ${kind}`) && r.impl === impl);
  const impls = [...new Set(rows.filter((r) => r.kernel.startsWith('correlateDisk')).map((r) => r.impl))];
  const ratios = ['counts', 'float']
    .flatMap((kind) =>
      impls.map((impl) => {
        const [small, large] = [corr('0.1°', kind, impl), corr('0.5°', kind, impl)];
        return small && large ? `${impl} ${kind} ${(small.cpu / large.cpu).toFixed(2)}×` : undefined;
      }),
    )
    .filter(Boolean);
  if (ratios.length > 0) console.log(`correlateDisk CPU time 0.5° / 0.1°: ${ratios.join(', ')}`);
  if (scalingNotes.length > 0)
    console.log(`binning threads (load average now ${loadNow()}):\n  ${scalingNotes.join('\n  ')}`);
  if (correlationNotes.length > 0)
    console.log(`correlateDisk, C direct vs FFT (500², 1 core):\n  ${correlationNotes.join('\n  ')}`);
}

const cores = availableParallelism();
const wasm = await loadKernels('wasm');
const nativeLoad = await tryLoadKernels('native');
if (!nativeLoad.ok) console.log(`native backend skipped: ${nativeLoad.error.reason}`);
const backends = [
  { name: 'js', kernels: referenceKernels },
  { name: 'wasm', kernels: wasm },
  ...(nativeLoad.ok
    ? [
        { name: 'native 1 thread', kernels: nativeLoad.kernels, threads: 1 },
        { name: `native ${cores} threads`, kernels: nativeLoad.kernels, threads: cores },
      ]
    : []),
];
const { createRequire } = await import('node:module');
const nativeAddon = nativeLoad.ok
  ? createRequire(import.meta.url)(
      join(
        here,
        '../../packages/kernels/build/native',
        readdirSync(join(here, '../../packages/kernels/build/native')).find((f) => f.endsWith('.node')),
      ),
    )
  : undefined;

console.log(
  `kernels bench: ${cores} cores, node ${process.version}, medians of ${repeats}; load average ${loadNow()}`,
);
// BENCH_ONLY=stack: only the stacking and background rows; BENCH_ONLY=maps: only the correlation and statistics
// rows (quick checks after editing those kernels).
const only = { stack: benchStackAndBkg, maps: benchMaps }[process.env.BENCH_ONLY ?? ''];
if (only) {
  only(backends);
  printTable();
  process.exit(0);
}
for (const n of sizes) benchBinning(`synthetic ${n.toExponential(0)}`, syntheticEvents(n), backends);
const real = await realEvents();
if (real.skip) console.log(`real-data binning skipped: ${real.skip}`);
else benchBinning(`H.E.S.S. DR1 ${real.runs} runs (${real.ra.length} events)`, real, backends);
const cN = Math.max(...sizes);
benchC(cN);
benchAccumulate(Math.min(cN, 2e7), nativeAddon);
benchNumpy(Math.min(cN, 2e7));
benchCopy(Math.min(cN, 1e7));
benchMaps(backends);
benchStackAndBkg(backends);
printTable();

// `pipe build excess_map` end to end, as a user runs it: the shipped Crab pipeline in a fresh workspace, its products
// against gammapy 1.0's reference products (science spec §9 tolerances, §10 check numbers), then reruns that
// recompute only what changed, then broken inputs that must fail clearly without touching earlier products.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFitsSync, readMapFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = process.env.PIPE_SHARED_DIR ?? path.resolve(repo, '../shared');
const REF = path.join(SHARED, 'spec/reference/crab');
const PRODUCTS = 'products/excess_map';

function map(file: string): Float64Array {
  return Float64Array.from(readMapFits(file).data as ArrayLike<number>);
}

/** Largest |a − b| over pixels where the reference is finite, and the largest relative difference where |ref| > floor. */
function diff(
  ours: Float64Array,
  ref: Float64Array,
  floor: number,
): { abs: number; rel: number; nanMismatch: number } {
  let abs = 0;
  let rel = 0;
  let nanMismatch = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const o = ours[i] as number;
    if (Number.isNaN(r) !== Number.isNaN(o)) nanMismatch++;
    if (!Number.isFinite(r)) continue;
    const d = Math.abs(o - r);
    abs = Math.max(abs, d);
    if (Math.abs(r) > floor) rel = Math.max(rel, d / Math.abs(r));
  }
  return { abs, rel, nanMismatch };
}

describe('pipe build excess_map (Crab, shipped data)', () => {
  let ws: Workspace;
  let first: Awaited<ReturnType<Workspace['build']>>;

  beforeAll(async () => {
    ws = crabWorkspace();
    first = await ws.build(['excess_map']);
  }, 240_000);
  afterAll(() => ws?.remove('.'));

  it('runs every task once and succeeds', () => {
    expect(first.run.code, first.run.stderr).toBe(0);
    // pipe's own steps await their writes: none is told it left any running (a read or close it left, as the
    // observation selection did, is no matter to its outputs).
    expect(first.run.stdout + first.run.stderr).not.toContain('file operation');
    expect(first.ended['ran']).toEqual([
      'datasets[23523]',
      'datasets[23526]',
      'datasets[23559]',
      'datasets[23592]',
      'excess_map',
      'observations',
      'stacked',
      'stacked_maps',
    ]);
  });

  it('reproduces gammapy 1.0 within the tolerances of science.md §9', () => {
    const cases: Array<[string, { abs?: number; rel?: number; floor?: number }]> = [
      ['counts', { abs: 0 }],
      ['correlated_counts', { abs: 0 }],
      ['mask_safe', { abs: 0 }],
      ['background', { rel: 1e-5, floor: 1e-6 }],
      ['exposure', { rel: 1e-6, floor: 1 }],
      ['correlated_background', { abs: 1e-4 }],
      ['excess', { abs: 1e-4 }],
      ['ts', { abs: 1e-3 }],
      ['sqrt_ts', { abs: 3e-3, rel: 3e-5, floor: 1 }],
      ['reco_exposure', { rel: 1e-4, floor: 0 }],
      ['norm', { abs: 1e-5, rel: 1e-4, floor: 0.1 }],
      ['norm_err', { rel: 1e-4, floor: 0 }],
      // flux = norm × 9e-13 cm⁻² s⁻¹: the norm's 1e-5 absolute tolerance near 0 becomes 9e-18.
      ['flux', { abs: 9e-18, rel: 1e-4, floor: 1e-14 }],
      ['flux_err', { rel: 1e-4, floor: 0 }],
    ];
    for (const [name, tol] of cases) {
      const ours = map(ws.path(`${PRODUCTS}/${name}.fits.gz`));
      const ref = map(path.join(REF, `${name}.fits.gz`));
      expect(ours.length, name).toBe(ref.length);
      const d = diff(ours, ref, tol.floor ?? Number.POSITIVE_INFINITY);
      expect(d.nanMismatch, name).toBe(0);
      if (tol.abs !== undefined) expect(d.abs, `${name} max abs`).toBeLessThanOrEqual(tol.abs);
      if (tol.rel !== undefined) expect(d.rel, `${name} max rel`).toBeLessThanOrEqual(tol.rel);
    }
  });

  it('writes the summary with the check numbers of §10', () => {
    const s = JSON.parse(ws.read(`${PRODUCTS}/summary.json`));
    expect(s.observations).toEqual([23523, 23526, 23559, 23592]);
    expect(s.livetime_s).toBeCloseTo(6313.811659421773, 6);
    expect(s.total_counts).toBe(2485);
    expect(s.total_excess).toBeCloseTo(487.5077, 3);
    expect(s.peak).toMatchObject({ x: 50, y: 49, n_on: 318 });
    expect(s.peak.sqrt_ts).toBeCloseTo(35.052437, 4);
    expect(s.peak.ra).toBeCloseTo(83.62221434850522, 9);
    expect(s.peak.dec).toBeCloseTo(22.003999647197436, 9);
    const norms = s.per_observation.map((r: { fov_bkg_norm: number }) => r.fov_bkg_norm);
    for (const [i, n] of [0.9589927682, 1.0272310357, 0.912078023, 1.0464022552].entries()) {
      expect(Math.abs(norms[i] / n - 1)).toBeLessThan(1e-7);
    }
    expect(ws.exists(`${PRODUCTS}/sqrt_ts.png`)).toBe(true);
    // The exposure carries the livetime in gammapy's META card (Map.read(...).meta['livetime'] is a Quantity).
    const meta = readMapFits(`${ws.path(PRODUCTS)}/exposure.fits.gz`).header.get('META');
    expect(JSON.parse(String(meta))).toEqual({ livetime: `${s.livetime_s} s` });
  });

  it('reruns nothing when nothing changed, and only the excess map for a new correlation radius', async () => {
    const again = await ws.build(['excess_map']);
    expect(again.run.code).toBe(0);
    expect(again.ended['ran']).toBeUndefined();
    const changed = await ws.build(
      ['excess_map'],
      ['--param', 'config.excess_map.correlation_radius=0.2 deg'],
    );
    expect(changed.run.code, changed.run.stderr).toBe(0);
    expect(changed.ended['ran']).toEqual(['excess_map']);
  });

  it('recovers the fan-out from the cache when the workspace state is lost (a build killed before saving it)', async () => {
    ws.remove('.pipe/state.json');
    const again = await ws.build(['excess_map']);
    expect(again.run.code, again.run.stderr).toBe(0);
    expect(again.ended['failed']).toBeUndefined();
    // every task of the fan-out is planned again (none silently dropped), and nothing needs to run
    const all = Object.values(again.ended).flat().sort();
    expect(all.filter((id) => id.startsWith('datasets['))).toHaveLength(4);
    expect(again.ended['ran']).toBeUndefined();
  });

  it('reports a config with a wrong unit at its line and column, and leaves the products alone', async () => {
    const before = statSync(ws.path(`${PRODUCTS}/sqrt_ts.fits.gz`)).mtimeMs;
    const config = ws.read('pipelines/excess_map/crab.yaml').replace('min: 1.0 TeV', 'min: 1.0 deg');
    ws.write('bad.yaml', config);
    const run = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
    expect(run.code).toBe(2);
    const line = config.split('\n').findIndex((l) => l.includes('1.0 deg')) + 1;
    expect(run.stdout + run.stderr).toContain(`bad.yaml:${line}:`);
    expect(run.stdout + run.stderr).toContain("invalid unit for energy: 'deg'");
    expect(statSync(ws.path(`${PRODUCTS}/sqrt_ts.fits.gz`)).mtimeMs).toBe(before);
  });
});

/** Rewrite a gzipped FITS file without the HDU named `drop` (HDUs are 2880-byte-aligned spans of the file). */
function dropHdu(file: string, drop: string): void {
  const bytes = gunzipSync(readFileSync(file));
  const kept: Buffer[] = [];
  let start = 0;
  for (const hdu of readFitsSync(file).hdus) {
    const end = hdu.dataOffset + Math.ceil(hdu.dataLength / 2880) * 2880;
    if (hdu.name.toLowerCase() !== drop) kept.push(bytes.subarray(start, end));
    start = end;
  }
  writeFileSync(file, gzipSync(Buffer.concat(kept)));
}

describe('pipe build excess_map with broken data', () => {
  it('names a truncated run file, fails, and keeps the products of the last good build', async () => {
    const ws = crabWorkspace();
    try {
      const good = await ws.build(['excess_map']);
      expect(good.run.code, good.run.stderr).toBe(0);
      const product = readFileSync(ws.path(`${PRODUCTS}/counts.fits.gz`));
      const run = 'pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023559.fits.gz';
      const bytes = readFileSync(ws.path(run));
      writeFileSync(ws.path(run), bytes.subarray(0, Math.floor(bytes.length / 2)));
      const broken = await ws.build(['excess_map']);
      expect(broken.run.code).toBe(1);
      expect(broken.ended['failed']).toEqual(['datasets[23559]']);
      const output = broken.run.stdout + broken.run.stderr;
      expect(output).toContain('hess_dl3_dr1_obs_id_023559.fits.gz');
      expect(readFileSync(ws.path(`${PRODUCTS}/counts.fits.gz`)).equals(product)).toBe(true);
    } finally {
      ws.remove('.');
    }
  }, 240_000);

  it('names the run file and the HDU when an HDU the index lists is missing', async () => {
    const ws = crabWorkspace();
    try {
      dropHdu(
        ws.path('pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023592.fits.gz'),
        'bkg',
      );
      const broken = await ws.build(['excess_map']);
      expect(broken.run.code).toBe(1);
      expect(broken.ended['failed']).toEqual(['datasets[23592]']);
      const output = broken.run.stdout + broken.run.stderr;
      expect(output).toMatch(
        /hess_dl3_dr1_obs_id_023592\.fits\.gz.*bkg|bkg.*hess_dl3_dr1_obs_id_023592\.fits\.gz/is,
      );
      expect(ws.exists(PRODUCTS)).toBe(false);
    } finally {
      ws.remove('.');
    }
  }, 240_000);

  it('names the index and the paths tried when the data store lacks a run file', async () => {
    const ws = crabWorkspace();
    try {
      ws.remove('pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023526.fits.gz');
      const broken = await ws.build(['excess_map']);
      expect(broken.run.code).toBe(1);
      expect(broken.ended['failed']).toEqual(['observations']);
      const output = broken.run.stdout + broken.run.stderr;
      expect(output).toContain('hdu-index.fits.gz names files that do not exist');
      expect(output).toContain('OBS_ID 23526');
      expect(output).toContain('hess_dl3_dr1_obs_id_023526.fits.gz');
    } finally {
      ws.remove('.');
    }
  }, 120_000);

  it('fails before running anything when the data store lacks a file the config names', async () => {
    const ws = crabWorkspace();
    try {
      ws.remove('pipelines/excess_map/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz');
      const run = await ws.run(['build', 'excess_map']);
      expect(run.code).toBe(2);
      expect(run.stdout + run.stderr).toMatch(/crab\.yaml:\d+:\d+: error: .*exclusion_mask_crab\.fits\.gz/);
      expect(ws.exists('.pipe/builds')).toBe(false);
    } finally {
      ws.remove('.');
    }
  }, 120_000);
});

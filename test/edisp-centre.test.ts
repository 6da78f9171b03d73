/**
 * The flux map uses the edisp kernel at the IRF pixel gammapy reads: for an even IRF grid the centre is an exact tie
 * between two pixels, and gammapy's nearest lookup (scipy) takes the lower one (9 on a 20-pixel axis). Half-even
 * rounding took 10 and shifted norm and flux by up to 3e-3. Reference numbers from gammapy 1.0 (Debian
 * python3-gammapy) on the same config:
 *   a = Analysis(AnalysisConfig.read("pks2.yaml")); a.get_observations(); a.get_datasets(); a.get_excess_map()
 *   a.excess_map["flux"].data[0, 50, 50], [0, 100, 100]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readMapFits } from '@pipe/astro';
import { describe, expect, it } from 'vitest';
import { crabWorkspace, REPO_ROOT } from './rig.js';

const DATA = path.join(process.env.PIPE_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared'), 'data');
const dr1 = existsSync(path.join(DATA, 'hess-dl3-dr1/obs-index.fits.gz'));
if (!dr1) console.log(`skipping the edisp centre-pixel check: no H.E.S.S. DR1 release under ${DATA}`);

/** A config over DR1 runs: a `width` × `height`° ICRS map at `binsize`° around (ra, dec), 10 reco bins from `eMin`
 * to 10 TeV and 20 true bins from `eTrueMin` to 20 TeV, safe mask aeff-default, r = 0.1°. */
function dr1Config(c: {
  obsIds: number[];
  ra: number;
  dec: number;
  binsize: number;
  width: number;
  height: number;
  eMin: number;
  eTrueMin: number;
}): string {
  return `observations:
  datastore: $GAMMAPY_DATA/hess-dl3-dr1
  obs_ids: [${c.obsIds.join(', ')}]
  required_irf: [aeff, edisp, psf, bkg]
datasets:
  type: 3d
  stack: true
  geom:
    wcs: {skydir: {frame: icrs, lon: ${c.ra} deg, lat: ${c.dec} deg}, binsize: ${c.binsize} deg,
          width: {width: ${c.width} deg, height: ${c.height} deg}, binsize_irf: 0.2 deg}
    selection: {offset_max: 2.5 deg}
    axes: {energy: {min: ${c.eMin} TeV, max: 10.0 TeV, nbins: 10},
           energy_true: {min: ${c.eTrueMin} TeV, max: 20.0 TeV, nbins: 20}}
  map_selection: [counts, exposure, background, psf, edisp]
  background: {method: fov_background, parameters: {method: scale}}
  safe_mask: {methods: [aeff-default]}
excess_map: {correlation_radius: 0.1 deg}
`;
}

const CONFIG = dr1Config({
  obsIds: [33787, 33788],
  ra: 329.71694,
  dec: -30.2255,
  binsize: 0.02,
  width: 4,
  height: 4,
  eMin: 0.5,
  eTrueMin: 0.3,
});

describe.runIf(dr1)('edisp kernel pixel on an even IRF grid (20×20)', () => {
  it('gives gammapy 1.0 flux', async () => {
    const ws = crabWorkspace();
    ws.write('pks2.yaml', CONFIG);
    const run = await ws.run(['build', 'excess_map', '--config', 'pks2.yaml'], { GAMMAPY_DATA: DATA });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/edisp irf pixel: 9, 9/);
    const flux = readMapFits(ws.path('products/excess_map/flux.fits.gz'));
    const nx = 200;
    const at = (x: number, y: number) => flux.data[y * nx + x] as number;
    expect(Math.abs(at(100, 100) / 6.204453392028809e-11 - 1)).toBeLessThan(1e-5);
    expect(Math.abs(at(50, 50) / -5.016835749149323e-13 - 1)).toBeLessThan(1e-5);
    ws.remove('.');
  }, 120_000);
});

// A map whose width is not a whole number of pixels: gammapy sizes the IRF grid from the map's real width
// (68 × 57 pixels of 0.03° = 2.04° × 1.71°: 10 × 9 IRF pixels, centre on pixel (4, 4)); from the config's width
// (2.05° × 1.7°) it would be 10 × 8, the kernel would come from pixel (4, 3) and the flux be off by up to 4e-4.
// gammapy 1.0 on this config (scripts/gammapy_excess_map.py): peak (33, 28), flux 1.813901481628418e-11.
const ODD = () =>
  readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/crab.yaml'), 'utf8')
    .replace('binsize: 0.02 deg', 'binsize: 0.03 deg')
    .replace('width: {width: 2.0 deg, height: 2.0 deg}', 'width: {width: 2.05 deg, height: 1.7 deg}')
    .replace('max: 10.0 TeV, nbins: 10}', 'max: 10.0 TeV, nbins: 7}')
    .replace('correlation_radius: 0.1 deg', 'correlation_radius: 0.13 deg');

describe('IRF grid of a map whose width is not a whole number of pixels', () => {
  it('is sized from the real map width, as gammapy: same edisp pixel and flux', async () => {
    const ws = crabWorkspace();
    const odd = ODD();
    for (const part of [
      'binsize: 0.03 deg',
      'width: 2.05 deg, height: 1.7 deg',
      'nbins: 7}',
      'radius: 0.13 deg',
    ])
      expect(odd).toContain(part);
    ws.write('odd.yaml', odd);
    const data = path.join(REPO_ROOT, 'pipelines/excess_map/data');
    const run = await ws.run(['build', 'excess_map', '--config', 'odd.yaml'], { GAMMAPY_DATA: data });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/edisp irf pixel: 4, 4/);
    const flux = readMapFits(ws.path('products/excess_map/flux.fits.gz'));
    expect(flux.data.length).toBe(68 * 57);
    expect(Math.abs((flux.data[28 * 68 + 33] as number) / 1.813901481628418e-11 - 1)).toBeLessThan(1e-4);
    ws.remove('.');
  }, 120_000);
});

// map_selection without edisp: gammapy's stacked dataset (MapDataset.create) holds a diagonal EDispKernelMap
// (get_overlap_fraction of the reco and true axes), which runs without an EDISP map leave as it is, and the flux map
// uses it. pipe refused ("map 'reco_exposure' was not computed"). gammapy 1.0 on crab.yaml with map_selection
// [counts, exposure, background] and excess_map.energy_edges 1–10 TeV in 2 bins (scripts/gammapy_excess_map.py and
// a.excess_map["flux"].data[:, y, x]): (50, 49) 1.4175619279828767e-11, 2.174432141087802e-12;
// (10, 80) 3.8117612474535775e-13, -5.711821915307062e-14.
describe('flux map of a dataset reduced without EDISP', () => {
  it('uses the diagonal response, as gammapy', async () => {
    const ws = crabWorkspace();
    const crab = readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/crab.yaml'), 'utf8')
      .replace(
        'map_selection: [counts, exposure, background, psf, edisp]',
        'map_selection: [counts, exposure, background]',
      )
      .replace(
        'excess_map: {correlation_radius: 0.1 deg}',
        'excess_map: {correlation_radius: 0.1 deg, energy_edges: {min: 1 TeV, max: 10 TeV, nbins: 2}}',
      );
    expect(crab).toMatch(/map_selection: \[counts, exposure, background\]\n/);
    ws.write('noedisp.yaml', crab);
    const data = path.join(REPO_ROOT, 'pipelines/excess_map/data');
    const run = await ws.run(['build', 'excess_map', '--config', 'noedisp.yaml'], { GAMMAPY_DATA: data });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const flux = readMapFits(ws.path('products/excess_map/flux.fits.gz'));
    const at = (k: number, x: number, y: number) => flux.data[k * 10000 + y * 100 + x] as number;
    expect(Math.abs(at(0, 50, 49) / 1.4175619279828767e-11 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(at(1, 50, 49) / 2.174432141087802e-12 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(at(0, 10, 80) / 3.8117612474535775e-13 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(at(1, 10, 80) / -5.711821915307062e-14 - 1)).toBeLessThan(1e-3);
    // Two energy groups: summary.json describes each (the top-level fields are the first's), its peak the maximum
    // of that group's sqrt_ts plane.
    const summary = JSON.parse(readFileSync(ws.path('products/excess_map/summary.json'), 'utf8'));
    const groups = summary.energy_groups as Array<Record<string, unknown> & { peak: Record<string, number> }>;
    expect(groups).toHaveLength(2);
    expect(groups[0]!.energy_range_tev).toEqual(summary.energy_range_tev);
    expect(groups[0]!.total_counts).toBe(summary.total_counts);
    expect(groups[0]!.peak).toEqual(summary.peak);
    const [lo, mid] = groups[0]!.energy_range_tev as number[];
    const [mid2, hi] = groups[1]!.energy_range_tev as number[];
    expect([lo, mid2, hi].map((e) => Number(e!.toPrecision(6)))).toEqual([
      1,
      Number(Math.sqrt(10).toPrecision(6)),
      10,
    ]);
    expect(mid).toBe(mid2);
    const sqrtTs = readMapFits(ws.path('products/excess_map/sqrt_ts.fits.gz'));
    for (const [k, g] of groups.entries()) {
      const plane = Array.from(sqrtTs.data.subarray(k * 10000, (k + 1) * 10000) as ArrayLike<number>);
      const max = Math.max(...plane.filter((v) => !Number.isNaN(v)));
      expect(Math.abs(g.peak.sqrt_ts! - max)).toBeLessThan(1e-5 * Math.max(1, max));
      expect(plane[g.peak.y! * 100 + g.peak.x!]).toBe(max);
    }
    expect(groups[1]!.total_counts).toBeLessThan(groups[0]!.total_counts as number);
    ws.remove('.');
  }, 120_000);
});

// A map centred where no run reaches (RA 359°, Dec −14.5°: the two 1ES 2343−151 runs point 2.6° and 3.1° away,
// beyond offset_max 2.5°, so the kernel map is empty at the centre). gammapy's `_get_nearest_valid_position` then
// reads the kernel at the nearest IRF pixel where it is not empty, (15, 7) of the 30 × 15 grid; pipe read the empty
// centre pixel (14, 7) and its flux map was ±inf wherever it was not NaN. gammapy 1.0 on this config:
//   a.datasets[0].resample_energy_axis(...).edisp._get_nearest_valid_position(centre) → IRF pixel (15, 7);
//   a.excess_map["flux"].data[0, 30, 60], [0, 40, 90]
const OFF_CENTRE = dr1Config({
  obsIds: [27939, 21824],
  ra: 359,
  dec: -14.5,
  binsize: 0.05,
  width: 6,
  height: 3,
  eMin: 1,
  eTrueMin: 0.5,
});

describe.runIf(dr1)('edisp kernel of a map whose centre no run covers', () => {
  it('comes from the nearest IRF pixel with a kernel, as gammapy', async () => {
    const ws = crabWorkspace();
    ws.write('off-centre.yaml', OFF_CENTRE);
    const run = await ws.run(['build', 'excess_map', '--config', 'off-centre.yaml'], { GAMMAPY_DATA: DATA });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/edisp irf pixel: 15, 7/);
    const flux = readMapFits(ws.path('products/excess_map/flux.fits.gz'));
    const at = (x: number, y: number) => flux.data[y * 120 + x] as number;
    expect(Math.abs(at(60, 30) / 1.168013620376587e-12 - 1)).toBeLessThan(1e-4);
    expect(Math.abs(at(90, 40) / -9.029736444354058e-14 - 1)).toBeLessThan(1e-4);
    ws.remove('.');
  }, 120_000);
});

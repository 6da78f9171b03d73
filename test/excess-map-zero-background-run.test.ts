// A run whose background map is zero everywhere in its cutout (the cutout reaches the map only beyond the BKG_3D
// table, |fov_lat| > 2.5°) is masked whole, as gammapy 1.0's SafeMaskMaker masks every bin whose background is not
// > 0 whenever the dataset has a background map (make_mask_bkg_invalid), all-zero or not. pipe took an all-zero
// background for "no background map" and kept the run: its 15 events in the safe bins entered the stacked counts
// (77 where gammapy has 62) and every correlated map near them. Found by a gammapy cross-check with the config below
// on the four Crab runs (the shipped ones): a small map 2.3–2.9° north of the Crab, offset_max 3°, no background
// section (gammapy's default: the template unscaled). Reference numbers from gammapy 1.0 (Debian python3-gammapy):
//   a = Analysis(AnalysisConfig.read("edge.yaml")); a.get_observations(); a.get_datasets(); a.get_excess_map()
//   a.datasets[0].counts.data.sum(axis=(1, 2))          → [0, 0, 26, 20, 9, 7]
//   a.excess_map["npred"].data.sum()                    → 4548
//   a.excess_map["sqrt_ts"].data[0, 12, 31]             → 2.829678535461426 (the peak)
// and, with datasets.stack: false, run 23523's dataset.mask_safe.data.sum() → 0.
import { readMapFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type PipeRun, type Workspace } from './rig.js';

const CONFIG = `observations:
  datastore: $GAMMAPY_DATA/hess-dl3-dr1
  obs_cone: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg, radius: 5 deg}
datasets:
  type: 3d
  geom:
    wcs: {skydir: {frame: icrs, lon: 83.633 deg, lat: 24.6 deg}, binsize: 0.02 deg,
          width: {width: 1.0 deg, height: 0.6 deg}, binsize_irf: 0.1 deg}
    selection: {offset_max: 3 deg}
    axes: {energy: {min: 0.3 TeV, max: 30 TeV, nbins: 6},
           energy_true: {min: 0.2 TeV, max: 50 TeV, nbins: 12}}
excess_map: {correlation_radius: 0.1 deg}
`;

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('a run whose background is zero all over its cutout', () => {
  let ws: Workspace;
  let run: PipeRun;
  beforeAll(async () => {
    ws = crabWorkspace();
    ws.write('edge.yaml', CONFIG);
    run = await ws.run(['build', 'excess_map', '--config', 'edge.yaml']);
  }, 240_000);
  afterAll(() => ws?.remove('.'));

  it('is masked whole, so its events are not stacked (gammapy: 62 counts, 26, 20, 9, 7 in the safe bins)', () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const mask = readMapFits(ws.path('build/excess_map/datasets/23523.fits'), 'MASK_SAFE');
    expect(sum(mask.data)).toBe(0);
    const counts = readMapFits(ws.path('products/excess_map/counts.fits.gz'));
    const plane = counts.data.length / 6;
    const perBin = [0, 1, 2, 3, 4, 5].map((k) => sum(counts.data.subarray(k * plane, (k + 1) * plane)));
    expect(perBin).toEqual([0, 0, 26, 20, 9, 7]);
  });

  it('gives gammapy’s correlated counts and peak', () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(sum(readMapFits(ws.path('products/excess_map/correlated_counts.fits.gz')).data)).toBe(4548);
    const s = JSON.parse(ws.read('products/excess_map/summary.json'));
    expect([s.peak.x, s.peak.y]).toEqual([31, 12]);
    expect(s.peak.sqrt_ts).toBeCloseTo(2.829678535461426, 4);
  });
});

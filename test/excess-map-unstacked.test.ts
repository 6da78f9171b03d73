// `datasets.stack: false` with one run: gammapy's Analysis then keeps the run's own dataset (its cutout of the map,
// counts and background before the safe mask) and its ExcessMapEstimator reads that, summing the background of
// every reco bin of a group the mask keeps in part. A stack of one run masks the background per bin instead: on this
// config the correlated background was 3× gammapy's. The numbers below are gammapy 1.0's on the same config.

import { readFileSync } from 'node:fs';
import { readMapFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

// A 6° map at 0.04°: the run's cutout (2 × offset_max = 5°) is 125 × 125 pixels of its 150 × 150; aeff-default
// drops the lowest reco bins, which the single output bin (0.5–10 TeV) then holds in part.
const CONFIG = `general: {log: {level: info}, outdir: ., n_jobs: 1}
observations: {datastore: $GAMMAPY_DATA/hess-dl3-dr1, obs_ids: [23523], required_irf: [aeff, edisp, psf, bkg]}
datasets:
  type: 3d
  stack: false
  geom:
    wcs: {skydir: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg}, binsize: 0.04 deg,
          width: {width: 6.0 deg, height: 6.0 deg}, binsize_irf: 0.2 deg}
    selection: {offset_max: 2.5 deg}
    axes: {energy: {min: 0.5 TeV, max: 10.0 TeV, nbins: 8},
           energy_true: {min: 0.3 TeV, max: 20.0 TeV, nbins: 16}}
  map_selection: [counts, exposure, background, psf, edisp]
  background: {method: fov_background,
               exclusion: $GAMMAPY_DATA/joint-crab/exclusion/exclusion_mask_crab.fits.gz,
               parameters: {method: scale}}
  safe_mask: {methods: [aeff-default]}
excess_map: {correlation_radius: 0.1 deg}
`;

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => (Number.isFinite(v) ? s + v : s), 0);

describe('excess_map of one unstacked run (datasets.stack: false)', () => {
  let ws: Workspace;
  const product = (name: string) => readMapFits(ws.path(`products/excess_map/${name}.fits.gz`));
  beforeAll(async () => {
    ws = crabWorkspace();
    ws.write('unstacked.yaml', CONFIG);
    const r = await ws.run(['build', 'excess_map', '--config', 'unstacked.yaml']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => ws?.remove('.'));

  it("uses the run's dataset as it is: its cutout, counts and background before the safe mask", () => {
    // Byte for byte (Buffer.equals: vitest's deep equality walks 10 MB too slowly).
    const stacked = readFileSync(ws.path('build/excess_map/stacked.fits'));
    expect(stacked.equals(readFileSync(ws.path('build/excess_map/datasets/23523.fits')))).toBe(true);
    const counts = product('counts');
    expect(counts.shape).toEqual([8, 125, 125]);
    expect(sum(counts.data)).toBe(6264);
    expect(sum(product('background').data)).toBeCloseTo(4350.8766120705, 3);
    expect(sum(product('mask_safe').data)).toBe(93534);
  });

  it("gives gammapy's correlated background and significance", () => {
    const background = product('correlated_background');
    expect(background.shape).toEqual([1, 125, 125]);
    expect(Math.abs(sum(background.data) / 90924.58 - 1)).toBeLessThan(1e-6);
    const sqrtTs = product('sqrt_ts').data;
    let peak = 0;
    for (let p = 1; p < sqrtTs.length; p++) if ((sqrtTs[p] as number) > (sqrtTs[peak] as number)) peak = p;
    expect([peak % 125, Math.floor(peak / 125)]).toEqual([63, 74]);
    expect(sqrtTs[peak]).toBeCloseTo(14.416895, 4);
  });
});

// The ring background (gammapy 1.0's RingBackgroundMaker, `datasets.background.method: ring`) on the shipped Crab
// runs: `pipe build excess_map --config pipelines/excess_map/configs/crab-ring.yaml` against gammapy 1.0's numbers for
// that config, then the configs it must refuse, each at its place. The reference numbers are
// scripts/gammapy_excess_map.py's output for it (Debian python3-gammapy 1.0, GAMMAPY_DATA=pipelines/excess_map/data);
// scripts/xcheck/configs/r*_ring.yaml compare whole maps on other sources.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readMapFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, REPO_ROOT, type Workspace } from './rig.js';

const RING = readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/configs/crab-ring.yaml'), 'utf8');
const PRODUCTS = 'products/excess_map';

function edit(text: string, from: string, to: string): string {
  expect(text.split(from).length, `'${from}' occurs once`).toBe(2);
  return text.replace(from, to);
}

/** The shipped example: the Crab runs with a ring of 0.5°–0.8° around each pixel on one reco energy bin. */
const ringConfig = () => RING;

const map = (ws: Workspace, name: string) =>
  Float64Array.from(readMapFits(ws.path(`${PRODUCTS}/${name}.fits.gz`)).data as ArrayLike<number>);
const sum = (a: Float64Array) => a.reduce((s, v) => (Number.isFinite(v) ? s + v : s), 0);
const near = (ours: number, ref: number, rel: number) =>
  expect(Math.abs(ours - ref), `${ours} vs ${ref}`).toBeLessThanOrEqual(rel * Math.abs(ref));

describe('pipe build excess_map with a ring background (Crab, shipped data)', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
  });
  afterAll(() => ws?.remove('.'));

  it("reproduces gammapy 1.0's background, excess and significance maps", async () => {
    const r = await ws.run([
      'build',
      'excess_map',
      '--config',
      'pipelines/excess_map/configs/crab-ring.yaml',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const nx = 100;
    const at = (m: Float64Array, x: number, y: number) => m[y * nx + x] as number;
    const counts = map(ws, 'counts');
    const background = map(ws, 'background');
    const nOn = map(ws, 'correlated_counts');
    const muB = map(ws, 'correlated_background');
    const excess = map(ws, 'excess');
    const sqrtTs = map(ws, 'sqrt_ts');
    expect(counts.length).toBe(nx * 100);
    expect(sum(counts)).toBe(2485);
    // Σ of the stacked ring background α·N_off (gammapy: 2036.0131746679544; float32 ring sums by FFT there).
    near(sum(background), 2036.0131746679544, 1e-6);
    // The peak: gammapy's (50, 49), n_on 318, μ_b 17.14007568359375, sqrt_ts 35.43729782104492.
    let peak = 0;
    for (let p = 1; p < sqrtTs.length; p++) if ((sqrtTs[p] as number) > (sqrtTs[peak] as number)) peak = p;
    expect([peak % nx, Math.floor(peak / nx)]).toEqual([50, 49]);
    expect(at(nOn, 50, 49)).toBe(318);
    near(at(muB, 50, 49), 17.14007568359375, 1e-6);
    near(at(sqrtTs, 50, 49), 35.43729782104492, 3e-6);
    // Two more pixels, and the sums over the whole maps (a wrong ring, mask or α moves all of them).
    expect(at(nOn, 0, 0)).toBe(4);
    near(at(muB, 0, 0), 4.188467979431152, 1e-6);
    near(at(sqrtTs, 0, 0), -0.09279399365186691, 1e-4);
    expect(at(nOn, 33, 25)).toBe(20);
    near(at(muB, 33, 25), 15.876672744750977, 1e-6);
    near(at(sqrtTs, 33, 25), 0.9942883253097534, 1e-5);
    expect(sum(nOn)).toBe(195179);
    near(sum(excess), 36709.22279882431, 1e-6);
    near(sum(sqrtTs), 5022.74004010146, 1e-6);
  }, 240_000);

  it("unstacked (stack: false, one run): the run's on-off dataset, with WStat statistics as gammapy", async () => {
    // gammapy keeps the run's MapDatasetOnOff; its estimator then uses WStat with the OFF counts, correlated with the
    // ON counts (correlate_off, the default) or not. Reference: scripts/gammapy_excess_map.py on these configs.
    const one = edit(
      edit(ringConfig(), 'stack: true', 'stack: false'),
      'obs_cone: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg, radius: 5.0 deg}',
      'obs_ids: [23526]',
    );
    const cases = [
      {
        name: 'wstat.yaml',
        text: one,
        peak: [4.076347351074219, 18.652763173740542],
        sums: [10409.473679482937, 2168.508051817248],
        s0: [0.9683508276939392, 0.031972554163092214],
        s1: [3.702596426010132, -0.9701602241547579],
      },
      {
        name: 'wstat-nocorr.yaml',
        text: edit(
          one,
          'excess_map: {correlation_radius: 0.1 deg}',
          'excess_map: {correlation_radius: 0.1 deg, parameters: {correlate_off: false}}',
        ),
        peak: [3.9862582792520413, 17.753264611448095],
        sums: [10410.807507601688, 2072.510178611648],
        s0: [0.9665851207879962, 0.033304748831060355],
        s1: [3.6417650613798993, -0.9242252627265267],
      },
    ];
    // `correlate_off: null` reaches gammapy's estimator as None, which its `if correlate_off:` takes as false.
    const nocorr = cases[1]!;
    cases.push({
      ...nocorr,
      name: 'wstat-null.yaml',
      text: nocorr.text.replace('correlate_off: false', 'correlate_off: null'),
    });
    for (const c of cases) {
      ws.write(c.name, c.text);
      const r = await ws.run(['build', 'excess_map', '--config', c.name]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const nx = 100;
      const at = (m: Float64Array, x: number, y: number) => m[y * nx + x] as number;
      const nOn = map(ws, 'correlated_counts');
      const muB = map(ws, 'correlated_background');
      const sqrtTs = map(ws, 'sqrt_ts');
      expect(sum(map(ws, 'counts'))).toBe(659);
      // The background map is gammapy's `background`, α · N_off (not WStat's profile npred_background()).
      near(sum(map(ws, 'background')), 529.5600307941888, 1e-6);
      let peak = 0;
      for (let p = 1; p < sqrtTs.length; p++) if ((sqrtTs[p] as number) > (sqrtTs[peak] as number)) peak = p;
      expect([peak % nx, Math.floor(peak / nx)]).toEqual([50, 49]);
      expect(at(nOn, 50, 49)).toBe(84);
      near(at(muB, 50, 49), c.peak[0] as number, 1e-6);
      near(at(sqrtTs, 50, 49), c.peak[1] as number, 1e-6);
      expect(at(nOn, 0, 0)).toBe(1);
      near(at(muB, 0, 0), c.s0[0] as number, 1e-6);
      near(at(sqrtTs, 0, 0), c.s0[1] as number, 1e-4);
      expect(at(nOn, 33, 25)).toBe(2);
      near(at(muB, 33, 25), c.s1[0] as number, 1e-6);
      near(at(sqrtTs, 33, 25), c.s1[1] as number, 1e-5);
      expect(sum(nOn)).toBe(51555);
      near(sum(map(ws, 'excess')), c.sums[0] as number, 1e-6);
      near(sum(sqrtTs), c.sums[1] as number, 1e-6);
    }
  }, 240_000);

  it('refuses, at the value, more than one reco energy bin (as gammapy) and no background map', async () => {
    // Each error points at the value of the key in `key` (no background map: the method that needs it).
    for (const [from, to, key, message] of [
      [
        'map_selection: [counts, exposure, background, psf, edisp]',
        'map_selection: [counts, exposure, psf, edisp]',
        'method: ',
        "'datasets.background.method': the ring background weighs its OFF counts by the background map, but datasets.map_selection does not make one",
      ],
      [
        'max: 10.0 TeV, nbins: 1}',
        'max: 10.0 TeV, nbins: 4}',
        'nbins: ',
        "'datasets.geom.axes.energy.nbins': the ring background is made on one reco energy bin",
      ],
    ] as const) {
      const text = edit(ringConfig(), from, to);
      ws.write('bad.yaml', text);
      const r = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
      const lines = text.split('\n');
      const line = lines.findIndex((l) => l.includes(key) && !l.trimStart().startsWith('#'));
      const col = (lines[line] as string).indexOf(key) + key.length + 1;
      expect(r.code, to).toBe(2);
      expect(r.stderr, to).toContain(`bad.yaml:${line + 1}:${col}: error: ${message}`);
    }
  });

  /** Builds with the ring's parameters written as `to`; `where` is line:col of `at` in them. */
  async function buildWithParameters(to: string, at: string) {
    const text = edit(ringConfig(), '{r_in: 0.5 deg, width: 0.3 deg}}', to);
    ws.write('bad.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes(to));
    const col = (lines[line] as string).indexOf(at, (lines[line] as string).indexOf(to)) + 1;
    return { r, where: `${line + 1}:${col}` };
  }

  it('refuses a misspelt or missing ring parameter at its place', async () => {
    for (const [to, at, message] of [
      [
        '{r_in: 0.5 deg, widht: 0.3 deg}}',
        // An unknown key is pointed at by its value.
        '0.3 deg',
        "RingBackgroundMaker has no parameter 'widht' (did you mean 'width'?)",
      ],
      ['{r_in: 0.5 deg}}', '{r_in', 'the ring background needs parameters r_in and width'],
      ['{r_in: 0.5, width: 0.3 deg}}', '0.5', 'r_in'],
      [
        '{r_in: 0.5 deg, width: 0.3 deg, exclusion_mask: m.fits}}',
        'm.fits',
        'the exclusion mask is a file: give it as datasets.background.exclusion',
      ],
    ] as const) {
      const { r, where } = await buildWithParameters(to, at);
      expect(r.code, to).toBe(2);
      expect(r.stderr, to).toMatch(
        new RegExp(`bad\\.yaml:${where}: error: .*${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    }
  });

  it('fails the runs of a ring that holds no pixel centre or starts beyond the map, naming the setting', async () => {
    for (const [to, key, message] of [
      ['{r_in: 0.021 deg, width: 0.001 deg}}', '0.001 deg', 'holds no pixel centre at the map'],
      ['{r_in: 10 deg, width: 0.3 deg}}', '10 deg', 'beyond the run'],
    ] as const) {
      const { r, where } = await buildWithParameters(to, key);
      expect(r.code, to).not.toBe(0);
      expect(r.stdout + r.stderr, to).toMatch(
        new RegExp(`OBS_ID 23523: the ring .*${message}.*set at .*bad\\.yaml:${where}`),
      );
    }
  });

  it('warns, with their number, about safe pixels whose whole ring lies in the excluded region (masked)', async () => {
    // A ring of 0.06°–0.12° around the Crab lies inside its exclusion circle.
    ws.write(
      'small.yaml',
      edit(ringConfig(), '{r_in: 0.5 deg, width: 0.3 deg}}', '{r_in: 0.06 deg, width: 0.06 deg}}'),
    );
    const r = await ws.run(['build', 'excess_map', '--config', 'small.yaml', '--out', 'small']);
    expect(r.code, r.stderr).toBe(0);
    for (const id of [23523, 23526, 23559, 23592])
      expect(r.stdout + r.stderr).toContain(
        `OBS_ID ${id}: 268 safe pixels hold background but their whole ring lies in excluded regions or off the map: pipe masks them`,
      );
    // Masked in the stack: the source's pixels are out of the significance map.
    const sqrtTs = Float64Array.from(readMapFits(ws.path('small/sqrt_ts.fits.gz')).data as ArrayLike<number>);
    expect(sqrtTs[49 * 100 + 50]).toBeNaN();
  });

  it('fails a run whose cutout reaches past the exclusion mask, naming the exclusion setting; no products change', async () => {
    const before = ws.read(`${PRODUCTS}/sqrt_ts.fits.gz`);
    // A 6° map: each run's 5° cutout (2 × offset_max around its pointing, 0.5° off the Crab) leaves the 5° mask.
    const text = edit(
      ringConfig(),
      'width: {width: 2.0 deg, height: 2.0 deg}',
      'width: {width: 6.0 deg, height: 6.0 deg}',
    );
    ws.write('wide.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'wide.yaml']);
    expect(r.code).not.toBe(0);
    const line = text.split('\n').findIndex((l) => l.includes('exclusion:')) + 1;
    expect(r.stdout + r.stderr).toMatch(
      new RegExp(
        `OBS_ID 23523: \\d+ of the run's \\d+ map pixels lie outside the exclusion mask image: .*set at .*wide\\.yaml:${line}:`,
      ),
    );
    expect(ws.read(`${PRODUCTS}/sqrt_ts.fits.gz`)).toBe(before);
  });
});

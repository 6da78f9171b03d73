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

/** gammapy's numbers for a 100×100 Crab-map build: its peak and two sample pixels (n_on, μ_b, sqrt_ts), and sums. */
interface Reference {
  counts: number;
  background: number;
  peak: { nOn: number; muB: number; sqrtTs: number; sqrtTsTol: number };
  s0: { nOn: number; muB: number; sqrtTs: number };
  s1: { nOn: number; muB: number; sqrtTs: number };
  sums: { nOn: number; excess: number; sqrtTs: number };
}

/** The products of the last build against gammapy's numbers: peak at (50, 49), samples (0, 0) and (33, 25). */
function expectGammapyMaps(ws: Workspace, ref: Reference): void {
  const nx = 100;
  const at = (m: Float64Array, x: number, y: number) => m[y * nx + x] as number;
  const counts = map(ws, 'counts');
  const nOn = map(ws, 'correlated_counts');
  const muB = map(ws, 'correlated_background');
  const sqrtTs = map(ws, 'sqrt_ts');
  expect(counts.length).toBe(nx * 100);
  expect(sum(counts)).toBe(ref.counts);
  near(sum(map(ws, 'background')), ref.background, 1e-6);
  let peak = 0;
  for (let p = 1; p < sqrtTs.length; p++) if ((sqrtTs[p] as number) > (sqrtTs[peak] as number)) peak = p;
  expect([peak % nx, Math.floor(peak / nx)]).toEqual([50, 49]);
  expect(at(nOn, 50, 49)).toBe(ref.peak.nOn);
  near(at(muB, 50, 49), ref.peak.muB, 1e-6);
  near(at(sqrtTs, 50, 49), ref.peak.sqrtTs, ref.peak.sqrtTsTol);
  // Two more pixels, and the sums over the whole maps (a wrong ring, mask or α moves all of them).
  for (const [[x, y], s, tol] of [
    [[0, 0], ref.s0, 1e-4],
    [[33, 25], ref.s1, 1e-5],
  ] as const) {
    expect(at(nOn, x, y)).toBe(s.nOn);
    near(at(muB, x, y), s.muB, 1e-6);
    near(at(sqrtTs, x, y), s.sqrtTs, tol);
  }
  expect(sum(nOn)).toBe(ref.sums.nOn);
  near(sum(map(ws, 'excess')), ref.sums.excess, 1e-6);
  near(sum(sqrtTs), ref.sums.sqrtTs, 1e-6);
}

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
    expectGammapyMaps(ws, {
      counts: 2485,
      // Σ of the stacked ring background α·N_off (float32 ring sums by FFT in gammapy).
      background: 2036.0131746679544,
      peak: { nOn: 318, muB: 17.14007568359375, sqrtTs: 35.43729782104492, sqrtTsTol: 3e-6 },
      s0: { nOn: 4, muB: 4.188467979431152, sqrtTs: -0.09279399365186691 },
      s1: { nOn: 20, muB: 15.876672744750977, sqrtTs: 0.9942883253097534 },
      sums: { nOn: 195179, excess: 36709.22279882431, sqrtTs: 5022.74004010146 },
    });
  }, 240_000);

  it("unstacked (stack: false, one run): the run's on-off dataset, with WStat statistics as gammapy", async () => {
    // gammapy keeps the run's MapDatasetOnOff; its estimator then uses WStat with the OFF counts, correlated with the
    // ON counts (correlate_off, the default) or not. Reference: scripts/gammapy_excess_map.py on these configs.
    const one = edit(
      edit(ringConfig(), 'stack: true', 'stack: false'),
      'obs_cone: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg, radius: 5.0 deg}',
      'obs_ids: [23526]',
    );
    // The background map is gammapy's `background`, α · N_off (not WStat's profile npred_background()).
    const common = { counts: 659, background: 529.5600307941888 };
    const sample = (nOn: number, muB: number, sqrtTs: number) => ({ nOn, muB, sqrtTs });
    const nocorr = edit(
      one,
      'excess_map: {correlation_radius: 0.1 deg}',
      'excess_map: {correlation_radius: 0.1 deg, parameters: {correlate_off: false}}',
    );
    const nocorrRef: Reference = {
      ...common,
      peak: { nOn: 84, muB: 3.9862582792520413, sqrtTs: 17.753264611448095, sqrtTsTol: 1e-6 },
      s0: sample(1, 0.9665851207879962, 0.033304748831060355),
      s1: sample(2, 3.6417650613798993, -0.9242252627265267),
      sums: { nOn: 51555, excess: 10410.807507601688, sqrtTs: 2072.510178611648 },
    };
    const cases: [string, string, Reference][] = [
      [
        'wstat.yaml',
        one,
        {
          ...common,
          peak: { nOn: 84, muB: 4.076347351074219, sqrtTs: 18.652763173740542, sqrtTsTol: 1e-6 },
          s0: sample(1, 0.9683508276939392, 0.031972554163092214),
          s1: sample(2, 3.702596426010132, -0.9701602241547579),
          sums: { nOn: 51555, excess: 10409.473679482937, sqrtTs: 2168.508051817248 },
        },
      ],
      ['wstat-nocorr.yaml', nocorr, nocorrRef],
      // `correlate_off: null` reaches gammapy's estimator as None, which its `if correlate_off:` takes as false.
      ['wstat-null.yaml', nocorr.replace('correlate_off: false', 'correlate_off: null'), nocorrRef],
    ];
    for (const [name, text, ref] of cases) {
      ws.write(name, text);
      const r = await ws.run(['build', 'excess_map', '--config', name]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectGammapyMaps(ws, ref);
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

// `pipe build excess_map` on a Galactic-frame map of the shipped Crab runs: summary.json and the summary printed
// after the build name the peak position glon/glat (astropy's Galactic frame; not ra/dec), and agree.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type PipeRun, REPO_ROOT, type Workspace } from './rig.js';

// The Crab at (l, b) = (184.557°, −5.784°); the map is centred there, 100×100 pixels of 0.02°.
const CONFIG = readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/crab.yaml'), 'utf8').replace(
  'skydir: {frame: icrs, lon: 83.633 deg, lat: 22.014 deg}',
  'skydir: {frame: galactic, lon: 184.557 deg, lat: -5.784 deg}',
);
// gammapy 1.0: WcsGeom.create(skydir=SkyCoord(184.557, -5.784, unit='deg', frame='galactic'), binsz=0.02,
// width=(2, 2), frame='galactic').pix_to_coord((49, 49)) — the centre of the peak pixel.
const PEAK_PIXEL_GLON = 184.56705134931593;
const PEAK_PIXEL_GLAT = -5.793999911602605;

describe('pipe build excess_map with a Galactic-frame map', () => {
  let ws: Workspace;
  let run: PipeRun;
  beforeAll(async () => {
    ws = crabWorkspace();
    ws.write('galactic.yaml', CONFIG);
    run = await ws.run(['build', 'excess_map', '--config', 'galactic.yaml', '--out', 'products/galactic']);
  }, 240_000);
  afterAll(() => ws?.remove('.'));

  it('summary.json names the peak glon/glat, at the Crab’s galactic position', () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const s = JSON.parse(ws.read('products/galactic/summary.json'));
    expect(s.peak.frame).toBe('galactic');
    expect(s.peak).not.toHaveProperty('ra');
    expect(s.peak).not.toHaveProperty('dec');
    expect([s.peak.x, s.peak.y]).toEqual([49, 49]);
    expect(s.peak.glon).toBeCloseTo(PEAK_PIXEL_GLON, 9);
    expect(s.peak.glat).toBeCloseTo(PEAK_PIXEL_GLAT, 9);
    // within a pixel (0.02°) of the Crab
    expect(Math.abs(s.peak.glon - 184.557)).toBeLessThan(0.02);
    expect(Math.abs(s.peak.glat - -5.784)).toBeLessThan(0.02);
    expect(s.peak.sqrt_ts).toBeGreaterThan(30);
    // Where the map is, under the frame's names: the config's skydir, 2° at 0.02°.
    expect(s.map).toEqual({
      frame: 'galactic',
      glon: 184.557,
      glat: -5.784,
      pixels: [100, 100],
      binsize_deg: 0.02,
    });
  });

  it('--out delivers the stacked maps (a target excess_map needs) beside the estimator maps', () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = readdirSync(ws.path('products/galactic')).sort();
    for (const f of [
      'counts.fits.gz',
      'background.fits.gz',
      'exposure.fits.gz',
      'mask_safe.fits.gz',
      'counts.png',
    ])
      expect(out, f).toContain(f);
    expect(out).toContain('sqrt_ts.fits.gz');
    expect(run.stderr).toMatch(/copied 19 files to \S*products\/galactic\n/);
    // The summary printed names the folder asked for, where its summary.json now is.
    expect(run.stdout.split('\n')[0]).toBe(
      `excess_map: ${ws.path('products/galactic')}/ (copied from products/excess_map/)`,
    );
  });

  it('pipe log names the config the build ran with', async () => {
    const log = await ws.run(['log']);
    expect(log.stdout).toMatch(/succeeded\s+excess_map --config galactic\.yaml\s/);
    const json = JSON.parse((await ws.run(['log', '--json'])).stdout.trim().split('\n').at(-1)!);
    expect(json.config).toBe('galactic.yaml');
  });

  it('the printed summary says the same', () => {
    const s = JSON.parse(ws.read('products/galactic/summary.json'));
    const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith('peak:'));
    expect(line, run.stdout).toBeDefined();
    const show = (v: number) => Number(v.toPrecision(7)).toString();
    expect(line).toContain(`glon ${show(s.peak.glon)}, glat ${show(s.peak.glat)}, frame galactic`);
    expect(line).not.toMatch(/\b(ra|dec) /);
  });

  it("the step's log line names them too", () => {
    const [build] = readdirSync(ws.path('.pipe/logs'));
    const log = ws.read(`.pipe/logs/${build}/excess_map.log`);
    expect(log).toMatch(/peak sqrt\(TS\) [\d.]+ at glon 184\.5671, glat -5\.7940 \(galactic\)/);
  });
});

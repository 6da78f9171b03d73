// gammapy's optional estimator quantities (excess_map.parameters.selection_optional: errn-errp, ul) end to end: written
// when the target declares them as outputs, and a visible warning — not a silent drop — when it does not.

import { readFileSync } from 'node:fs';
import { readMapFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const CONFIG = 'optional.yaml';

describe('excess_map selection_optional', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    ws.write(
      CONFIG,
      ws
        .read('pipelines/excess_map/crab.yaml')
        .replace(
          'excess_map: {correlation_radius: 0.1 deg}',
          'excess_map: {correlation_radius: 0.1 deg, parameters: {selection_optional: [ul]}}',
        ),
    );
  });
  afterAll(() => ws?.remove('.'));

  it('warns, naming the maps and how to declare them, when the target does not declare them', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', CONFIG]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      // The flux-like maps of the declared outputs only (flux): no dnde, e2dnde or eflux upper limits.
      /warning: excess_map: excess_map\.parameters\.selection_optional computed 3 maps \(npred_excess_ul, norm_ul, flux_ul\) that the target declares no output for/,
    );
  });

  it('no background selected: refused with the FoV method, and warned about (naming the likely cause) without it', async () => {
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    const noBackground = crab.replace(
      'map_selection: [counts, exposure, background, psf, edisp]',
      'map_selection: [counts, exposure, psf, edisp]',
    );
    ws.write('nobkg.yaml', noBackground);
    const refused = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "'datasets.background.method': fov_background scales the background map, but datasets.map_selection does not make one",
    );
    const start = noBackground.indexOf('  background: {method: fov_background');
    const end = noBackground.indexOf('safe_mask:');
    expect(start).toBeGreaterThan(0);
    ws.write(
      'nobkg.yaml',
      `${noBackground.slice(0, start)}  background: {method: null}\n  ${noBackground.slice(end)}`,
    );
    const r = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(
      'warning: excess_map: the stacked background is zero inside the safe mask',
    );
    const good = await ws.run(['build', 'excess_map']);
    expect(good.stdout + good.stderr).not.toContain('are zero inside the safe mask');
  });

  it('every kernel backend writes the same bytes (they share one cache entry)', async () => {
    expect((await ws.run(['build', 'excess_map'])).code).toBe(0);
    const files = ['summary.json', 'sqrt_ts.fits.gz', 'flux.fits.gz'];
    const bytes = () =>
      files.map((f) => readFileSync(ws.path(`products/excess_map/${f}`)).toString('base64'));
    const before = bytes();
    const js = await ws.run(['build', 'excess_map', '--kernels', 'js', '--force', 'excess_map']);
    expect(js.code, js.stderr).toBe(0);
    expect(js.stderr).toMatch(/ran +excess_map/);
    expect(bytes()).toEqual(before);
  });

  it('pipe why prints params shared by a fan-out once, then names where they were shown', async () => {
    expect((await ws.run(['build', 'excess_map'])).code).toBe(0);
    const why = await ws.run(['why', 'products/excess_map/sqrt_ts.fits.gz']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout.match(/params \{"datasets"/g)).toHaveLength(1);
    expect(why.stdout.match(/params as stacked\n/g)).toHaveLength(4);
  });

  it('writes a declared upper-limit map, above the flux where the flux is positive', async () => {
    const pipeline = 'pipelines/excess_map/pipe.yaml';
    ws.write(
      pipeline,
      ws
        .read(pipeline)
        .replace(
          '      summary: products/excess_map/summary.json',
          '      summary: products/excess_map/summary.json\n      flux_ul: products/excess_map/flux_ul.fits.gz',
        ),
    );
    const r = await ws.run(['build', 'excess_map', '--config', CONFIG]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/selection_optional computed/);
    const ul = readMapFits(ws.path('products/excess_map/flux_ul.fits.gz'));
    const flux = readMapFits(ws.path('products/excess_map/flux.fits.gz'));
    let checked = 0;
    for (let i = 0; i < flux.data.length; i++) {
      const f = flux.data[i] as number;
      if (!(f > 0)) continue;
      expect(ul.data[i] as number).toBeGreaterThan(f);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

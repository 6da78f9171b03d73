// A run is reduced with the IRFs the analysis uses, as gammapy reads them: a store whose run file lacks its BKG
// HDU still serves an analysis that makes no background map (it failed with "[HDU 'bkg']: no such HDU"), and one
// that makes a background map names the missing HDU.

import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const RUN = 'pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023526.fits.gz';

/** The FITS bytes up to the HDU named `extname` (its header starts a 2880-byte block): the HDUs before it. */
function withoutHdusFrom(fits: Buffer, extname: string): Buffer {
  for (let at = 2880; at < fits.length; at += 2880) {
    const header = fits.subarray(at, at + 2880).toString('latin1');
    if (header.startsWith('XTENSION') && new RegExp(`EXTNAME = '${extname}\\s*'`).test(header))
      return fits.subarray(0, at);
  }
  throw new Error(`no HDU ${extname}`);
}

describe('a run reduced with the IRFs the analysis uses', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    // The last HDU of a DR1 run file is BKG: cut it off; the HDU index still names it.
    const fits = gunzipSync(readFileSync(ws.path(RUN)));
    writeFileSync(ws.path(RUN), gzipSync(withoutHdusFrom(fits, 'BKG')));
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    const start = crab.indexOf('  background: {method: fov_background');
    const end = crab.indexOf('  safe_mask:');
    expect(start).toBeGreaterThan(0);
    ws.write(
      'nobkg.yaml',
      `${crab.slice(0, start)}  background: {method: null}\n${crab.slice(end)}`
        .replace('required_irf: [aeff, edisp, psf, bkg]', 'required_irf: [aeff, edisp, psf]')
        .replace(
          'map_selection: [counts, exposure, background, psf, edisp]',
          'map_selection: [counts, exposure, psf, edisp]',
        ),
    );
  });
  afterAll(() => ws?.remove('.'));

  it('builds an analysis without a background map from a run whose file has no BKG HDU', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.exists('products/excess_map/counts.fits.gz')).toBe(true);
  });

  it('names the missing HDU when the analysis makes a background map', async () => {
    const r = await ws.run(['build', 'excess_map']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hess_dl3_dr1_obs_id_023526.fits.gz[HDU 'bkg']: no such HDU");
  });
});

// A background table with NaN cells (a model with empty bins) is read as gammapy 1.0 reads it: holes inside a
// column along energy are filled (MapDatasetMaker's interp_missing_data), holes at its ends stay NaN, so every rate
// interpolated from them is NaN and the safe mask drops those bins (make_mask_bkg_invalid). pipe refused such a
// file ("IRF data must be finite numbers"). Expected numbers: gammapy 1.0 on the same patched store
// (scripts/gammapy_excess_map.py), with the same NaN patches written by astropy.

import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const DATA = 'pipelines/excess_map/data/hess-dl3-dr1/data';

/**
 * Set the BKG cells [e0, e1) × [y0, y1) × [x0, x1) (gammapy's [energy][fov_lat][fov_lon] order) of a DR1 run
 * file to NaN. Its BKG HDU is one row of 50E ×4, 20E ×2 and the 50000E BKG cell, TDIM (50,50,20): lon fastest.
 */
function withNanBkg(fits: Buffer, box: { e: [number, number]; y: [number, number]; x: [number, number] }) {
  const out = Buffer.from(fits);
  for (let at = 2880; at < out.length; at += 2880) {
    const header = out.subarray(at, at + 2880).toString('latin1');
    if (!(header.startsWith('XTENSION') && /EXTNAME = 'BKG\s*'/.test(header))) continue;
    // The header takes more than one block: the data starts after the block holding END.
    let end = at;
    while (!/END {77}/.test(out.subarray(end, end + 2880).toString('latin1'))) end += 2880;
    expect(out.subarray(at, end + 2880).toString('latin1')).toContain("TDIM7   = '(50,50,20)'");
    const cell = end + 2880 + 4 * (4 * 50 + 2 * 20);
    for (let e = box.e[0]; e < box.e[1]; e++)
      for (let y = box.y[0]; y < box.y[1]; y++)
        for (let x = box.x[0]; x < box.x[1]; x++)
          out.writeFloatBE(Number.NaN, cell + 4 * (x + 50 * y + 2500 * e));
    return out;
  }
  throw new Error('no BKG HDU');
}

function patchRun(ws: Workspace, obsId: number, box: Parameters<typeof withNanBkg>[1]) {
  const file = ws.path(`${DATA}/hess_dl3_dr1_obs_id_0${obsId}.fits.gz`);
  writeFileSync(file, gzipSync(withNanBkg(gunzipSync(readFileSync(file)), box)));
}

describe('a background table with NaN cells', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    // Run 23523: energies 0–6 (up to the 0.79 TeV node, which the 1–1.26 TeV bin interpolates from) are NaN in a
    // patch of the FoV: leading holes. Run 23526: energies 9–10 in another patch: holes inside the column.
    patchRun(ws, 23523, { e: [0, 7], y: [20, 30], x: [20, 30] });
    patchRun(ws, 23526, { e: [9, 11], y: [22, 27], x: [22, 27] });
  });
  afterAll(() => ws?.remove('.'));

  it('is filled inside and masked at the ends, as gammapy 1.0 does', async () => {
    const r = await ws.run(['build', 'excess_map']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(ws.read('products/excess_map/summary.json'));
    // gammapy 1.0: background_sum 1917.7580861179158; peak n_on 291, npred_background 15.653839, sqrt_ts 33.91555
    // (unpatched: 1997.492, n_on 318: run 23523's bins around the Crab are masked).
    expect(summary.total_background).toBeCloseTo(1917.75809, 2);
    expect(Math.abs(summary.total_background / 1917.7580861179158 - 1)).toBeLessThan(1e-5);
    expect(summary.peak.n_on).toBe(291);
    expect(Math.abs(summary.peak.mu_b / 15.653839111328125 - 1)).toBeLessThan(1e-5);
    expect(summary.peak.sqrt_ts).toBeCloseTo(33.91555, 3);
  });
});

// The docs' correlation-radius sweep (docs/gammapy-analysis.md) declares no flux map. Found by helper-150: its
// summary's peak then had no `flux` (the estimator made only the declared flux maps), which the README promises.
import { beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const SCAN = `targets:
  radius_scan:
    step: astro.excess_map
    foreach: [0.1, 0.2]
    inputs: {stacked: {target: stacked}}
    params: {excess_map: {correlation_radius: "{item} deg"}}
    outputs:
      sqrt_ts: "products/radius_scan/{item}/sqrt_ts.fits.gz"
      summary: "products/radius_scan/{item}/summary.json"
`;

describe('a sweep of the excess map that declares no flux map', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    ws.write('pipelines/radius_scan/pipe.yaml', SCAN);
  });

  it("reports the peak's flux in its summary, as the full target does", async () => {
    const run = await ws.run(['build', 'excess_map', 'radius_scan']);
    expect(run.code, run.stderr).toBe(0);
    const full = JSON.parse(ws.read('products/excess_map/summary.json'));
    const scan = JSON.parse(ws.read('products/radius_scan/0.1/summary.json'));
    expect(full.peak.flux).toBeGreaterThan(0);
    expect(scan.peak).toEqual(full.peak);
    expect(JSON.parse(ws.read('products/radius_scan/0.2/summary.json')).peak.flux).toBeGreaterThan(0);
  }, 300_000);
});

// A selected run whose cutout (2 × datasets.geom.selection.offset_max, centred on its pointing) misses the map:
// gammapy 1.0 refuses the analysis (astropy's NoOverlapError: "Arrays do not overlap." from get_datasets), and so
// does pipe, naming the run and the setting with its place in the config. Found by a gammapy cross-check: the
// Crab config with
//   width: {width: 0.6 deg, height: 0.6 deg} and selection: {offset_max: 0.1 deg}
// (the Crab runs point 0.5° and 1.5° from the map centre), which gammapy refuses as above; pipe failed each run
// without saying where the setting was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

describe('a run whose cutout misses the map', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    const offMap = crab
      .replace('width: {width: 2.0 deg, height: 2.0 deg}', 'width: {width: 0.6 deg, height: 0.6 deg}')
      .replace('offset_max: 2.5 deg', 'offset_max: 0.1 deg');
    expect(offMap).not.toBe(crab);
    ws.write('offmap.yaml', offMap);
  });
  afterAll(() => ws?.remove('.'));

  it('fails the run, naming datasets.geom.selection.offset_max where it was set', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', 'offmap.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED\s+datasets\[23523\]: .*does not overlap the 30×30 map.*datasets\.geom\.selection\.offset_max \(0\.1 deg\).*; set at offmap\.yaml:13:\d+/,
    );
    expect(ws.exists('products/excess_map/sqrt_ts.fits.gz')).toBe(false);
  });
});

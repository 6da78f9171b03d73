// Flux = excess / reco exposure: when the reco exposure is 0 in every pixel (no true energy of the response reaches
// the reco range), every flux and norm pixel is ±inf, in gammapy too. The build says why, rather than leave a map of
// infinities to be found.
import { describe, expect, it } from 'vitest';
import { crabWorkspace } from './rig.js';

describe('pipe build excess_map: a reco exposure of 0 everywhere', () => {
  it('warns that the flux maps are ±inf, and why', async () => {
    const ws = crabWorkspace();
    try {
      const crab = ws.read('pipelines/excess_map/crab.yaml');
      const config = crab
        .replace(/map_selection: \[[^\]]*\]/, 'map_selection: [counts, exposure, background]')
        .replace(
          /energy_true: \{min: 0\.5 TeV, max: 20\.0 TeV, nbins: 20\}/,
          'energy_true: {min: 20 TeV, max: 50 TeV, nbins: 5}',
        );
      expect(config).toContain('energy_true: {min: 20 TeV');
      expect(config).toContain('map_selection: [counts, exposure, background]');
      ws.write('zero.yaml', config);
      const run = await ws.run(['build', 'excess_map', '--config', 'zero.yaml', '--out', 'out']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        'warning: excess_map: the reco exposure is 0 in every pixel, so the flux, norm and their errors are ±inf',
      );
      // The shipped config has none of it.
      const shipped = await ws.run(['build', 'excess_map']);
      expect(shipped.code, shipped.stderr).toBe(0);
      expect(shipped.stderr).not.toContain('reco exposure is 0');
      // pipe's own steps await their writes: no step is told it left file operations running (the stack step was,
      // when the check counted the read whose completion had just resumed it).
      expect(shipped.stderr).not.toContain('file operation');
    } finally {
      ws.remove('.');
    }
  }, 240_000);
});

// excess_map.energy_edges that the stacked dataset's energy axis cannot be grouped into is only known once the
// dataset exists (its axis may come from another step of a workflow): the excess-map task fails, saying which edges
// and which axis, and names where the edges were written. The reduction before it stays done.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

describe('excess_map.energy_edges outside the reco energy axis', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
  });
  afterAll(() => ws?.remove('.'));

  it('fails the excess map at the config line of the edges; the runs are reduced and kept', async () => {
    const crab = ws.read('pipelines/excess_map/crab.yaml');
    const from = 'excess_map: {correlation_radius: 0.1 deg}';
    expect(crab).toContain(from);
    const text = crab.replace(
      from,
      'excess_map: {correlation_radius: 0.1 deg, energy_edges: {min: 20 TeV, max: 50 TeV, nbins: 2}}',
    );
    ws.write('edges.yaml', text);
    const lines = text.split('\n');
    const row = lines.findIndex((l) => l.includes('energy_edges'));
    const col = lines[row]!.indexOf('{min: 20 TeV') + 1;
    const r = await ws.run(['build', 'excess_map', '--config', 'edges.yaml']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED\s+excess_map: step failed: excess map: energy_edges [\d., ]+ TeV do not overlap the reco energy axis \(1, [\d., ]+, 10\)/,
    );
    expect(r.stderr).toContain(`; set at edges.yaml:${row + 1}:${col}\n`);
    // Edges that fit: only the excess map runs again.
    ws.write(
      'edges.yaml',
      text.replace('{min: 20 TeV, max: 50 TeV, nbins: 2}', '{min: 1 TeV, max: 10 TeV, nbins: 2}'),
    );
    const fixed = await ws.run(['build', 'excess_map', '--config', 'edges.yaml']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toMatch(/ran\s+excess_map/);
    expect(fixed.stderr).not.toMatch(/ran\s+datasets\[/);
    // Several groups: said that gammapy's own resampling may put a boundary one reco bin off (its float rounding).
    expect(fixed.stderr).toContain(
      'warning: excess_map: excess_map.energy_edges makes 2 groups of whole reco bins, as gammapy',
    );
  });
});

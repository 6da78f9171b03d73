import { readFileSync } from 'node:fs';
// Behaviour of the excess map estimator beyond the Crab oracle: energy splitting, masking, failures,
// the reference spectrum.
import { describe, expect, it } from 'vitest';
import {
  excessMap,
  groupEnergyBins,
  midBinTies,
  powerLawIntegral,
  referenceBinValues,
  summarizeExcessMap,
} from '../src/estimators/index.js';
import { logEnergyAxis, roundHalfEven } from '../src/geom/index.js';
import { declaredFluxQuantities } from '../src/steps/products.js';

const nx = 12;
const ny = 9;
const npix = nx * ny;
const edges = [1, 2, 4, 8];
const trueEdges = [0.5, 1, 2, 4, 8, 16];

function cube(n: number, f: (k: number, p: number) => number): Float64Array {
  return Float64Array.from({ length: n * npix }, (_, i) => f(Math.floor(i / npix), i % npix));
}

const base = {
  counts: cube(3, (k, p) => (p * 7 + k * 3) % 5),
  background: cube(3, (k) => 0.5 + 0.25 * k),
  exposure: cube(5, (t) => 1e9 * (t + 1)),
  nx,
  ny,
  nEnergy: 3,
  energyEdgesReco: edges,
  energyEdgesTrue: trueEdges,
  // K[t][k]: true bin t reconstructed in reco bin k
  edispKernel: Float64Array.from({ length: 15 }, (_, i) => ((i % 3) + 1) / 10),
  binsizeDeg: 0.1,
  correlationRadiusDeg: 0.2,
};

describe('excessMap', () => {
  // Found by fuzzing: correlation_radius 1.0e300 deg failed the task with "Invalid typed array length: Infinity".
  it('a correlation radius past the map diagonal makes the maps of one just past it, however large', () => {
    const diagonal = Math.hypot(nx, ny) * base.binsizeDeg;
    const near = excessMap({ ...base, correlationRadiusDeg: 2 * diagonal });
    const huge = excessMap({ ...base, correlationRadiusDeg: 1e300 });
    if (!near.ok || !huge.ok) throw new Error('failed');
    for (const name of ['npred', 'npred_background', 'ts', 'sqrt_ts', 'flux'] as const)
      expect(Array.from(huge.value.maps[name] ?? []), name).toEqual(Array.from(near.value.maps[name] ?? []));
    // every pixel correlates the whole map: npred is the sum of all counts (one energy group over the 3 bins)
    const all = Array.from(base.counts).reduce((a, b) => a + b, 0);
    expect(Array.from(huge.value.maps.npred ?? [])).toEqual(Array(npix).fill(all));
  });

  it('splits into energy bins: each bin equals a run restricted to its reco bins', () => {
    const split = excessMap({ ...base, energyEdges: [1, 2, 8] });
    if (!split.ok) throw new Error(split.message);
    expect(split.value.bins.map((b) => [b.eMin, b.eMax])).toEqual([
      [1, 2],
      [2, 8],
    ]);
    const second = excessMap({
      ...base,
      counts: base.counts.slice(npix),
      background: base.background.slice(npix),
      nEnergy: 2,
      energyEdgesReco: [2, 4, 8],
      edispKernel: Float64Array.from(
        { length: 10 },
        (_, i) => base.edispKernel[Math.floor(i / 2) * 3 + 1 + (i % 2)] as number,
      ),
    });
    if (!second.ok) throw new Error(second.message);
    for (const name of ['npred', 'npred_background', 'ts', 'norm', 'flux'] as const) {
      expect(Array.from(split.value.maps[name]?.subarray(npix) ?? [])).toEqual(
        Array.from(second.value.maps[name] ?? []),
      );
    }
  });

  it('sets every output map to NaN where mask_safe is false in all bins, and drops masked counts', () => {
    const maskSafe = cube(3, (k, p) => (p === 20 ? 0 : p === 30 && k === 0 ? 0 : 1));
    const r = excessMap({ ...base, maskSafe, selectionOptional: 'all' });
    if (!r.ok) throw new Error(r.message);
    for (const [name, map] of Object.entries(r.value.maps)) {
      expect(map?.[20], name).toBeNaN();
      expect(Number.isNaN(map?.[30]), name).toBe(false);
    }
    const c = base.counts;
    expect(r.value.images[0]?.counts[30]).toBe((c[npix + 30] as number) + (c[2 * npix + 30] as number));
    // background is summed without the mask (§7.1)
    expect(r.value.images[0]?.background[30]).toBe(0.5 + 0.75 + 1);
  });

  it('without exposure gives the counts maps only', () => {
    const { exposure: _e, ...rest } = base;
    const r = excessMap(rest);
    if (!r.ok) throw new Error(r.message);
    expect(r.value.maps.norm).toBeUndefined();
    expect(r.value.maps.sqrt_ts.length).toBe(npix);
  });

  it('returns failures as values', () => {
    const bad = [
      excessMap({ ...base, counts: new Float64Array(5) }),
      excessMap({ ...base, energyEdges: [20, 30] }),
      excessMap({ ...base, energyEdges: [4, 2] }),
      excessMap({ ...base, edispKernel: new Float64Array(5), energyEdges: [1, 2, 8] }),
      excessMap({ ...base, binsizeDeg: 0 }),
      excessMap({ ...base, nSigma: -1 }),
    ];
    expect(bad.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'shape-mismatch',
      'energy-edges-invalid',
      'energy-edges-invalid',
      'edisp-kernel-shape',
      'bad-parameter',
      'bad-parameter',
    ]);
  });

  it('makes only the flux-like maps asked for (fluxQuantities), the same values as when all are made', () => {
    const all = excessMap(base);
    const some = excessMap({ ...base, fluxQuantities: ['flux'] });
    if (!all.ok || !some.ok) throw new Error('excess map failed');
    for (const name of ['dnde', 'e2dnde', 'eflux', 'dnde_err', 'e2dnde_err', 'eflux_err'] as const) {
      expect(all.value.maps[name]).toBeDefined();
      expect(some.value.maps[name]).toBeUndefined();
    }
    for (const name of ['norm', 'norm_err', 'flux', 'flux_err', 'sqrt_ts'] as const)
      expect(Array.from(some.value.maps[name] ?? [])).toEqual(Array.from(all.value.maps[name] ?? []));
  });

  it('summary: peak position from pixelToSky, totals', () => {
    const r = excessMap(base);
    if (!r.ok) throw new Error(r.message);
    const s = summarizeExcessMap(r.value, { pixelToSky: (x, y) => ({ lon: 100 + x, lat: y }) });
    const sq = r.value.maps.sqrt_ts;
    const best = sq.indexOf(Math.max(...sq));
    expect([s.peak?.x, s.peak?.y]).toEqual([best % nx, Math.floor(best / nx)]);
    expect(s.peak?.sky).toEqual({ lon: 100 + (best % nx), lat: Math.floor(best / nx) });
    expect(s.totalCounts).toBe(base.counts.reduce((a, b) => a + b, 0));
    expect(s.totalBackground).toBeCloseTo(npix * (0.5 + 0.75 + 1), 9);
    // Per-map sum/min/max only when asked (a pass over every map).
    expect(s.maps).toEqual({});
    const stats = summarizeExcessMap(r.value, { mapStats: true }).maps;
    expect(stats.sqrt_ts?.max).toBe(Math.max(...sq.filter((v) => !Number.isNaN(v))));
    expect(stats.npred?.sum).toBe(
      Array.from(r.value.maps.npred).reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0),
    );
  });

  // An unstacked run (stack: false) keeps its background in bins its safe mask drops (edisp-bias cut the lowest
  // bin of Crab run 23559: the totals summed that bin's background against no counts, total_sqrt_ts -16.7 where
  // the FoV norm, fitted on the safe bins without an exclusion mask, makes the safe excess 0).
  it('summary: totals over the safe bins only, when the mask varies with energy', () => {
    const maskSafe = cube(3, (k) => (k === 0 ? 0 : 1));
    const safeCounts = Array.from(base.counts.subarray(npix)).reduce((a, b) => a + b, 0);
    // The FoV scale: background of the safe bins normalised to their counts.
    const scale = safeCounts / (npix * (0.75 + 1));
    const background = cube(3, (k) => (k === 0 ? 0.5 : (0.5 + 0.25 * k) * scale));
    const r = excessMap({ ...base, background, maskSafe });
    if (!r.ok) throw new Error(r.message);
    const s = summarizeExcessMap(r.value);
    expect(s.totalCounts).toBe(safeCounts);
    expect(s.totalBackground).toBeCloseTo(safeCounts, 9);
    expect(s.totalExcess).toBeCloseTo(0, 9);
    expect(s.totalSqrtTs).toBeCloseTo(0, 6);
    // The maps themselves correlate the unmasked background, as gammapy's estimator does (§7.1).
    expect(r.value.images[0]?.background[0]).toBeCloseTo(0.5 + (0.75 + 1) * scale, 12);
  });
});

describe('helpers', () => {
  it('roundHalfEven is numpy.rint (up to the sign of zero, which no count carries)', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, 318].map((v) => roundHalfEven(v) + 0)).toEqual([
      0, 2, 2, 0, -2, -2, 2, 3, 318,
    ]);
  });

  it('reference spectrum: gammapy default numbers and a general index', () => {
    const r = referenceBinValues({ index: 2, amplitude: 1e-12, referenceTeV: 1 }, 1, 10);
    expect(r.flux).toBeCloseTo(9e-13, 25);
    expect(r.dnde).toBeCloseTo(1e-13, 26);
    expect(r.e2dnde).toBeCloseTo(1e-12, 25);
    expect(r.eflux).toBeCloseTo(1e-12 * Math.LN10, 25);
    // index 2.5 against a numeric integral
    const p = { index: 2.5, amplitude: 3e-11, referenceTeV: 2 };
    let num = 0;
    for (let i = 0; i < 100000; i++) {
      const e = 0.3 + ((i + 0.5) * (30 - 0.3)) / 100000;
      num += p.amplitude * (e / 2) ** -2.5 * ((30 - 0.3) / 100000);
    }
    expect(powerLawIntegral(p, 0.3, 30, 0) / num).toBeCloseTo(1, 5);
  });

  it('groupEnergyBins', () => {
    expect(groupEnergyBins(edges)).toEqual([{ first: 0, last: 3, eMin: 1, eMax: 8 }]);
    expect(groupEnergyBins(edges, [2.0000001, 8])).toEqual([{ first: 1, last: 3, eMin: 2, eMax: 8 }]);
  });

  it('groupEnergyBins snaps edges off the reco axis as gammapy 1.0 MapAxis.group_table does', () => {
    // Expected groups from gammapy: MapAxis.from_energy_edges([1, 2, 4, 8] * u.TeV).group_table(e * u.TeV),
    // idx_min/idx_max of the 'normal' rows (our `last` is idx_max + 1).
    const runs = (e: number[]) => {
      const g = groupEnergyBins(edges, e);
      return 'reason' in g ? g.reason : g.map((x) => [x.first, x.last]);
    };
    expect(runs([1, 3])).toEqual([[0, 2]]);
    expect(runs([0.5, 2.9, 100])).toEqual([
      [0, 2],
      [2, 3],
    ]);
    expect(runs([1.41, 5.7])).toEqual([[0, 3]]);
    expect(runs([20, 30])).toBe('energy-edges-invalid');
    // Edges made on a log grid carry rounding noise: the message shows them as the config wrote them.
    const outside = groupEnergyBins(edges, [49.99999999999999, 100.00000000000004]);
    expect('message' in outside && outside.message).toBe(
      'energy_edges 50, 100 TeV do not overlap the reco energy axis (1, 2, 4, 8)',
    );
    // 0.8–12 TeV in 7 log bins grouped by 1–10 TeV in 2 log bins: gammapy idx_min [1, 4], idx_max [3, 6].
    const reco = Array.from({ length: 8 }, (_, k) => 0.8 * (12 / 0.8) ** (k / 7));
    const out = Array.from({ length: 3 }, (_, k) => 10 ** (k / 2));
    const g = groupEnergyBins(reco, out);
    expect('reason' in g ? g : g.map((x) => [x.first, x.last])).toEqual([
      [1, 4],
      [4, 7],
    ]);
  });
});

describe('energy_edges groups against gammapy 1.0', () => {
  // fixtures/gammapy-group-table.py: MapAxis.from_energy_bounds(...).group_table(...) on 663 axes, 76 of them with a
  // boundary exactly mid-bin in log (decided by the last bits of exp and log), kept where numpy's AVX-512 and glibc's
  // arithmetic agree.
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/gammapy-group-table.json', import.meta.url), 'utf8'),
  ) as { ties: number; cases: Array<{ reco: number[]; edges: number[]; groups: number[][] }> };

  it('groups reco bins as gammapy does, ties included', () => {
    expect(fixture.ties).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const c of fixture.cases) {
      const reco = logEnergyAxis('reco', c.reco[0]!, c.reco[1]!, c.reco[2]!);
      const edges = logEnergyAxis('reco', c.edges[0]!, c.edges[1]!, c.edges[2]!);
      if ('reason' in reco || 'reason' in edges) throw new Error('bad axis');
      const g = groupEnergyBins(reco.edges, edges.edges);
      const got = 'reason' in g ? g.reason : g.map((x) => [x.first, x.last]);
      if (JSON.stringify(got) !== JSON.stringify(c.groups))
        wrong.push(`${JSON.stringify(c)}: ${JSON.stringify(got)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('names the group edges that lie exactly mid-way through a reco bin (gammapy decides those by its last bits)', () => {
    const axis = (lo: number, hi: number, n: number) => {
      const a = logEnergyAxis('reco', lo, hi, n);
      if ('reason' in a) throw new Error(a.message);
      return a.edges;
    };
    // 5 reco bins in 2 groups: 10^0.5 TeV is mid-bin; 4 in 2 has no tie; the axis ends are never ties.
    expect(midBinTies(axis(1, 10, 5), axis(1, 10, 2))).toEqual([3.1622776601683795]);
    expect(midBinTies(axis(1, 10, 4), axis(1, 10, 2))).toEqual([]);
    expect(midBinTies(axis(1, 10, 9), axis(1, 10, 2))).toHaveLength(1);
  });

  it('builds the energy edges gammapy does (exp of linspace of logs, correctly rounded)', () => {
    const axis = logEnergyAxis('reco', 1, 10, 2);
    // numpy on glibc: [1.0, 3.1622776601683795, 10.000000000000002] (node's Math.exp gives 3.16227766016838).
    expect('edges' in axis && Array.from(axis.edges)).toEqual([1, 3.1622776601683795, 10.000000000000002]);
  });
});

describe('declaredFluxQuantities', () => {
  it('names the flux-like quantities of the declared outputs (maps and quick-looks, any error suffix)', () => {
    const outputs = (names: string[]) => Object.fromEntries(names.map((n) => [n, `products/${n}`]));
    expect(declaredFluxQuantities(outputs(['sqrt_ts', 'norm', 'norm_err', 'summary']))).toEqual([]);
    expect(declaredFluxQuantities(outputs(['flux', 'flux_err', 'flux_png'])).sort()).toEqual(['flux']);
    expect(
      declaredFluxQuantities(outputs(['eflux_ul', 'e2dnde_png', 'dnde_errn', 'flux_errp'])).sort(),
    ).toEqual(['dnde', 'e2dnde', 'eflux', 'flux']);
    // Names that only look alike are no flux products.
    expect(declaredFluxQuantities(outputs(['fluxes', 'flux_map', 'my_flux']))).toEqual([]);
  });
});

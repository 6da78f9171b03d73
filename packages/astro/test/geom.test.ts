// Geometry: map grids (§3.1, §3.3), energy axes built bit for bit as gammapy (§3.2), per-run cutouts (§4.0).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cutoutAround, isCutoutFailure } from '../src/geom/cutout.js';
import { isEnergyAxisFailure, logCentres, logEnergyAxis } from '../src/geom/energy-axis.js';
import { roundHalfEven } from '../src/geom/rounding.js';
import { createWcsGeom, irfGeom, isGeomFailure, type WcsGeom, wrapLongitude } from '../src/geom/wcs-geom.js';
import { convertFrame, icrsToPixel, pixelToIcrs } from '../src/wcs/index.js';
import { SHARED } from './shared-dir.js';

const summary = JSON.parse(
  readFileSync(`${SHARED}/spec/reference/crab/summary.json`, 'utf8').replace(/\bNaN\b/g, 'null'),
) as {
  geom: { energy_edges_TeV: number[]; energy_true_edges_TeV: number[] };
  exposure_at_centre: { energy_true_centres_TeV: number[] };
};

const spec = { skydir: { lon: 83.633, lat: 22.014, frame: 'icrs' as const }, binsize: 0.02, width: 2.0 };

function geom(s: Parameters<typeof createWcsGeom>[0]): WcsGeom {
  const g = createWcsGeom(s);
  if (isGeomFailure(g)) throw new Error(g.message);
  return g;
}

describe('rounding', () => {
  it('rounds half to even, unlike Math.round', () => {
    expect(
      [0.5, 1.5, 2.5, -0.5, -1.5, 2.4999999999999996, 3.5000000000000004].map((v) => roundHalfEven(v) + 0),
    ).toEqual([0, 2, 2, 0, -2, 2, 4]);
    expect(Number.isNaN(roundHalfEven(Number.NaN))).toBe(true);
  });
});

describe('WcsGeom', () => {
  it('makes the 100×100 Crab grid with its centre on a pixel corner', () => {
    const g = geom(spec);
    expect([g.nx, g.ny, ...g.wcs.crpix, ...g.wcs.cdelt]).toEqual([100, 100, 50.5, 50.5, -0.02, 0.02]);
    expect(g.wcs.projection).toBe('CAR');
  });

  it('makes the 10×10 IRF grid (CRPIX 5.5)', () => {
    const g = irfGeom(spec, 0.2);
    if (isGeomFailure(g)) throw new Error(g.message);
    expect([g.nx, g.ny, ...g.wcs.crpix]).toEqual([10, 10, 5.5, 5.5]);
  });

  it("sizes the IRF grid from the map's real width (npix × binsize), as gammapy's to_binsz", () => {
    // 1.7° at 0.03° is 57 pixels = 1.71°: 8.55 → 9 IRF pixels of 0.2° (1.7 / 0.2 = 8.5 would round to 8);
    // 2.05° is 68 pixels = 2.04°: 10.2 → 10. gammapy 1.0 gives the EDISP map of this config 10 × 9 pixels.
    const g = irfGeom({ ...spec, binsize: 0.03, width: [2.05, 1.7] }, 0.2);
    if (isGeomFailure(g)) throw new Error(g.message);
    expect([g.nx, g.ny, ...g.wcs.crpix]).toEqual([10, 9, 5.5, 5]);
  });

  it('rounds npix half to even and keeps CRPIX = (npix + 1)/2 for odd sizes and rectangles', () => {
    const g = geom({ ...spec, width: [0.05, 0.07] });
    expect([g.nx, g.ny, ...g.wcs.crpix]).toEqual([2, 4, 1.5, 2.5]);
  });

  it('builds a Galactic map around an ICRS skydir', () => {
    const g = geom({ ...spec, frame: 'galactic' });
    const [l, b] = convertFrame('icrs', 'galactic', 83.633, 22.014);
    expect(g.wcs.frame).toBe('galactic');
    expect(g.wcs.crval[0]).toBeCloseTo(l, 12);
    expect(g.wcs.crval[1]).toBeCloseTo(b, 12);
  });

  // A config's `skydir: {frame: galactic, lon: -12.7 deg}` (RX J1713 as often written): gammapy's map has CRVAL1
  // 347.3, astropy's Longitude wrapping; a map written with -12.7 was another geometry to gammapy's Map arithmetic.
  it('wraps the centre longitude into [0, 360) as astropy does', () => {
    const g = geom({ skydir: { lon: -12.7, lat: -0.5, frame: 'galactic' }, binsize: 0.04, width: [3, 2.5] });
    expect(g.wcs.crval).toEqual([347.3, -0.5]);
    // astropy's Longitude(v * u.deg).deg, Debian python3-astropy (gammapy 1.0's)
    const astropy: [number, number][] = [
      [-12.7, 347.3],
      [-0.3, 359.7],
      [370.25, 10.25],
      [720.1, 0.10000000000002274],
      [-360, 0],
      [360, 0],
      [83.633, 83.633],
    ];
    expect(astropy.map(([v]) => wrapLongitude(v))).toEqual(astropy.map(([, w]) => w));
  });

  it('refuses empty or negative sizes', () => {
    expect(isGeomFailure(createWcsGeom({ ...spec, width: 0.001 }))).toBe(true);
    expect(isGeomFailure(createWcsGeom({ ...spec, binsize: -1 }))).toBe(true);
  });
});

describe('energy axes', () => {
  it('reproduces gammapy’s reco and true edges to the last bit of exp (last reco edge 10.000000000000002)', () => {
    // Same ln-space arithmetic as numpy.linspace; V8's Math.exp and glibc's exp differ by 1 ulp on a few edges.
    const reco = logEnergyAxis('reco', 1, 10, 10);
    const truth = logEnergyAxis('true', 0.5, 20, 20);
    if (isEnergyAxisFailure(reco) || isEnergyAxisFailure(truth)) throw new Error('axis');
    for (const [i, v] of summary.geom.energy_edges_TeV.entries()) {
      expect(Math.abs((reco.edges[i] as number) - v)).toBeLessThanOrEqual(2 * Number.EPSILON * v);
    }
    for (const [i, v] of summary.geom.energy_true_edges_TeV.entries()) {
      expect(Math.abs((truth.edges[i] as number) - v)).toBeLessThanOrEqual(2 * Number.EPSILON * v);
    }
    expect(reco.edges[10]).toBe(10.000000000000002);
  });

  it('has the exposure energies of §3.2 as log centres', () => {
    const truth = logEnergyAxis('true', 0.5, 20, 20);
    if (isEnergyAxisFailure(truth)) throw new Error('axis');
    const c = logCentres(truth);
    for (const [i, v] of summary.exposure_at_centre.energy_true_centres_TeV.entries()) {
      expect(Math.abs((c[i] as number) / v - 1)).toBeLessThan(1e-15);
    }
  });

  it('refuses bad bounds and bin counts', () => {
    expect(isEnergyAxisFailure(logEnergyAxis('reco', 0, 10, 10))).toBe(true);
    expect(isEnergyAxisFailure(logEnergyAxis('reco', 10, 1, 10))).toBe(true);
    expect(isEnergyAxisFailure(logEnergyAxis('reco', 1, 10, 0))).toBe(true);
  });
});

describe('cutouts (§4.0, trim mode)', () => {
  const crab = geom(spec);

  it('keeps the whole Crab map for every Crab pointing', () => {
    for (const [ra, dec] of [
      [83.633333, 21.514444],
      [85.253333, 22.014444],
      [82.013333, 22.014444],
    ] as const) {
      const c = cutoutAround(crab, ra, dec, 5);
      if (isCutoutFailure(c)) throw new Error(c.message);
      expect([c.x0, c.y0, c.geom.nx, c.geom.ny]).toEqual([0, 0, 100, 100]);
    }
  });

  it('trims a wide map to ceil(p − 125) ≤ x < ceil(p + 125) and keeps pixel ↔ sky exact', () => {
    const wide = geom({ ...spec, width: 10 }); // 500×500
    const c = cutoutAround(wide, 83.633 + 1.6, 22.014 - 1.05, 5);
    if (isCutoutFailure(c)) throw new Error(c.message);
    expect(c.geom.nx).toBe(250);
    expect(c.geom.ny).toBe(250);
    for (const [x, y] of [
      [0, 0],
      [17, 203],
      [249, 249],
    ] as const) {
      const a = pixelToIcrs(c.geom.wcs, x, y);
      const b = pixelToIcrs(wide.wcs, x + c.x0, y + c.y0);
      expect(a[0]).toBeCloseTo(b[0], 12);
      expect(a[1]).toBeCloseTo(b[1], 12);
    }
    // the pointing sits mid-cutout: ceil(p − 125) is the first column
    const [px, py] = icrsToPixel(wide.wcs, 83.633 + 1.6, 22.014 - 1.05);
    expect(c.x0).toBe(Math.ceil(px - 125));
    expect(c.y0).toBe(Math.ceil(py - 125));
  });

  it('trims at the map border and fails when the square misses the map', () => {
    const c = cutoutAround(crab, 83.633 + 3.2, 22.014, 5);
    if (isCutoutFailure(c)) throw new Error(c.message);
    expect(c.x0).toBe(0);
    expect(c.geom.nx).toBeLessThan(100);
    const far = cutoutAround(crab, 120, -30, 5);
    expect(isCutoutFailure(far) && far.reason).toBe('no-overlap');
  });
});

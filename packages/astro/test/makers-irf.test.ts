// Makers on synthetic IRFs with closed-form answers: background from BKG_3D and BKG_2D (ln rate linear in the
// FoV coordinates and a power law in energy, which trilinear ln-interpolation and log-log integration reproduce
// exactly), parametric PSFs (3gauss, king) against their normalised profiles.
import { referenceKernels } from '@pipe/kernels';
import { describe, expect, it } from 'vitest';
import { FitsHeader } from '../src/fits/index.js';
import { type EnergyAxis, logEnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, geomSolidAngles, type WcsGeom } from '../src/geom/wcs-geom.js';
import type { IrfAxis, IrfAxisName, IrfClass, IrfTable } from '../src/irf/index.js';
import {
  aeffInputs,
  bkgInputs,
  defaultRadEdges,
  edispInputs,
  makeBackground,
  parametricPsfMap,
  pointingGeometry,
  psfInputs,
} from '../src/makers/index.js';

function axis(name: IrfAxisName, edges: number[], log: boolean): IrfAxis {
  const e = Float64Array.from(edges);
  const nodes = Float64Array.from(edges.slice(0, -1), (lo, i) =>
    log ? Math.sqrt(lo * (edges[i + 1] as number)) : (lo + (edges[i + 1] as number)) / 2,
  );
  return {
    name,
    column: name,
    unit: '',
    interp: log ? 'log' : 'lin',
    nodeType: 'edges',
    nbin: nodes.length,
    edges: e,
    nodes,
  };
}

function table(
  hduClass: IrfClass,
  axes: IrfAxis[],
  data: Float64Array,
  arrays: Record<string, Float64Array> = {},
): IrfTable {
  const shape = axes.map((a) => a.nbin);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return {
    hduClass,
    file: 'synthetic',
    hdu: hduClass.toUpperCase(),
    header: new FitsHeader([]),
    axes,
    shape,
    strides,
    data,
    unit: '',
    arrays: Object.fromEntries(Object.entries(arrays).map(([k, v]) => [k, { column: k, data: v, unit: '' }])),
    pointLike: false,
  };
}

const geom = createWcsGeom({ skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.1, width: 3 }) as WcsGeom;
const energy = logEnergyAxis('reco', 1, 10, 5) as EnergyAxis;
const pointing = { ra: 84.2, dec: 21.7 };
const eEdges = Array.from({ length: 13 }, (_, i) => 0.1 * 2 ** i);
const fovEdges = Array.from({ length: 31 }, (_, i) => -3 + 0.2 * i);
const DEG = Math.PI / 180;
const A = 1e-3;
const GAMMA = 2.7;
const rate = (e: number, s: number) => A * e ** -GAMMA * Math.exp(-s);

function expectedBackground(slope: (lon: number, lat: number) => number, ontime: number): Float64Array {
  const fov = pointingGeometry(geom, pointing, referenceKernels);
  const omega = geomSolidAngles(geom);
  const n = geom.nx * geom.ny;
  const out = new Float64Array(5 * n);
  for (let k = 0; k < 5; k++) {
    const e1 = energy.edges[k] as number;
    const e2 = energy.edges[k + 1] as number;
    for (let p = 0; p < n; p++) {
      const s = slope(fov.fovLon[p] as number, fov.fovLat[p] as number);
      out[k * n + p] =
        A *
        Math.exp(-s) *
        ((e1 ** (1 - GAMMA) - e2 ** (1 - GAMMA)) / (GAMMA - 1)) *
        1e6 *
        (omega[p] as number) *
        ontime;
    }
  }
  return out;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)) / Math.abs(b[i] as number));
  return m;
}

describe('background makers on closed-form tables', () => {
  it('BKG_3D: ln rate linear in (fov_lon, fov_lat), power law in E → exact integrals (fov_lat fastest)', () => {
    const ax = [
      axis('energy', eEdges, true),
      axis('fov_lon', fovEdges, false),
      axis('fov_lat', fovEdges, false),
    ];
    const [ne, nl, nb] = ax.map((a) => a.nbin) as [number, number, number];
    const data = new Float64Array(ne * nl * nb);
    // asymmetric in lon and lat, so swapping the axes would show
    const slope = (lon: number, lat: number) => 0.3 * lon - 0.1 * lat;
    for (let e = 0; e < ne; e++)
      for (let l = 0; l < nl; l++)
        for (let b = 0; b < nb; b++)
          data[(e * nl + l) * nb + b] = rate(
            ax[0]?.nodes[e] as number,
            slope(ax[1]?.nodes[l] as number, ax[2]?.nodes[b] as number),
          );
    const inputs = bkgInputs(table('bkg_3d', ax, data));
    if ('reason' in inputs) throw new Error(inputs.message);
    const fov = pointingGeometry(geom, pointing, referenceKernels);
    const bkg = makeBackground(inputs, fov, geom, energy, 1000, referenceKernels);
    expect(maxRel(bkg, expectedBackground(slope, 1000))).toBeLessThan(1e-6);
  });

  it('an axis edge that is the table bound up to rounding (max: 100 TeV) counts as inside: its bin is not 0', () => {
    // A DR1 cross-check (MSH 15-52, energy 1–100 TeV in 6 bins): exp(ln 1 + 6·step) is 100.00000000000004 here,
    // past the BKG table's 100 TeV, so the top bin's background was 0 and the safe mask dropped it; gammapy's
    // numpy gave 99.99999999999994 and kept it.
    const top = Array.from({ length: 13 }, (_, i) => (i === 12 ? 100 : 0.1 * 10 ** (i / 4)));
    const ax = [
      axis('energy', top, true),
      axis('fov_lon', fovEdges, false),
      axis('fov_lat', fovEdges, false),
    ];
    const [ne, nl, nb] = ax.map((a) => a.nbin) as [number, number, number];
    const data = new Float64Array(ne * nl * nb);
    for (let e = 0; e < ne; e++)
      data.fill(rate(ax[0]?.nodes[e] as number, 0), e * nl * nb, (e + 1) * nl * nb);
    const inputs = bkgInputs(table('bkg_3d', ax, data));
    if ('reason' in inputs) throw new Error(inputs.message);
    const fov = pointingGeometry(geom, pointing, referenceKernels);
    const upTo100 = logEnergyAxis('reco', 1, 100, 6) as EnergyAxis;
    expect(upTo100.edges[6]).toBeGreaterThan(100);
    const bkg = makeBackground(inputs, fov, geom, upTo100, 1000, referenceKernels);
    const exact = { ...upTo100, edges: Float64Array.from(upTo100.edges, (e, i) => (i === 6 ? 100 : e)) };
    const reference = makeBackground(inputs, fov, geom, exact, 1000, referenceKernels);
    const n = geom.nx * geom.ny;
    const lastBin = bkg.subarray(5 * n);
    expect(Math.min(...lastBin)).toBeGreaterThan(0);
    expect(maxRel(lastBin, reference.subarray(5 * n))).toBeLessThan(1e-9);
    // A power law through the nodes: the top bin's integral as the closed form gives it.
    const omega = geomSolidAngles(geom);
    const e1 = upTo100.edges[5] as number;
    const closed = Float64Array.from(
      { length: n },
      (_, p) =>
        ((A * (e1 ** (1 - GAMMA) - 100 ** (1 - GAMMA))) / (GAMMA - 1)) * 1e6 * (omega[p] as number) * 1000,
    );
    expect(maxRel(lastBin, closed)).toBeLessThan(1e-6);
  });

  it("BKG_2D: a radial table at each pixel's angular separation from the pointing, padded as gammapy pads it", () => {
    const ax = [
      axis('energy', eEdges, true),
      axis(
        'offset',
        Array.from({ length: 8 }, (_, i) => 0.2 * i),
        false,
      ),
    ];
    const data = new Float64Array(12 * 7);
    for (let e = 0; e < 12; e++)
      for (let o = 0; o < 7; o++)
        data[e * 7 + o] = rate(ax[0]?.nodes[e] as number, 0.8 * (ax[1]?.nodes[o] as number));
    const inputs = bkgInputs(table('bkg_2d', ax, data));
    if ('reason' in inputs) throw new Error(inputs.message);
    const fov = pointingGeometry(geom, pointing, referenceKernels);
    const bkg = makeBackground(inputs, fov, geom, energy, 500, referenceKernels);
    // The offset is the separation (cos s = cos lon · cos lat in the FoV frame), not √(lon² + lat²). gammapy's
    // MapDatasetMaker pads the offset axis by one bin with the edge values: flat inside the first node (0.1°) and
    // beyond the last (1.3°) up to the padded edge 1.6°, zero past it.
    const sep = (l: number, b: number) => Math.acos(Math.cos(l * DEG) * Math.cos(b * DEG)) / DEG;
    const slope = (l: number, b: number) => 0.8 * Math.min(1.3, Math.max(0.1, sep(l, b)));
    const expected = expectedBackground(slope, 500);
    const n = geom.nx * geom.ny;
    for (let k = 0; k < 5; k++)
      for (let p = 0; p < n; p++)
        if (sep(fov.fovLon[p] as number, fov.fovLat[p] as number) > 1.6) expected[k * n + p] = 0;
    let flatInside = 0;
    let padded = 0;
    let outside = 0;
    for (let p = 0; p < n; p++) {
      const s = sep(fov.fovLon[p] as number, fov.fovLat[p] as number);
      if (s < 0.1) flatInside++;
      else if (s > 1.4 && s < 1.6) padded++;
      else if (s > 1.6) outside++;
    }
    expect(Math.min(flatInside, padded, outside)).toBeGreaterThan(0); // the geometry reaches every regime
    let worst = 0;
    for (let i = 0; i < bkg.length; i++) {
      const e = expected[i] as number;
      worst = Math.max(worst, e === 0 ? Math.abs(bkg[i] as number) : Math.abs((bkg[i] as number) - e) / e);
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('refuses tables that are not backgrounds', () => {
    const ax = [axis('energy_true', eEdges, true), axis('offset', [0, 1, 2], false)];
    expect(bkgInputs(table('aeff_2d', ax, new Float64Array(24)))).toMatchObject({
      reason: 'irf-unsupported',
    });
  });
});

describe('parametric PSF maps', () => {
  const energyTrue = logEnergyAxis('true', 0.5, 20, 4) as EnergyAxis;
  const ax = [axis('energy_true', [0.1, 1, 10, 100], true), axis('offset', [0, 1, 2, 3], false)];
  const fill = (v: number) => new Float64Array(9).fill(v);
  const radEdges = defaultRadEdges();
  const D = Math.PI / 180;

  function check(map: Float32Array, profile: (r: number) => number): void {
    // normalised: Σ 2π r Δr PSF = 1, and proportional to the profile
    for (let t = 0; t < 4; t++) {
      let s = 0;
      for (let r = 0; r < 66; r++)
        s += 2 * Math.PI * (0.005 + 0.01 * r) * D * 0.01 * D * (map[(t * 66 + r) * 2] as number);
      expect(s).toBeCloseTo(1, 5);
      const ratio = (map[(t * 66 + 10) * 2] as number) / (map[(t * 66 + 2) * 2] as number);
      expect(ratio).toBeCloseTo(profile(0.105) / profile(0.025), 5);
    }
  }

  it('3gauss: Σ A_i exp(−r²/2σ_i²) with A_1 = 1', () => {
    const psf = table('psf_3gauss', ax, fill(0), {
      sigma_1: fill(0.05),
      sigma_2: fill(0.1),
      sigma_3: fill(0.2),
      scale: fill(123),
      ampl_2: fill(0.3),
      ampl_3: fill(0.1),
    });
    const map = parametricPsfMap(psf, Float64Array.of(0.5, 1.2), 2, energyTrue, radEdges);
    if (!(map instanceof Float32Array)) throw new Error(map.message);
    const g = (r: number, s: number) => Math.exp(-(r * r) / (2 * s * s));
    check(map, (r) => g(r, 0.05) + 0.3 * g(r, 0.1) + 0.1 * g(r, 0.2));
  });

  it('3gauss with SCALE 0 (CTA files below their range): a PSF of 0, as gammapy (0/0 norms made 0)', () => {
    // SCALE 0 at the grid's lowest energy node (0.1 TeV) only: 0 at and below it, interpolated above it.
    const scale = fill(2);
    for (let o = 0; o < 3; o++) scale[o] = 0;
    const psf = table('psf_3gauss', ax, fill(0), {
      sigma_1: fill(0.05),
      sigma_2: fill(0.1),
      sigma_3: fill(0.2),
      scale,
      ampl_2: fill(0.3),
      ampl_3: fill(0.1),
    });
    const low = logEnergyAxis('true', 0.02, 0.1, 1) as EnergyAxis;
    const zero = parametricPsfMap(psf, Float64Array.of(0.5, 1.2), 2, low, radEdges);
    if (!(zero instanceof Float32Array)) throw new Error(zero.message);
    expect(zero.every((v) => v === 0)).toBe(true);
    // Between the nodes SCALE is above 0: the normalised profile, whatever its value.
    const map = parametricPsfMap(psf, Float64Array.of(0.5, 1.2), 2, energyTrue, radEdges);
    if (!(map instanceof Float32Array)) throw new Error(map.message);
    const g = (r: number, s: number) => Math.exp(-(r * r) / (2 * s * s));
    check(map, (r) => g(r, 0.05) + 0.3 * g(r, 0.1) + 0.1 * g(r, 0.2));
  });

  it('king: (1 + r²/(2γσ²))^−γ', () => {
    const psf = table('psf_king', ax, fill(0), { gamma: fill(2.5), sigma: fill(0.06) });
    const map = parametricPsfMap(psf, Float64Array.of(0.5, 1.2), 2, energyTrue, radEdges);
    if (!(map instanceof Float32Array)) throw new Error(map.message);
    check(map, (r) => (1 + (r * r) / (2 * 2.5 * 0.06 * 0.06)) ** -2.5);
  });
});

describe('IRFs with one offset bin (MAGIC, LST-1 point-like)', () => {
  const e = axis('energy_true', eEdges, true);
  const one = axis('offset', [0.3, 0.5], false);
  const migra = axis('migra', [0.2, 1, 5], false);
  const rad = axis('rad', [0, 0.1, 0.2], false);

  it('are refused for the exposure, EDISP and PSF maps, naming file, HDU and columns (gammapy 1.0 fails on them)', () => {
    const n = eEdges.length - 1;
    const refused = [
      aeffInputs(table('aeff_2d', [e, one], new Float64Array(n))),
      edispInputs(table('edisp_2d', [e, migra, one], new Float64Array(2 * n))),
      psfInputs(table('psf_table', [e, one, rad], new Float64Array(2 * n))),
      parametricPsfMap(
        table('psf_king', [e, one], new Float64Array(n), {
          gamma: new Float64Array(n).fill(2),
          sigma: new Float64Array(n).fill(0.1),
        }),
        Float64Array.of(0.4),
        1,
        logEnergyAxis('true', 0.5, 20, 4) as EnergyAxis,
        defaultRadEdges(),
      ),
    ];
    for (const r of refused) {
      expect(r).toMatchObject({ reason: 'irf-unsupported' });
      expect((r as { message: string }).message).toMatch(
        /^synthetic\[HDU '\w+'\] columns offset_LO\/offset_HI: the \w+ offset axis has one bin, 0.3–0.5 deg/,
      );
    }
  });

  it('are used for a BKG_2D, which gammapy pads to three bins', () => {
    const bkg = bkgInputs(table('bkg_2d', [axis('energy', eEdges, true), one], new Float64Array(12).fill(1)));
    expect(bkg).toMatchObject({ radial: true });
  });
});

// The makers' rules on small synthetic inputs: safe-mask methods (gammapy 1.0 SafeMaskMaker), FoV norm validity,
// background hole filling, stacking with cutouts, and the dataset file round trip.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceKernels } from '@pipe/kernels';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFits } from '../src/fits/index.js';
import { cutoutAround } from '../src/geom/cutout.js';
import { EDGE_SLACK, type EnergyAxis, logEnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, type WcsGeom } from '../src/geom/wcs-geom.js';
import { aeffMaxEnergy } from '../src/makers/aeff-max.js';
import {
  diagonalResponse,
  gammapyIrfCrval,
  gridCentrePixel,
  kernelPixel,
} from '../src/makers/edisp-centre.js';

import {
  DatasetStacker,
  datasetHdus,
  defaultRadEdges,
  edispBiasEnergy,
  energyBinMask,
  fillBackgroundHoles,
  fovBackgroundNorm,
  isDatasetReadFailure,
  type MapDataset,
  makeCounts,
  makeSafeMask,
  maskImage,
  readDataset,
  readDatasetAsync,
  readDatasetsInOrder,
  stackDatasets,
  writeDataset,
} from '../src/makers/index.js';
import { SHARED } from './shared-dir.js';

const axis = logEnergyAxis('reco', 1, 10, 4) as EnergyAxis;
const truth = logEnergyAxis('true', 0.5, 20, 6) as EnergyAxis;

describe('counts in a Galactic map', () => {
  // MSH 15-52 in Galactic, 0.04° pixels, 3.3° × 2.7° (82 × 68), reco 1–10 TeV in 10 bins; two H.E.S.S. DR1
  // events (float32 RA/DEC as in the files: run 20343 row 505, run 20366 row 7392) that gammapy 1.0 puts at
  // x = 42.500046153 (bin 1, row 58) and y = 65.500045968 (bin 5, column 45), so in pixels x 43 and y 66
  // (geom.coord_to_pix(events.radec.galactic), Debian python3-gammapy 1.0 / astropy 5.2: astropy converts the
  // float32 degrees to radians in float32). A float64 conversion puts both one pixel lower.
  const geom = createWcsGeom({
    skydir: { lon: 320.33, lat: -1.19, frame: 'galactic' },
    binsize: 0.04,
    width: [3.3, 2.7],
  }) as WcsGeom;
  const reco = logEnergyAxis('reco', 1, 10, 10) as EnergyAxis;
  const events = {
    ra: Float64Array.from([227.4254150390625, 226.95960998535156]),
    dec: Float64Array.from([-58.353912353515625, -58.149658203125]),
    energy: Float64Array.from([1.4275885820388794, 3.2031288146972656]),
  };
  const at = (bin: number, y: number, x: number) => (bin * geom.ny + y) * geom.nx + x;

  it('bins float32 event positions as astropy transforms them', () => {
    const counts = makeCounts({ ...events, radecFloat32: true }, geom, reco, referenceKernels);
    expect([geom.nx, geom.ny]).toEqual([82, 68]);
    expect(counts[at(1, 58, 43)]).toBe(1);
    expect(counts[at(5, 66, 45)]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('converts float64 positions in float64', () => {
    const counts = makeCounts(events, geom, reco, referenceKernels);
    expect(counts[at(1, 58, 42)]).toBe(1);
    expect(counts[at(5, 65, 45)]).toBe(1);
  });
});

describe('safe mask', () => {
  const npix = 3;
  const background = Float32Array.from([1, 0, 2, 1, 1, Number.NaN, 1, 1, 1, 1, 1, 1]);

  it('requires a finite, positive background when the run has one, and cuts by the AEFF thresholds', () => {
    const r = makeSafeMask(['aeff-default'], {
      energy: axis,
      npix,
      background,
      aeffThresholds: { lo: 1.5, hi: 100 },
    });
    if ('reason' in r) throw new Error(r.message);
    // bin 0 is [1, 1.78): below LO_THRES 1.5 → cut
    expect(Array.from(r.mask)).toEqual([0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    expect(r.warnings).toEqual([]);
  });

  it('masks everything where a background map is zero everywhere, nothing without one; warns without thresholds', () => {
    // gammapy 1.0's make_mask_bkg_invalid applies whenever the dataset has a background map: a run whose cutout lies
    // beyond its BKG table is masked whole (test/excess-map-zero-background-run.test.ts). pipe took an all-zero map
    // for no map and kept the run.
    const zero = makeSafeMask(['aeff-default'], {
      energy: axis,
      npix,
      background: new Float32Array(12),
      aeffThresholds: {},
    });
    if ('reason' in zero) throw new Error(zero.message);
    expect(zero.mask.every((v) => v === 0)).toBe(true);
    const none = makeSafeMask(['aeff-default'], { energy: axis, npix, aeffThresholds: {} });
    if ('reason' in none) throw new Error(none.message);
    expect(none.mask.every((v) => v === 1)).toBe(true);
    expect(none.warnings[0]?.method).toBe('aeff-default');
  });

  it('keeps bins fully inside [lo, hi] only', () => {
    const edges = axis.edges;
    expect(Array.from(energyBinMask(axis, edges[1], edges[3]))).toEqual([0, 1, 1, 0]);
    expect(Array.from(energyBinMask(axis, (edges[1] as number) * 1.000001, undefined))).toEqual([0, 0, 1, 1]);
  });

  it('aeff-default keeps a top bin whose edge is HI_THRES up to rounding (max: 100 TeV), as gammapy did', () => {
    // Found by a gammapy 1.0 cross-check (Kepler SNR, DR1 runs 26850, 26964, 27044, 27121), with
    //   axes: {energy: {min: 0.1 TeV, max: 100 TeV, nbins: 20}, ...}, safe_mask: {methods: [aeff-default, ...]}
    // pipe's last edge exp(ln 0.1 + 20·step) is 100.00000000000004, past the AEFF's HI_THRES = 100, so the top bin
    // was masked in every run; gammapy's numpy gave 99.99999999999994 and kept it. gammapy's geom.energy_mask for
    // LO_THRES = 0.251188643150958 (run 26850), HI_THRES = 100 on this axis:
    const gammapy = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const wide = logEnergyAxis('reco', 0.1, 100, 20) as EnergyAxis;
    expect(wide.edges[20]).toBeGreaterThan(100);
    const r = makeSafeMask(['aeff-default'], {
      energy: wide,
      npix: 1,
      aeffThresholds: { lo: 0.251188643150958, hi: 100 },
    });
    if ('reason' in r) throw new Error(r.message);
    expect(Array.from(r.mask)).toEqual(gammapy);
    // Such a tie is said: gammapy's numpy rounds edges by its build (0.1–10 TeV in 18 bins puts edge 9 at
    // 0.9999999999999997 there, below a LO_THRES of 1, and gammapy drops that bin).
    expect(r.warnings).toEqual([
      {
        method: 'aeff-default',
        message:
          'reco bin 19 (70.7946–100.000 TeV) has an edge equal to HI_THRES 100 TeV up to rounding: kept as inside the thresholds (gammapy keeps or drops such a bin as its numpy rounds the axis edges)',
      },
    ]);
    // A threshold really inside the top bin still cuts it.
    expect(Array.from(energyBinMask(wide, undefined, 99.9, EDGE_SLACK)).at(-1)).toBe(0);
  });
  it('offset-max removes pixels at or beyond the offset in every bin', () => {
    const r = makeSafeMask(['offset-max'], {
      energy: axis,
      npix,
      offsets: Float64Array.of(0.5, 2.5, 2.49),
      offsetMax: 2.5,
    });
    if ('reason' in r) throw new Error(r.message);
    expect(Array.from(maskImage(r.mask, npix, 4))).toEqual([1, 0, 1]);
    expect(makeSafeMask(['offset-max'], { energy: axis, npix })).toMatchObject({
      reason: 'safe-mask-input-missing',
    });
  });

  it('bkg-peak keeps the peak bin of the background spectrum and the bins above it', () => {
    // gammapy 1.0 make_mask_energy_bkg_peak: energy_min = energy_axis.edges[argmax(spectrum)], the peak bin's
    // lower edge, so the peak bin itself is kept (pipe cut it, and the Crab bkg-peak config lost its 563 counts
    // of 1–1.26 TeV; gammapy 1.0 on crab.yaml with methods [bkg-peak]: counts per bin 563, 427, 377, …).
    const bg = Float32Array.from([1, 1, 1, 5, 5, 5, 3, 3, 3, 1, 1, 1]);
    const r = makeSafeMask(['bkg-peak'], { energy: axis, npix, background: bg });
    if ('reason' in r) throw new Error(r.message);
    expect(Array.from(r.mask)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // NaN pixels (a background table's holes) add nothing to their bin, as gammapy's nansum: bin 2 still peaks.
    const holes = Float32Array.from([1, 1, 1, 5, 5, 5, 9, Number.NaN, 9, 1, 1, 1]);
    const h = makeSafeMask(['bkg-peak'], { energy: axis, npix, background: holes });
    if ('reason' in h) throw new Error(h.message);
    expect(Array.from(h.mask)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1]);
  });

  it('edisp-bias finds where the relative bias falls to the threshold above its peak', () => {
    // a diagonal kernel whose mean reco energy overshoots by 50 % at low energy, 0 % at high energy
    const reco = logEnergyAxis('reco', 0.3, 30, 40) as EnergyAxis;
    const tr = logEnergyAxis('true', 0.3, 30, 20) as EnergyAxis;
    const m = new Float64Array(20 * 40);
    const rc = Array.from({ length: 40 }, (_, k) =>
      Math.sqrt((reco.edges[k] as number) * (reco.edges[k + 1] as number)),
    );
    for (let t = 0; t < 20; t++) {
      const et = Math.sqrt((tr.edges[t] as number) * (tr.edges[t + 1] as number));
      const bias = 0.5 * Math.exp(-(et - 0.3) / 0.5);
      const target = et * (1 + bias);
      let best = 0;
      rc.forEach((c, k) => {
        if (Math.abs(Math.log(c / target)) < Math.abs(Math.log((rc[best] as number) / target))) best = k;
      });
      m[t * 40 + best] = 1;
    }
    const e = edispBiasEnergy(m, tr, reco, 0.1);
    // bias(E) = 0.1 at E ≈ 0.3 + 0.5·ln 5 ≈ 1.10 TeV (within a reco bin), reported × 1.1
    expect(e).toBeGreaterThan(0.9 * 1.1);
    expect(e).toBeLessThan(1.5 * 1.1);
  });
});

describe('aeff-max safe mask', () => {
  // gammapy 1.0: TemplateSpectralModel(energy=axis.center, values=float32 m²).inverse(aeff_percent/100 · max,
  // energy_min=first centre with A > 0, energy_max=last centre) on MapAxis.from_energy_bounds(0.5, 20 TeV, 6);
  // SafeMaskMaker keeps energy_min when the inverse is NaN (no crossing).
  const centres = [0.67994691, 1.25743343, 2.32538572, 4.30036184, 7.95270729, 14.70703061];
  it.each([
    ['rising', [0, 2e3, 3e4, 9e4, 1e5, 8e4], 10, 1.81206331],
    ['above the threshold from its first non-zero centre', [0, 2e3, 3e4, 9e4, 1e5, 8e4], 1, centres[1]],
    ['falling, then rising: the lowest crossing', [5e4, 2e3, 3e4, 9e4, 1e5, 8e4], 10, 0.92465562],
    ['never below the threshold', [1e5, 2e5, 3e5, 3e5, 3e5, 3e5], 10, centres[0]],
    ['crossing three times: the first', [0, 2e3, 2e4, 1e3, 1e5, 8e4], 10, 1.93248889],
  ])('%s', (_, values, percent, expected) => {
    const e = aeffMaxEnergy(Float32Array.from(values), truth, percent);
    expect(e).toBeCloseTo(expected as number, 7);
  });

  it('keeps the reco bins at and above the threshold; masks everything when the effective area is zero', () => {
    // threshold 1.812 TeV: reco edges 1, 1.78, 3.16, 5.62, 10 → bins 2 and 3 kept
    const values = Float32Array.from([0, 2e3, 3e4, 9e4, 1e5, 8e4]);
    const r = makeSafeMask(['aeff-max'], {
      energy: axis,
      npix: 1,
      aeffAtCentre: { values, energyTrue: truth },
    });
    if ('reason' in r) throw new Error(r.message);
    expect(Array.from(r.mask)).toEqual([0, 0, 1, 1]);
    // aeff_percent 1: the first true centre with A > 0 (1.257 TeV) → bins from 1.78 TeV
    const low = makeSafeMask(['aeff-max'], {
      energy: axis,
      npix: 1,
      aeffAtCentre: { values, energyTrue: truth },
      aeffPercent: 1,
    });
    if ('reason' in low) throw new Error(low.message);
    expect(Array.from(low.mask)).toEqual([0, 1, 1, 1]);
    const zero = makeSafeMask(['aeff-max'], {
      energy: axis,
      npix: 1,
      aeffAtCentre: { values: new Float32Array(6), energyTrue: truth },
    });
    if ('reason' in zero) throw new Error(zero.message);
    expect(Array.from(zero.mask)).toEqual([0, 0, 0, 0]);
    expect(zero.warnings.map((w) => w.method)).toEqual(['aeff-max']);
    expect(makeSafeMask(['aeff-max'], { energy: axis, npix: 1 })).toMatchObject({
      reason: 'safe-mask-input-missing',
    });
  });
});

describe('diagonal energy response (no EDISP map)', () => {
  it('is the overlap of each true bin with each reco bin over the true bin width, in linear energy', () => {
    // gammapy 1.0 get_overlap_fraction(MapAxis.from_edges([1, 2, 4], name="energy", unit="TeV"),
    //   MapAxis.from_edges([0.5, 1.5, 3, 8], name="energy_true", unit="TeV")) = [[0.5, 0], [1/3, 2/3], [0, 0.2]]
    const k = diagonalResponse([1, 2, 4], [0.5, 1.5, 3, 8]);
    expect(Array.from(k)).toEqual([0.5, 0, Math.fround(1 / 3), Math.fround(2 / 3), 0, Math.fround(0.2)]);
  });
});

describe('FoV background norm', () => {
  it('is Σ counts / Σ background over safe, non-excluded, non-NaN bins', () => {
    const counts = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const bg = Float32Array.from([1, 1, Number.NaN, 2, 2, 100]);
    const r = fovBackgroundNorm(
      counts,
      bg,
      Uint8Array.from([1, 1, 1, 1, 1, 0]),
      Uint8Array.from([1, 1, 1]),
      3,
      2,
    );
    expect(r.countsTotal).toBe(1 + 2 + 4 + 5);
    expect(r.backgroundTotal).toBe(6);
    expect(r.norm).toBe(2);
    expect(r.normErr).toBeCloseTo(Math.sqrt(12) / 6, 12);
    const excl = fovBackgroundNorm(
      counts,
      bg,
      Uint8Array.from([1, 1, 1, 1, 1, 0]),
      Uint8Array.from([0, 1, 1]),
      3,
      2,
    );
    expect(excl.norm).toBe((2 + 5) / 3);
  });

  it("applies gammapy's min_npred_background and min_counts (B and N must exceed them), in its order", () => {
    const counts = Float32Array.of(10, 20);
    const bg = Float32Array.of(5, 5);
    const args = [counts, bg, Uint8Array.of(1, 1), Uint8Array.of(1, 1), 2, 1] as const;
    expect(fovBackgroundNorm(...args, { minCounts: 29, minNpredBackground: 9 }).norm).toBe(3);
    const fewCounts = fovBackgroundNorm(...args, { minCounts: 30 });
    expect(fewCounts.invalid).toBe('counts-below-minimum');
    expect(fewCounts.norm).toBe(1);
    expect(fewCounts.countsTotal).toBe(30);
    const fewBackground = fovBackgroundNorm(...args, { minCounts: 30, minNpredBackground: 10 });
    expect(fewBackground.invalid).toBe('background-below-minimum'); // checked before the counts, as gammapy
  });

  it('rejects runs without counts or background, leaving norm 1', () => {
    const zero = fovBackgroundNorm(
      new Float32Array(2),
      Float32Array.of(1, 1),
      Uint8Array.of(1, 1),
      Uint8Array.of(1, 1),
      2,
      1,
    );
    expect(zero).toMatchObject({ norm: 1, invalid: 'counts-not-positive' });
    const noBg = fovBackgroundNorm(
      Float32Array.of(1, 1),
      new Float32Array(2),
      Uint8Array.of(1, 1),
      Uint8Array.of(1, 1),
      2,
      1,
    );
    expect(noBg).toMatchObject({ norm: 1, invalid: 'norm-not-finite' });
  });
});

describe('background hole filling', () => {
  it('fills interior holes log-linearly along energy and leaves the ends empty', () => {
    // two columns (plane = 2), 6 energies: column 0 has a hole at 2–3, column 1 leading/trailing zeros
    const d = Float64Array.from([0, 0, 8, 1, 0, 4, 0, 2, 1, 0, 2, 0]);
    fillBackgroundHoles(d, 6, 2);
    expect(d[4]).toBeCloseTo(8 * (1 / 8) ** (1 / 3), 12);
    expect(d[6]).toBeCloseTo(8 * (1 / 8) ** (2 / 3), 12);
    expect([d[1], d[3], d[5], d[7], d[9], d[11]]).toEqual([0, 1, 4, 2, 0, 0]);
    expect([d[0], d[8], d[10]]).toEqual([0, 1, 2]);
  });

  it('fills non-finite interior cells as zeros, and leaves non-finite ends NaN as gammapy does', () => {
    // one column, 6 energies: NaN, −Inf, 8, NaN, 2, +Inf
    const d = Float64Array.from([
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      8,
      Number.NaN,
      2,
      Number.POSITIVE_INFINITY,
    ]);
    fillBackgroundHoles(d, 6, 1);
    expect(d[3]).toBeCloseTo(4, 12);
    expect([d[0], d[1], d[5]]).toEqual([Number.NaN, Number.NaN, Number.NaN]);
    const negativeEnd = Float64Array.from([-1, 3]);
    fillBackgroundHoles(negativeEnd, 2, 1);
    expect([...negativeEnd]).toEqual([0, 3]);
  });

  // Found with a BKG_2D whose one energy row was negative: pipe filled it from its neighbours as a hole, gammapy
  // keeps it (as ~0), and the background maps differed by up to 64%.
  it('takes a negative cell as a valid rate ~0, not a hole, as gammapy 1.0 interp_missing_data does', () => {
    // two columns (plane = 2), 5 energies; gammapy 1.0's Background2D.interp_missing_data on the same table gives
    // [2, 1], [-1, -1], [3.066586833366767e-19, 1], [8, 1], [0, -3] (its later log scale clips negatives to ~0).
    const d = Float64Array.from([2, 1, -1, -1, 0, 1, 8, 1, 0, -3]);
    fillBackgroundHoles(d, 5, 2);
    expect(d[4]).toBeCloseTo(3.066586833366767e-19, 30);
    expect([d[0], d[2], d[6], d[8]]).toEqual([2, 0, 8, 0]);
    expect([d[1], d[3], d[5], d[7], d[9]]).toEqual([1, 0, 1, 1, 0]);
  });
});

function geom(width: number): WcsGeom {
  return createWcsGeom({ skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.1, width }) as WcsGeom;
}

function runOn(parent: WcsGeom, irfParent: WcsGeom, ra: number, dec: number, value: number): MapDataset {
  const c = cutoutAround(parent, ra, dec, 2) as ReturnType<typeof cutoutAround> & {
    geom: WcsGeom;
    x0: number;
    y0: number;
  };
  const ic = cutoutAround(irfParent, ra, dec, 2) as typeof c;
  const n = c.geom.nx * c.geom.ny;
  const ni = ic.geom.nx * ic.geom.ny;
  const maskSafe = new Uint8Array(4 * n).fill(1);
  maskSafe.fill(0, 0, n); // bin 0 unsafe everywhere
  return {
    name: `run${value}`,
    geom: c.geom,
    irfGeom: ic.geom,
    placement: { x0: c.x0, y0: c.y0, irfX0: ic.x0, irfY0: ic.y0 },
    energy: axis,
    energyTrue: truth,
    counts: new Float32Array(4 * n).fill(value),
    exposure: new Float32Array(6 * n).fill(10 * value),
    background: new Float32Array(4 * n).fill(value / 2),
    maskSafe,
    psf: {
      radEdges: defaultRadEdges(),
      data: new Float32Array(6 * 66 * ni).fill(value),
      exposure: new Float32Array(6 * ni).fill(value),
    },
    edisp: {
      data: new Float64Array(6 * 4 * ni).fill(value / 10),
      exposure: new Float32Array(6 * ni).fill(value),
    },
    livetime: 100 * value,
    ontime: 110 * value,
    runs: [
      {
        obsId: value,
        pointing: { ra, dec },
        ontime: 110 * value,
        deadc: 0.9,
        livetime: 100 * value,
        countsInMap: 1,
        backgroundTemplateSum: 2,
        fovNorm: 1.1,
        fovNormErr: Number.NaN,
      },
    ],
  };
}

describe('the IRF pixel of the energy dispersion at the map centre', () => {
  // gammapy 1.0 reads it through to_region_nd_map(center_skydir) on grids whose CRVAL is the analysis grid's centre as
  // wcslib computes it: at the centre of an even axis the last bits of two round trips decide the pixel. 60 cutouts of
  // IRF grids (47 of them such ties; CAR and TAN, ICRS and Galactic), each with the pixel gammapy 1.0 read
  // (fixtures/gammapy-irf-centres.py). Found by helper-109: a DR1 Crab run's 12 × 15 cutout read (5, 7) where gammapy
  // read (6, 7), and the edisp-bias safe mask dropped a bin of 435 events.
  const cases = JSON.parse(
    readFileSync(new URL('./fixtures/gammapy-irf-centres.json', import.meta.url), 'utf8'),
  ) as Array<{
    lon: number;
    lat: number;
    frame: 'icrs' | 'galactic';
    proj: 'CAR' | 'TAN';
    fine: number;
    width: number;
    b: number;
    nx: number;
    ny: number;
    x0: number;
    y0: number;
    irfNpix: [number, number];
    irfCrpix: [number, number];
    gammapy: [number, number];
  }>;

  it('is the pixel gammapy 1.0 reads, ties included', () => {
    expect(cases.length).toBe(60);
    const got = cases.map((c) => {
      const spec = (binsize: number) => ({
        skydir: { lon: c.lon, lat: c.lat, frame: c.frame },
        frame: c.frame,
        projection: c.proj,
        binsize,
        width: c.width,
      });
      const fine = createWcsGeom(spec(c.fine)) as WcsGeom;
      const irf = createWcsGeom(spec(c.b)) as WcsGeom;
      expect([irf.nx, irf.ny, ...irf.wcs.crpix]).toEqual([...c.irfNpix, ...c.irfCrpix]);
      const cut = {
        nx: c.nx,
        ny: c.ny,
        wcs: { ...irf.wcs, crpix: [irf.wcs.crpix[0] - c.x0, irf.wcs.crpix[1] - c.y0] as const },
      };
      return gridCentrePixel(cut, gammapyIrfCrval(fine.wcs));
    });
    expect(got).toEqual(cases.map((c) => c.gammapy));
    // The DR1 Crab runs 23559 and 23592 (12 × 15 cutouts, x0 = 0 and 3).
    expect(got.slice(0, 2)).toEqual([
      [6, 7],
      [5, 7],
    ]);
  });

  // Found by helper-111: with the run's kernel empty at the centre (a map centred beyond the IRF's offsets), the
  // edisp-bias safe mask read the empty pixel and masked every bin, where gammapy moves to the nearest valid pixel;
  // and the estimator broke exact distance ties the other way. 40 grids, valid pixels a block of columns or rows
  // (mirror pixels are equally far), each with the pixel gammapy 1.0 moved to (fixtures/gammapy-nearest-valid.py).
  it('moves, when the centre holds no kernel, to the valid pixel gammapy 1.0 moves to, ties included', () => {
    const moves = JSON.parse(
      readFileSync(new URL('./fixtures/gammapy-nearest-valid.json', import.meta.url), 'utf8'),
    ) as Array<{
      lon: number;
      lat: number;
      frame: 'icrs' | 'galactic';
      b: number;
      width: [number, number];
      axis: 'x' | 'y';
      cut: number;
      gammapy: [number, number];
    }>;
    expect(moves.length).toBe(40);
    const got = moves.map((c) => {
      const spec = (binsize: number, width: [number, number]) => ({
        skydir: { lon: c.lon, lat: c.lat, frame: c.frame },
        frame: c.frame,
        binsize,
        width,
      });
      const fine = createWcsGeom(spec(0.05, c.width)) as WcsGeom;
      const irf = createWcsGeom(spec(c.b, [fine.nx * 0.05, fine.ny * 0.05])) as WcsGeom;
      const valid = (q: number) => (c.axis === 'x' ? q % irf.nx >= c.cut : Math.floor(q / irf.nx) >= c.cut);
      return kernelPixel(irf, gammapyIrfCrval(fine.wcs), valid).pixel;
    });
    expect(got).toEqual(moves.map((c) => c.gammapy));
  });

  it("is reproduced from wcslib's arithmetic: the CRVAL of an IRF grid is its analysis grid's centre, rounded", () => {
    const fine = createWcsGeom({ skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.02, width: 3 }) as WcsGeom;
    expect(gammapyIrfCrval(fine.wcs)).toEqual([83.63299999999998, 22.013999999999996]);
    // A projection wcslib-exact.ts does not reproduce: undefined (the grid's own CRVAL and pipe's WCS are used).
    expect(gammapyIrfCrval({ ...fine.wcs, projection: 'AIT' })).toBeUndefined();
  });
});

describe('stacking with cutouts', () => {
  const parent = geom(4); // 40×40
  const irfParent = createWcsGeom({
    skydir: { lon: 83.633, lat: 22.014 },
    binsize: 0.5,
    width: 4,
  }) as WcsGeom;
  const rg = {
    geom: parent,
    irfGeom: irfParent,
    energy: axis,
    energyTrue: truth,
    radEdges: defaultRadEdges(),
    offsetMax: 1,
  };
  const a = runOn(parent, irfParent, 83.633 - 1.2, 22.014 - 1.2, 1);
  const b = runOn(parent, irfParent, 83.633 + 0.4, 22.014 + 0.3, 3);
  const st = stackDatasets([a, b], rg, referenceKernels);

  it('adds each run only inside its cutout, masked per bin (counts, background) and per pixel (exposure)', () => {
    const n = 1600;
    const at = (arr: ArrayLike<number>, k: number, x: number, y: number) => arr[k * n + y * 40 + x] as number;
    const inA = (x: number, y: number) =>
      x >= a.placement.x0 &&
      x < a.placement.x0 + a.geom.nx &&
      y >= a.placement.y0 &&
      y < a.placement.y0 + a.geom.ny;
    const inB = (x: number, y: number) =>
      x >= b.placement.x0 &&
      x < b.placement.x0 + b.geom.nx &&
      y >= b.placement.y0 &&
      y < b.placement.y0 + b.geom.ny;
    expect(a.geom.nx).toBeLessThan(20);
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const expectCounts = (inA(x, y) ? 1 : 0) + (inB(x, y) ? 3 : 0);
        expect(at(st.counts, 0, x, y)).toBe(0);
        expect(at(st.counts, 2, x, y)).toBe(expectCounts);
        expect(at(st.background, 3, x, y)).toBe(expectCounts / 2);
        expect(at(st.exposure, 0, x, y)).toBe(10 * expectCounts);
        expect(at(st.maskSafe, 1, x, y)).toBe(expectCounts > 0 ? 1 : 0);
      }
    }
    expect(st.livetime).toBe(400);
    expect(st.runs.map((r) => r.obsId)).toEqual([1, 3]);
  });

  it('averages IRF maps weighted by the IRF exposure and the safe bins', () => {
    const ni = irfParent.nx * irfParent.ny;
    // an IRF pixel covered by both runs: PSF = (1·1 + 3·3)/(1 + 3) = 2.5; EDISP bin 0 is unsafe → 0
    let both = -1;
    for (let q = 0; q < ni; q++) if ((st.psf?.exposure[q] as number) === 4) both = q;
    expect(both).toBeGreaterThanOrEqual(0);
    expect(st.psf?.data[both]).toBeCloseTo(2.5, 6);
    expect(st.edisp?.data[both]).toBe(0);
    expect(st.edisp?.data[1 * ni + both]).toBeCloseTo((0.1 * 1 + 0.3 * 3) / 4, 12);
  });

  const dir = mkdtempSync(join(tmpdir(), 'pipe-dataset-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips per-run and stacked datasets through a FITS file, and stacks the read-back runs identically', () => {
    for (const ds of [a, b, st]) {
      const path = join(dir, `${ds.name}.fits.gz`);
      writeDataset(path, ds);
      const back = readDataset(path);
      if (isDatasetReadFailure(back)) throw new Error(back.message);
      expect(back.name).toBe(ds.name);
      expect(back.placement).toEqual(ds.placement);
      expect([back.geom.nx, back.geom.ny, ...back.geom.wcs.crpix]).toEqual([
        ds.geom.nx,
        ds.geom.ny,
        ...ds.geom.wcs.crpix,
      ]);
      expect(Array.from(back.counts)).toEqual(Array.from(ds.counts));
      expect(Array.from(back.exposure)).toEqual(Array.from(ds.exposure));
      expect(Array.from(back.background)).toEqual(Array.from(ds.background));
      expect(Array.from(back.maskSafe)).toEqual(Array.from(ds.maskSafe));
      expect(Array.from(back.edisp?.data ?? [])).toEqual(Array.from(ds.edisp?.data ?? []));
      expect(Array.from(back.psf?.data ?? [])).toEqual(Array.from(ds.psf?.data ?? []));
      expect(back.runs).toEqual(ds.runs);
      expect(Array.from(back.energy.edges)).toEqual(Array.from(ds.energy.edges));
    }
    const ra = readDataset(join(dir, 'run1.fits.gz')) as MapDataset;
    const rb = readDataset(join(dir, 'run3.fits.gz')) as MapDataset;
    const again = stackDatasets([ra, rb], rg, referenceKernels);
    expect(Array.from(again.background)).toEqual(Array.from(st.background));
    expect(Array.from(again.edisp?.data ?? [])).toEqual(Array.from(st.edisp?.data ?? []));
  });

  it('stacks a PSF map only when every run has one (one run at a time, as the stack step does)', async () => {
    const { psf: _dropped, ...noPsf } = runOn(parent, irfParent, 83.633 + 0.4, 22.014 + 0.3, 3);
    const stacker = new DatasetStacker(rg, referenceKernels);
    stacker.add(a);
    stacker.add(noPsf);
    const mixed = stacker.result();
    expect(mixed.psf).toBeUndefined();
    expect(Array.from(mixed.edisp?.data ?? [])).toEqual(Array.from(st.edisp?.data ?? []));
    expect(Array.from(mixed.counts)).toEqual(Array.from(st.counts));
    const path = join(dir, 'run1-async.fits');
    writeDataset(path, a);
    const back = await readDatasetAsync(path);
    if (isDatasetReadFailure(back)) throw new Error(back.message);
    expect(Array.from(back.psf?.data ?? [])).toEqual(Array.from(a.psf?.data ?? []));
    expect(stackDatasets([], rg, referenceKernels).psf).toBeUndefined();
  });

  it('reads datasets in order through two reused buffers: each one whole while the caller holds it', async () => {
    // Plain FITS files of different sizes (the stack is the largest), so a buffer is reused both when it is
    // large enough and when it is not; each yielded dataset is compared before the next is asked for.
    const order = [a, st, b, a, b];
    const paths = order.map((ds, i) => {
      const path = join(dir, `inorder-${i}.fits`);
      writeDataset(path, ds);
      return path;
    });
    let i = 0;
    for await (const got of readDatasetsInOrder(paths)) {
      if (isDatasetReadFailure(got)) throw new Error(got.message);
      const want = order[i++]!;
      // A caller that awaits (the read of the next file lands meanwhile) still holds this one intact.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(got.name).toBe(want.name);
      expect(Array.from(got.counts)).toEqual(Array.from(want.counts));
      expect(Array.from(got.exposure)).toEqual(Array.from(want.exposure));
      expect(Array.from(got.background)).toEqual(Array.from(want.background));
      expect(Array.from(got.maskSafe)).toEqual(Array.from(want.maskSafe));
      expect(Array.from(got.psf?.data ?? [])).toEqual(Array.from(want.psf?.data ?? []));
      expect(Array.from(got.edisp?.data ?? [])).toEqual(Array.from(want.edisp?.data ?? []));
    }
    expect(i).toBe(order.length);
  });

  it('warns when IRF pixel centres sample the safe mask at a tie (on an edge between safe and unsafe map pixels)', () => {
    // IRF pixels of 0.2° over 0.1° map pixels, both grids from one corner: each IRF pixel centre lies on the edge
    // between map columns 2i and 2i + 1 (and rows likewise). A safe-mask edge there is a tie, one column over it is not.
    const irf02 = createWcsGeom({ skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.2, width: 4 }) as WcsGeom;
    const irf03 = createWcsGeom({
      skydir: { lon: 83.633, lat: 22.014 },
      binsize: 0.3,
      width: 3.6,
    }) as WcsGeom;
    const warningFor = (irf: WcsGeom, parentColumn: number): string | undefined => {
      const run = runOn(parent, irf, 83.633 + 0.4, 22.014 + 0.3, 3);
      const n = run.geom.nx * run.geom.ny;
      // Energy bin 1: unsafe left of parent column `parentColumn`, safe from it on.
      for (let y = 0; y < run.geom.ny; y++)
        for (let x = 0; x < run.geom.nx; x++)
          run.maskSafe[n + y * run.geom.nx + x] = run.placement.x0 + x >= parentColumn ? 1 : 0;
      const stacker = new DatasetStacker({ ...rg, irfGeom: irf }, referenceKernels);
      stacker.add(run);
      return stacker.irfTieWarning();
    };
    const x0 = runOn(parent, irf02, 83.633 + 0.4, 22.014 + 0.3, 3).placement.x0;
    const odd = x0 + 3 + ((x0 + 3) % 2 === 0 ? 1 : 0); // the edge between an even column and the odd one after it
    // Centres on the run map's outer edges are ties too (gammapy fills outside the map with false): the edge inside
    // the map adds the IRF rows it crosses.
    const ties = (w: string | undefined) =>
      Number(w?.match(/^(\d+) IRF-grid pixel centres? of 1 run lie/)?.[1] ?? 0);
    const withInner = ties(warningFor(irf02, odd));
    const without = ties(warningFor(irf02, odd + 1));
    expect(withInner - without).toBeGreaterThan(1);
    // 0.3° IRF pixels: their centres are map pixel centres, never on an edge.
    expect(warningFor(irf03, odd)).toBeUndefined();
    expect(warningFor(irf03, odd + 1)).toBeUndefined();
  });

  it("round-trips an on-off run's OFF maps, and names an OFF map that is missing", () => {
    const n = a.counts.length;
    const onOff = {
      countsOff: Float32Array.from({ length: n }, (_, i) => i % 7),
      acceptance: Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 3)),
      acceptanceOff: Float32Array.from({ length: n }, (_, i) => 10 + (i % 5)),
    };
    const path = join(dir, 'onoff.fits');
    writeDataset(path, { ...a, onOff });
    const back = readDataset(path);
    if (isDatasetReadFailure(back)) throw new Error(back.message);
    expect(Array.from(back.onOff?.countsOff ?? [])).toEqual(Array.from(onOff.countsOff));
    expect(Array.from(back.onOff?.acceptance ?? [])).toEqual(Array.from(onOff.acceptance));
    expect(Array.from(back.onOff?.acceptanceOff ?? [])).toEqual(Array.from(onOff.acceptanceOff));
    expect(readDataset(join(dir, 'run1.fits.gz'))).not.toHaveProperty('onOff');
    // Without ACCEPTANCE_OFF (a file cut short by hand): refused, naming it.
    const hdus = datasetHdus({ ...a, onOff }).filter((h) => !h.name?.startsWith('ACCEPTANCE_OFF'));
    writeFits(join(dir, 'onoff-cut.fits'), hdus);
    const cut = readDataset(join(dir, 'onoff-cut.fits'));
    expect(isDatasetReadFailure(cut) && cut.message).toContain('ACCEPTANCE_OFF is missing beside COUNTS_OFF');
  });

  it('refuses a file that is not a dataset', () => {
    const r = readDataset(`${SHARED}/spec/reference/crab/counts.fits.gz`);
    expect(isDatasetReadFailure(r) && r.reason).toBe('dataset-invalid');
  });
});

describe('reduction settings from a gammapy config', () => {
  it('reads the Crab config of the reference into the analysis grids and settings', async () => {
    const { readFileSync } = await import('node:fs');
    const { readAnalysisConfig } = await import('../src/config/index.js');
    const { reductionConfigFromConfig, reductionGeometryFromConfig, isReductionConfigIssue } = await import(
      '../src/makers/index.js'
    );
    const raw = JSON.parse(
      readFileSync(`${SHARED}/spec/reference/crab/summary.json`, 'utf8').replace(/\bNaN\b/g, 'null'),
    ).config;
    const { config, issues } = readAnalysisConfig(raw);
    expect(issues).toEqual([]);
    const rg = reductionGeometryFromConfig(config.datasets);
    if (isReductionConfigIssue(rg)) throw new Error(rg.message);
    expect([
      rg.geom.nx,
      rg.geom.ny,
      rg.irfGeom.nx,
      rg.offsetMax,
      rg.energy.edges.length,
      rg.energyTrue.edges.length,
    ]).toEqual([100, 100, 10, 2.5, 11, 21]);
    const rc = reductionConfigFromConfig(config.datasets);
    if (isReductionConfigIssue(rc)) throw new Error(rc.message);
    expect(rc.safeMask.methods).toEqual(['aeff-default']);
    expect(rc.background.method).toBe('fov_background');
    const aeffMax = reductionConfigFromConfig({
      ...config.datasets,
      safe_mask: { methods: ['aeff-max', 'offset-max'], parameters: { aeff_percent: 15 } },
    });
    if (isReductionConfigIssue(aeffMax)) throw new Error(aeffMax.message);
    expect(aeffMax.safeMask).toEqual({ methods: ['aeff-max', 'offset-max'], aeffPercent: 15 });
    const bad = reductionConfigFromConfig({
      ...config.datasets,
      safe_mask: { methods: ['aeff-max'], parameters: { position: '83.6 deg' } },
    });
    expect(isReductionConfigIssue(bad) && bad.path).toEqual([
      'datasets',
      'safe_mask',
      'parameters',
      'position',
    ]);
    expect(isReductionConfigIssue(bad) && bad.message).toContain(
      'gammapy 1.0 cannot take it from a config either',
    );
  });

  it("takes FoVBackgroundMaker's method fit as scale (the norm's Cash maximum is N / B) and refuses other methods", async () => {
    const { reductionConfigFromConfig, isReductionConfigIssue } = await import('../src/makers/index.js');
    const { readFileSync } = await import('node:fs');
    const { readAnalysisConfig } = await import('../src/config/index.js');
    const raw = JSON.parse(
      readFileSync(`${SHARED}/spec/reference/crab/summary.json`, 'utf8').replace(/\bNaN\b/g, 'null'),
    ).config;
    const ds = readAnalysisConfig(raw).config.datasets;
    const withMethod = (parameters: Record<string, unknown>) =>
      reductionConfigFromConfig({ ...ds, background: { ...ds.background, parameters } });
    const scale = withMethod({ method: 'scale' });
    const fit = withMethod({ method: 'fit', min_counts: 3 });
    if (isReductionConfigIssue(scale) || isReductionConfigIssue(fit)) throw new Error('refused');
    expect(fit.background).toEqual({ ...scale.background, requirements: { minCounts: 3 } });
    expect(withMethod({ method: 'fitt' })).toMatchObject({
      reason: 'config-invalid',
      path: ['datasets', 'background', 'parameters', 'method'],
      message: "FoVBackgroundMaker method 'fitt' is not one of fit, scale",
      hint: "did you mean 'fit'?",
    });
    expect(withMethod({ method: 'fit', fit: 'Fit()' })).toMatchObject({
      reason: 'config-unsupported',
      path: ['datasets', 'background', 'parameters', 'fit'],
    });
  });

  it('leaves 1D-only keys out of the key and reads map_selection and safe-mask methods as sets', async () => {
    // gammapy 1.0 uses containment_correction and on_region for spectra only, tests map_selection by membership and
    // does set(methods): toggling or reordering them changes no map. They entered the key, so editing
    // `containment_correction` (science.md §0: "ignored for 3D") reran every run's reduction and the stack.
    const reduce = (await import('../src/steps/reduce-observation.js')).default;
    const stack = (await import('../src/steps/stack-datasets.js')).default;
    const params = (extra: Record<string, unknown>) => ({
      datasets: {
        type: '3d',
        geom: { wcs: { skydir: { frame: 'icrs', lon: '83.633 deg', lat: '22.014 deg' } } },
        ...extra,
      },
    });
    for (const step of [reduce, stack]) {
      const key = (extra: Record<string, unknown>) => {
        const r = step.validateParams!(params(extra));
        if (!r.ok) throw new Error(JSON.stringify(r.issues));
        return JSON.stringify(r.value);
      };
      const base = key({
        map_selection: ['counts', 'exposure', 'background', 'edisp'],
        safe_mask: { methods: ['aeff-default', 'offset-max'] },
      });
      expect(
        key({
          containment_correction: false,
          on_region: { frame: 'icrs', lon: '83.6 deg', lat: '22 deg', radius: '0.1 deg' },
          map_selection: ['edisp', 'counts', 'background', 'exposure', 'counts'],
          safe_mask: { methods: ['offset-max', 'aeff-default', 'offset-max'] },
        }),
      ).toBe(base);
      // What does change the maps still changes the key.
      expect(key({ map_selection: ['counts', 'exposure', 'background'] })).not.toBe(base);
    }
  });

  it('normalises the safe-mask offset_max for the key, and the run reads the normalised params again', async () => {
    const step = (await import('../src/steps/reduce-observation.js')).default;
    const { reductionConfigFromConfig, isReductionConfigIssue } = await import('../src/makers/index.js');
    const params = (offsetMax: string) => ({
      datasets: {
        type: '3d',
        geom: { wcs: { skydir: { frame: 'icrs', lon: '83.633 deg', lat: '22.014 deg' } } },
        safe_mask: { methods: ['aeff-default', 'offset-max'], parameters: { offset_max: offsetMax } },
      },
    });
    const inDeg = step.validateParams!(params('2 deg'));
    const inArcmin = step.validateParams!(params('120 arcmin'));
    if (!inDeg.ok || !inArcmin.ok) throw new Error('refused');
    expect(inArcmin.value).toEqual(inDeg.value); // one task key
    // What the worker gets is the validated params: they must read as the same reduction.
    const rc = reductionConfigFromConfig(
      (inDeg.value as { datasets: Parameters<typeof reductionConfigFromConfig>[0] }).datasets,
    );
    if (isReductionConfigIssue(rc)) throw new Error(rc.message);
    expect(rc.safeMask.offsetMax).toBe(2);
  });

  it('gives the stack the same key for an angle written another way ("2.20 deg", "132 arcmin"; ring r_in, width)', async () => {
    const stack = (await import('../src/steps/stack-datasets.js')).default;
    const params = (offsetMax: string, rIn: string, width: string) => ({
      datasets: {
        type: '3d',
        stack: true,
        geom: {
          wcs: { skydir: { frame: 'icrs', lon: '83.633 deg', lat: '22.014 deg' } },
          axes: { energy: { min: '1 TeV', max: '10 TeV', nbins: 1 } },
        },
        background: { method: 'ring', parameters: { r_in: rIn, width } },
        safe_mask: { methods: ['offset-max'], parameters: { offset_max: offsetMax } },
      },
    });
    const a = stack.validateParams!(params('2.2 deg', '0.5 deg', '0.3 deg'));
    const b = stack.validateParams!(params('132 arcmin', '30 arcmin', '0.30 deg'));
    if (!a.ok || !b.ok) throw new Error('refused');
    expect(b.value).toEqual(a.value);
    expect(stack.validateParams!(params('2.20 deg', '0.5 deg', '0.3 deg'))).toEqual(a);
  });
});

describe('astro.reduce_observation params: every problem at once', () => {
  it('reports a bad center with the datasets problems, not alone', async () => {
    const step = (await import('../src/steps/reduce-observation.js')).default;
    const r = step.validateParams!({
      center: 'pointin',
      datasets: {
        type: '3d',
        geom: {
          wcs: { binsize: '0.02 TeV', width: { width: '4 deg', height: '4 deg' } },
          axes: { energy: { min: '1 TeV', max: '10 TeV', nbins: 10.5 } },
        },
      },
    });
    if (r.ok) throw new Error('accepted');
    const paths = r.issues.map((i) => i.path.join('.'));
    expect(paths[0]).toBe('center');
    expect(paths.length).toBeGreaterThanOrEqual(3);
    expect(paths.some((p) => p.includes('binsize'))).toBe(true);
    expect(paths.some((p) => p.includes('nbins'))).toBe(true);
  });
});

/**
 * Stacking of per-run datasets into the analysis grids (science spec §5, §4.6): masked float32 sums of counts,
 * background and exposure, OR of the safe masks, and exposure-weighted means of the IRF maps.
 */

import type { Kernels } from '@pipe/kernels';
import { nbins } from '../geom/energy-axis.js';
import { npix, type WcsGeom } from '../geom/wcs-geom.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import type { MapDataset } from './dataset.js';
import { markBoundaryTies, maskPixels } from './exclusion.js';
import { type GoodTimeIntervals, stackGtis } from './gti.js';
import type { ReductionGeometry } from './reduce.js';

/**
 * An empty stack on the analysis grids (all zero, mask_safe all false), with PSF/EDISP maps when `irfMaps` asks.
 */
export function emptyStack(
  rg: ReductionGeometry,
  irfMaps: { psf: boolean; edisp: boolean },
  name = 'stacked',
): MapDataset {
  const n = npix(rg.geom);
  const nI = npix(rg.irfGeom);
  const nE = nbins(rg.energy);
  const nT = nbins(rg.energyTrue);
  const nR = rg.radEdges.length - 1;
  const ds: MapDataset = {
    name,
    geom: rg.geom,
    irfGeom: rg.irfGeom,
    placement: { x0: 0, y0: 0, irfX0: 0, irfY0: 0 },
    energy: rg.energy,
    energyTrue: rg.energyTrue,
    counts: new Float32Array(nE * n),
    exposure: new Float32Array(nT * n),
    background: new Float32Array(nE * n),
    maskSafe: new Uint8Array(nE * n),
    livetime: 0,
    ontime: 0,
    runs: [],
  };
  if (irfMaps.psf)
    ds.psf = {
      radEdges: rg.radEdges,
      data: new Float32Array(nT * nR * nI),
      exposure: new Float32Array(nT * nI),
    };
  if (irfMaps.edisp) ds.edisp = { data: new Float64Array(nT * nE * nI), exposure: new Float32Array(nT * nI) };
  return ds;
}

/**
 * Stacks the runs in order. Counts and background are masked per energy bin, the exposure per pixel (by the OR
 * of the run's mask over energy), the IRF maps weighted by the run's IRF-grid exposure and its mask sampled on
 * the IRF grid. Runs are placed by their cutout offsets; their grids must be cutouts of `rg`.
 */
export function stackDatasets(
  runs: readonly MapDataset[],
  rg: ReductionGeometry,
  kernels: Kernels,
  name = 'stacked',
): MapDataset {
  const stacker = new DatasetStacker(rg, kernels, name);
  for (const run of runs) stacker.add(run);
  return stacker.result();
}

/**
 * {@link stackDatasets} one run at a time, so a caller holds one run in memory (and can read the next meanwhile).
 * The PSF (EDISP) map is stacked when every run added has one, as with all runs at once.
 */
export class DatasetStacker {
  private readonly st: MapDataset;
  private readonly nE: number;
  private readonly nT: number;
  private readonly nR: number;
  private readonly nI: number;
  /** float64 numerators and denominators of the IRF-map means (undefined once a run lacks the map). */
  private psf: { num: Float64Array; den: Float64Array } | undefined;
  private edisp: { num: Float64Array; den: Float64Array } | undefined;
  private count = 0;
  /** The GTIs of the runs added (those that have one), stacked by result(). */
  private readonly gtis: GoodTimeIntervals[] = [];
  /** Runs with IRF pixels whose safe-mask sample is a tie, and how many such pixels in all. */
  private irfTies = { runs: 0, pixels: 0 };

  constructor(
    private readonly rg: ReductionGeometry,
    private readonly kernels: Kernels,
    name = 'stacked',
  ) {
    this.st = emptyStack(rg, { psf: false, edisp: false }, name);
    this.nE = nbins(rg.energy);
    this.nT = nbins(rg.energyTrue);
    this.nR = rg.radEdges.length - 1;
    this.nI = npix(rg.irfGeom);
    this.psf = {
      num: new Float64Array(this.nT * this.nR * this.nI),
      den: new Float64Array(this.nT * this.nI),
    };
    this.edisp = {
      num: new Float64Array(this.nT * this.nE * this.nI),
      den: new Float64Array(this.nT * this.nI),
    };
  }

  /** Adds the next run (in stacking order). */
  add(run: MapDataset): void {
    const { st, kernels, nE, nT, nR, nI } = this;
    const G = this.rg.geom;
    const g = run.geom;
    const n = npix(g);
    const { x0, y0 } = run.placement;
    this.count++;
    if (!run.psf) this.psf = undefined;
    if (!run.edisp) this.edisp = undefined;
    kernels.stackAdd(st.counts, G.nx, G.ny, run.counts, g.nx, g.ny, nE, x0, y0, run.maskSafe, nE, 1);
    kernels.stackAdd(st.background, G.nx, G.ny, run.background, g.nx, g.ny, nE, x0, y0, run.maskSafe, nE, 1);
    // The pixels safe at some energy (stackMaskOr writes 1 for any set byte).
    const safeAnywhere = orOverPlanes(kernels, run.maskSafe, n, nE);
    kernels.stackAdd(st.exposure, G.nx, G.ny, run.exposure, g.nx, g.ny, nT, x0, y0, safeAnywhere, 1, 1);
    kernels.stackMaskOr(st.maskSafe, G.nx, G.ny, run.maskSafe, g.nx, g.ny, nE, x0, y0);
    // As gammapy's MapDataset.stack: a run whose safe mask drops everything (a rejected FoV fit) adds no livetime,
    // though its time intervals still count (the ontime).
    if (safeAnywhere.indexOf(1) !== -1) st.livetime += run.livetime;
    st.ontime += run.ontime;
    st.runs.push(...run.runs);
    // Copied: the run's arrays may be reused for the next one (readDatasetsInOrder).
    if (run.gti)
      this.gtis.push({
        ref: run.gti.ref,
        start: Float64Array.from(run.gti.start),
        stop: Float64Array.from(run.gti.stop),
      });
    if (!this.psf && !this.edisp) return;
    // w[k]: the run's mask_safe sampled on its IRF grid; W = OR_k w[k]
    const ig = run.irfGeom;
    const ni = npix(ig);
    const w = new Uint8Array(nE * ni);
    kernels.sampleNearest(
      wcsKernelParams(ig.wcs),
      ig.nx,
      ig.ny,
      wcsKernelParams(g.wcs),
      g.nx,
      g.ny,
      run.maskSafe,
      nE,
      0,
      new Float64Array(2 * ig.nx + 3),
      w,
    );
    // gammapy samples the safe mask of each reco plane for the EDISP map, their OR for the PSF map.
    const ties = this.edisp
      ? safeMaskTies(run.maskSafe, run.geom, ig, nE)
      : safeMaskTies(safeAnywhere, run.geom, ig, 1);
    if (ties > 0) {
      this.irfTies.runs++;
      this.irfTies.pixels += ties;
    }
    // The run's IRF pixels that add to the stack (inside its IRF grid, safe at some energy), and where they go.
    const dest = irfDestinations(run, ig, this.rg.irfGeom, orOverPlanes(kernels, w, ni, nE));
    // Per (energy, rad) plane, a contiguous pass over the run's pixels: the same additions in the same order as
    // pixel by pixel, without striding through the cubes.
    if (this.psf && run.psf)
      kernels.stackIrfWeighted(
        this.psf.num,
        this.psf.den,
        run.psf.data,
        run.psf.exposure,
        dest.from,
        dest.to,
        dest.len,
        dest.from.length,
        dest.ni,
        nI,
        nT,
        nR,
      );
    if (this.edisp && run.edisp)
      accumulateEdisp(this.edisp, run.edisp.data, run.edisp.exposure, dest, w, nT, nE, nI);
  }

  /**
   * A warning when some runs' IRF pixels sampled their safe mask at a tie (see safeMaskTies), or undefined. Only when
   * the stack has PSF or EDISP maps: without them the sampling is not used.
   */
  irfTieWarning(): string | undefined {
    const { runs, pixels } = this.irfTies;
    if (pixels === 0 || (!this.psf && !this.edisp)) return undefined;
    const G = this.rg.geom;
    const I = this.rg.irfGeom;
    return (
      `${pixels} IRF-grid pixel centre${pixels === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'} lie exactly on an edge between safe and unsafe map pixels ` +
      `(as with a binsize_irf an even multiple of binsize; here grids of ${G.nx} × ${G.ny} and ${I.nx} × ${I.ny} pixels): ` +
      "the stacked PSF and EDISP maps may differ from gammapy's there (pipe rounds such ties half to even, gammapy by its WCS round trip's noise); " +
      "the excess and flux maps read the EDISP at the map centre only, unless no run's safe mask covers it " +
      "(docs/gammapy-analysis.md, 'Where pipe and gammapy differ')"
    );
  }

  /** The stack of the runs added so far (call once, after the last run). */
  result(): MapDataset {
    const { st, nE, nT, nR, nI } = this;
    if (this.count === 0) return st;
    if (this.gtis.length > 0) st.gti = stackGtis(this.gtis);
    if (this.psf) {
      const { num, den } = this.psf;
      const psf = {
        radEdges: this.rg.radEdges,
        data: new Float32Array(nT * nR * nI),
        exposure: new Float32Array(nT * nI),
      };
      for (let t = 0; t < nT; t++) {
        for (let q = 0; q < nI; q++) {
          const d = den[t * nI + q] as number;
          psf.exposure[t * nI + q] = d;
          for (let r = 0; r < nR; r++)
            psf.data[(t * nR + r) * nI + q] = d > 0 ? (num[(t * nR + r) * nI + q] as number) / d : 0;
        }
      }
      st.psf = psf;
    }
    if (this.edisp) {
      const { num, den } = this.edisp;
      const edisp = { data: new Float64Array(nT * nE * nI), exposure: new Float32Array(nT * nI) };
      for (let t = 0; t < nT; t++) {
        for (let q = 0; q < nI; q++) {
          const d = den[t * nI + q] as number;
          edisp.exposure[t * nI + q] = d;
          for (let k = 0; k < nE; k++)
            edisp.data[(t * nE + k) * nI + q] = d > 0 ? (num[(t * nE + k) * nI + q] as number) / d : 0;
        }
      }
      st.edisp = edisp;
    }
    return st;
  }
}

/**
 * The run's IRF pixels that add to the stack (in the IRF footprint and safe at some energy) and where they go, as
 * segments: pixels from[s] + j (run IRF grid) add to to[s] + j (stack IRF grid) for j < len[s]. Each stack pixel
 * receives at most one run pixel, so the order of the segments does not change any sum.
 */
interface IrfPixels {
  /** First run IRF pixel of each segment. */
  from: Int32Array;
  /** The stack IRF pixel it adds to. */
  to: Int32Array;
  /** Segment lengths. */
  len: Int32Array;
  /** Pixels of the run's IRF grid. */
  ni: number;
}

function irfDestinations(run: MapDataset, ig: WcsGeom, stackIg: WcsGeom, W: Uint8Array): IrfPixels {
  const from: number[] = [];
  const to: number[] = [];
  const len: number[] = [];
  const { irfX0, irfY0 } = run.placement;
  let next = -1; // the run pixel that would extend the last segment (−1: none)
  let nextTo = -1; // and the stack pixel it would have to go to
  for (let y = 0; y < ig.ny; y++) {
    const dy = y + irfY0;
    if (dy < 0 || dy >= stackIg.ny) continue;
    for (let x = 0; x < ig.nx; x++) {
      const dx = x + irfX0;
      const p = y * ig.nx + x;
      if (dx >= 0 && dx < stackIg.nx && W[p] !== 0) {
        const q = dy * stackIg.nx + dx;
        // a segment continues across rows too when both grids have the same width
        if (p === next && q === nextTo) len[len.length - 1] = (len[len.length - 1] as number) + 1;
        else {
          from.push(p);
          to.push(q);
          len.push(1);
        }
        next = p + 1;
        nextTo = q + 1;
      }
    }
  }
  return {
    from: Int32Array.from(from),
    to: Int32Array.from(to),
    len: Int32Array.from(len),
    ni: ig.nx * ig.ny,
  };
}

// The PSF's sums are the stackIrfWeighted kernel's; the EDISP's (float64 data, masked per reco bin) are below. Each
// run adds one term to every num and den element it touches, so walking the pixels by segments changes no bit.

/** den[q0 + q] += exposure[e0 + p] over the run's IRF pixels p → stacked pixels q (one true-energy plane). */
function addExposurePlane(
  den: Float64Array,
  q0: number,
  exposure: Float32Array,
  e0: number,
  px: IrfPixels,
): void {
  const { from, to, len } = px;
  for (let s = 0; s < from.length; s++) {
    const a = e0 + (from[s] as number);
    const b = q0 + (to[s] as number);
    const n = len[s] as number;
    for (let j = 0; j < n; j++) den[b + j] = (den[b + j] as number) + (exposure[a + j] as number);
  }
}

/** EDISP: num[t][k][q] += data[t][k][p] · e[t][p], den[t][q] += e[t][p] (as stackIrfWeighted for the PSF), skipping the reco bins k where the run's mask w[k][p] (on its IRF grid) is 0. */
function accumulateEdisp(
  acc: { num: Float64Array; den: Float64Array },
  data: Float64Array,
  exposure: Float32Array,
  px: IrfPixels,
  w: Uint8Array,
  nT: number,
  nE: number,
  nI: number,
): void {
  const { num, den } = acc;
  const { from, to, len, ni } = px;
  const nSeg = from.length;
  for (let t = 0; t < nT; t++) {
    const eBase = t * ni;
    addExposurePlane(den, t * nI, exposure, eBase, px);
    for (let k = 0; k < nE; k++) {
      const src = (t * nE + k) * ni;
      const dst = (t * nE + k) * nI;
      const wBase = k * ni;
      for (let s = 0; s < nSeg; s++) {
        const p0 = from[s] as number;
        addMaskedProducts64(
          num,
          dst + (to[s] as number),
          data,
          src + p0,
          exposure,
          eBase + p0,
          w,
          wBase + p0,
          len[s] as number,
        );
      }
    }
  }
}

// The innermost loops, as small functions of their own: V8 optimizes them after a few calls, long before the first
// run's pass would be replaced on the stack.

/** num[q0 + j] += data[d0 + j] · e[e0 + j] for j < n where w[w0 + j] is not 0. */
function addMaskedProducts64(
  num: Float64Array,
  q0: number,
  data: Float64Array,
  d0: number,
  e: Float32Array,
  e0: number,
  w: Uint8Array,
  w0: number,
  n: number,
): void {
  for (let j = 0; j < n; j++) {
    if (w[w0 + j] === 0) continue;
    num[q0 + j] = (num[q0 + j] as number) + (data[d0 + j] as number) * (e[e0 + j] as number);
  }
}

/** OR over the energy planes of a byte mask (maskImage of safe-mask.ts), one stackMaskOr per plane. */
function orOverPlanes(kernels: Kernels, mask: Uint8Array, npix: number, nE: number): Uint8Array {
  const out = new Uint8Array(npix);
  for (let k = 0; k < nE; k++)
    kernels.stackMaskOr(out, npix, 1, mask.subarray(k * npix, (k + 1) * npix), npix, 1, 1, 0, 0);
  return out;
}

/**
 * The run's IRF pixels whose centre lies on an edge between safe and unsafe map pixels (in some plane of `maskSafe`),
 * where sampling its safe mask on the IRF grid is a tie: pipe rounds half to even, gammapy's mask_safe_psf and
 * mask_safe_edisp by the floating-point noise of wcslib's round trip (x = 69.49999999999851 → 69, 28.500000000002 →
 * 29), so the stacked PSF and EDISP maps and their exposures may differ from gammapy's there (found by a CTA-store
 * sweep: scripts/xcheck, irf_maps_compare.py). A binsize_irf that is a multiple of binsize by an even factor, on
 * grids centred alike (0.2° over 0.02°), puts IRF pixel centres on map pixel edges.
 */
function safeMaskTies(maskSafe: Uint8Array, g: WcsGeom, ig: WcsGeom, nE: number): number {
  const n = npix(g);
  const tied = new Uint8Array(npix(ig));
  // Where the IRF pixel centres fall on the map grid: the same for every plane.
  const at = maskPixels(g, ig);
  for (let e = 0; e < nE; e++) {
    const plane = maskSafe.subarray(e * n, (e + 1) * n);
    // A plane unsafe everywhere has no edge (outside the map counts as unsafe, as gammapy's fill_value 0).
    if (plane.every((v) => v === 0)) continue;
    markBoundaryTies({ wcs: g.wcs, nx: g.nx, ny: g.ny, data: plane }, ig, tied, at);
  }
  return tied.reduce((k, v) => k + v, 0);
}

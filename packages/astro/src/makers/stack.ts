/**
 * Stacking of per-run datasets into the analysis grids (science spec §5, §4.6): masked float32 sums of counts,
 * background and exposure, OR of the safe masks, and exposure-weighted means of the IRF maps.
 */
import type { Kernels } from '@pipe/kernels';
import { nbins } from '../geom/energy-axis.js';
import { npix } from '../geom/wcs-geom.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import type { MapDataset } from './dataset.js';
import type { ReductionGeometry } from './reduce.js';
import { maskImage } from './safe-mask.js';

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
  const wantPsf = runs.length > 0 && runs.every((r) => r.psf);
  const wantEdisp = runs.length > 0 && runs.every((r) => r.edisp);
  const st = emptyStack(rg, { psf: wantPsf, edisp: wantEdisp }, name);
  const G = rg.geom;
  const nE = nbins(rg.energy);
  const nT = nbins(rg.energyTrue);
  const nR = rg.radEdges.length - 1;
  const nI = npix(rg.irfGeom);
  // float64 numerators and denominators of the IRF-map means
  const psfNum = wantPsf ? new Float64Array(nT * nR * nI) : undefined;
  const psfDen = wantPsf ? new Float64Array(nT * nI) : undefined;
  const edNum = wantEdisp ? new Float64Array(nT * nE * nI) : undefined;
  const edDen = wantEdisp ? new Float64Array(nT * nI) : undefined;
  for (const run of runs) {
    const g = run.geom;
    const n = npix(g);
    const { x0, y0 } = run.placement;
    kernels.stackAdd(st.counts, G.nx, G.ny, run.counts, g.nx, g.ny, nE, x0, y0, run.maskSafe, nE, 1);
    kernels.stackAdd(st.background, G.nx, G.ny, run.background, g.nx, g.ny, nE, x0, y0, run.maskSafe, nE, 1);
    kernels.stackAdd(
      st.exposure,
      G.nx,
      G.ny,
      run.exposure,
      g.nx,
      g.ny,
      nT,
      x0,
      y0,
      maskImage(run.maskSafe, n, nE),
      1,
      1,
    );
    kernels.stackMaskOr(st.maskSafe, G.nx, G.ny, run.maskSafe, g.nx, g.ny, nE, x0, y0);
    st.livetime += run.livetime;
    st.ontime += run.ontime;
    st.runs.push(...run.runs);
    if (!wantPsf && !wantEdisp) continue;
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
    const W = maskImage(w, ni, nE);
    const { irfX0, irfY0 } = run.placement;
    for (let y = 0; y < ig.ny; y++) {
      const dy = y + irfY0;
      if (dy < 0 || dy >= rg.irfGeom.ny) continue;
      for (let x = 0; x < ig.nx; x++) {
        const dx = x + irfX0;
        if (dx < 0 || dx >= rg.irfGeom.nx) continue;
        const p = y * ig.nx + x;
        const q = dy * rg.irfGeom.nx + dx;
        if (W[p] === 0) continue;
        for (let t = 0; t < nT; t++) {
          if (run.psf && psfNum && psfDen) {
            const e = run.psf.exposure[t * ni + p] as number;
            psfDen[t * nI + q] = (psfDen[t * nI + q] as number) + e;
            for (let r = 0; r < nR; r++)
              psfNum[(t * nR + r) * nI + q] =
                (psfNum[(t * nR + r) * nI + q] as number) +
                (run.psf.data[(t * nR + r) * ni + p] as number) * e;
          }
          if (run.edisp && edNum && edDen) {
            const e = run.edisp.exposure[t * ni + p] as number;
            edDen[t * nI + q] = (edDen[t * nI + q] as number) + e;
            for (let k = 0; k < nE; k++) {
              if (w[k * ni + p] === 0) continue;
              edNum[(t * nE + k) * nI + q] =
                (edNum[(t * nE + k) * nI + q] as number) +
                (run.edisp.data[(t * nE + k) * ni + p] as number) * e;
            }
          }
        }
      }
    }
  }
  if (st.psf && psfNum && psfDen) {
    for (let t = 0; t < nT; t++) {
      for (let q = 0; q < nI; q++) {
        const d = psfDen[t * nI + q] as number;
        st.psf.exposure[t * nI + q] = d;
        for (let r = 0; r < nR; r++)
          st.psf.data[(t * nR + r) * nI + q] = d > 0 ? (psfNum[(t * nR + r) * nI + q] as number) / d : 0;
      }
    }
  }
  if (st.edisp && edNum && edDen) {
    for (let t = 0; t < nT; t++) {
      for (let q = 0; q < nI; q++) {
        const d = edDen[t * nI + q] as number;
        st.edisp.exposure[t * nI + q] = d;
        for (let k = 0; k < nE; k++)
          st.edisp.data[(t * nE + k) * nI + q] = d > 0 ? (edNum[(t * nE + k) * nI + q] as number) / d : 0;
      }
    }
  }
  return st;
}

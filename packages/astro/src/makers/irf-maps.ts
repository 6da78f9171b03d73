/**
 * PSF and energy-dispersion maps on the coarse IRF grid (science spec §3.3, §4.6), each with the IRF-grid exposure
 * that weights it when runs are stacked.
 */
import type { Kernels } from '@pipe/kernels';
import { type EnergyAxis, logCentres, nbins } from '../geom/energy-axis.js';
import type { EdispInputs, PsfInputs } from './irf-inputs.js';
import { makeExposure } from './maps.js';

/** gammapy's default PSF map rad axis: 66 linear bins 0–0.66°. */
export function defaultRadEdges(): Float64Array {
  const n = 66;
  const stop = 0.66;
  const step = stop / n;
  const out = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) out[k] = k * step;
  out[n] = stop;
  return out;
}

/** PSF map [E_true][rad][p] (sr⁻¹, normalised along rad) and its IRF-grid exposure [E_true][p] (m² s). */
export interface PsfMap {
  radEdges: Float64Array;
  data: Float32Array;
  exposure: Float32Array;
}

/** Edisp kernel map K[E_true][E_reco][p] and its IRF-grid exposure [E_true][p] (m² s). */
export interface EdispKernelMap {
  data: Float64Array;
  exposure: Float32Array;
}

export function makePsfMap(
  psf: PsfInputs,
  offsets: Float64Array,
  npix: number,
  energyTrue: EnergyAxis,
  radEdges: Float64Array,
  exposure: Float32Array,
  kernels: Kernels,
): PsfMap {
  const nT = nbins(energyTrue);
  const nR = radEdges.length - 1;
  const data = new Float32Array(nT * nR * npix);
  kernels.evalPsfMap(
    offsets,
    npix,
    psf.table,
    psf.lnENodes,
    psf.lnENodes.length,
    psf.offNodes,
    psf.offNodes.length,
    psf.radNodes,
    psf.radNodes.length,
    psf.bounds,
    logCentres(energyTrue),
    nT,
    radEdges,
    nR,
    data,
  );
  return { radEdges, data, exposure };
}

export function makeEdispKernelMap(
  edisp: EdispInputs,
  offsets: Float64Array,
  npix: number,
  energyTrue: EnergyAxis,
  energy: EnergyAxis,
  exposure: Float32Array,
  kernels: Kernels,
): EdispKernelMap {
  const nT = nbins(energyTrue);
  const nK = nbins(energy);
  const nM = edisp.migraEdges.length - 1;
  const data = new Float64Array(nT * nK * npix);
  kernels.evalEdispKernelMap(
    offsets,
    npix,
    edisp.table,
    edisp.lnENodes,
    edisp.lnENodes.length,
    nM,
    edisp.offNodes,
    edisp.offNodes.length,
    edisp.migraEdges,
    edisp.bounds,
    logCentres(energyTrue),
    nT,
    energy.edges,
    nK,
    new Float64Array(nM + 1),
    data,
  );
  return { data, exposure };
}

/**
 * AEFF × livetime at the IRF pixel centres and true-energy centres: the stacking weight of the IRF maps. The same
 * evaluation as the exposure map, on the coarse IRF grid's offsets.
 */
export const makeIrfExposure = makeExposure;

/** K[t][k] at IRF pixel p of a kernel map with npix pixels (nT × nK values). */
export function edispKernelAtPixel(
  map: EdispKernelMap,
  npix: number,
  nT: number,
  nK: number,
  p: number,
): Float64Array {
  const out = new Float64Array(nT * nK);
  for (let i = 0; i < nT * nK; i++) out[i] = map.data[i * npix + p] as number;
  return out;
}

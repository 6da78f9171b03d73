/**
 * The edisp-bias energy threshold of gammapy's SafeMaskMaker (EDispKernel.get_bias_energy): the relative bias
 * b(E_t) = (⟨E_reco⟩ − E_t)/E_t of the kernel, interpolated log-log between true-energy centres (values clipped to
 * float32 tiny), and the first E_t above the bias peak where b falls to `bias`; the threshold is E_t·(1 + bias).
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';
import { type EnergyAxis, logCentres, nbins } from '../geom/energy-axis.js';
import { firstRootOnLogGrid, logLogAt } from './log-roots.js';

/** Relative bias per true-energy centre from the kernel matrix K[t][k] (nT × nK); NaN for an empty row. */
export function edispBias(matrix: Float64Array, energyTrue: EnergyAxis, energy: EnergyAxis): Float64Array {
  const nT = nbins(energyTrue);
  const nK = nbins(energy);
  const et = logCentres(energyTrue);
  const er = logCentres(energy);
  const out = new Float64Array(nT);
  for (let t = 0; t < nT; t++) {
    let s = 0;
    let se = 0;
    for (let k = 0; k < nK; k++) {
      const v = matrix[t * nK + k] as number;
      s += v;
      se += v * (er[k] as number);
    }
    out[t] = (se / s - (et[t] as number)) / (et[t] as number);
  }
  return out;
}

/**
 * Reco-energy threshold (TeV) for a relative bias `bias` (e.g. 0.1): the first root of b(E) = bias on a
 * 1000-point log grid from the bias peak to the last true centre, refined by bisection; the peak energy when
 * there is none.
 */
export function edispBiasEnergy(
  matrix: Float64Array,
  energyTrue: EnergyAxis,
  energy: EnergyAxis,
  bias: number,
): number {
  const et = logCentres(energyTrue);
  const b = edispBias(matrix, energyTrue, energy);
  let peak = -1;
  for (let t = 0; t < b.length; t++)
    if (!Number.isNaN(b[t]) && (peak < 0 || (b[t] as number) > (b[peak] as number))) peak = t;
  if (peak < 0 || et.length < 2) return Number.NaN;
  const lx = et.map(Math.log);
  const ly = b.map((v) => Math.log(Math.max(Number.isNaN(v) ? 0 : v, FLOAT32_TINY)));
  const f = (e: number) => logLogAt(lx, ly, Math.log(e)) - bias;
  const lo = et[peak] as number;
  const hi = et[et.length - 1] as number;
  // find_roots on 1000 log-spaced energies from the bias peak to the last true centre.
  const root = lo < hi ? firstRootOnLogGrid(f, lo, hi, 1000, 1e-12) : undefined;
  return (root ?? lo) * (1 + bias);
}

/**
 * The edisp-bias energy threshold of gammapy's SafeMaskMaker (EDispKernel.get_bias_energy): the relative bias
 * b(E_t) = (⟨E_reco⟩ − E_t)/E_t of the kernel, interpolated log-log between true-energy centres (values clipped to
 * float32 tiny), and the first E_t above the bias peak where b falls to `bias`; the threshold is E_t·(1 + bias).
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';
import { type EnergyAxis, logCentres, nbins } from '../geom/energy-axis.js';

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

/** Log-log interpolation of (x, y) at v, y clipped to tiny, extrapolated linearly in log space. */
function logLogAt(lx: Float64Array, ly: Float64Array, v: number): number {
  const lv = Math.log(v);
  let i = 0;
  while (i < lx.length - 2 && (lx[i + 1] as number) < lv) i++;
  const t = (lv - (lx[i] as number)) / ((lx[i + 1] as number) - (lx[i] as number));
  return Math.exp((ly[i] as number) + t * ((ly[i + 1] as number) - (ly[i] as number)));
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
  const target = bias;
  const f = (e: number) => logLogAt(lx, ly, e) - target;
  const lo = et[peak] as number;
  const hi = et[et.length - 1] as number;
  const n = 1000;
  let prevE = lo;
  let prevF = f(lo);
  for (let i = 1; i < n && lo < hi; i++) {
    const e = Math.exp(Math.log(lo) + (i / (n - 1)) * (Math.log(hi) - Math.log(lo)));
    const fe = f(e);
    if (prevF === 0) return prevE * (1 + bias);
    if (Math.sign(fe) !== Math.sign(prevF)) {
      let a = prevE;
      let c = e;
      let fa = prevF;
      for (let it = 0; it < 100 && c - a > 1e-12 * c; it++) {
        const m = Math.sqrt(a * c);
        const fm = f(m);
        if (Math.sign(fm) === Math.sign(fa)) {
          a = m;
          fa = fm;
        } else c = m;
      }
      return Math.sqrt(a * c) * (1 + bias);
    }
    prevE = e;
    prevF = fe;
  }
  return lo * (1 + bias);
}

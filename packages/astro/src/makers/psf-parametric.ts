/**
 * PSF maps from parametric PSFs (PSF_3GAUSS, PSF_KING; science spec §12, gammapy irf/psf/parametric.py): the
 * parameters interpolated bilinearly in (ln E_true, offset) with extrapolation (clipped to ≥ 0), the profile
 * evaluated at the rad centres and normalised like a table PSF (Σ 2π r Δr PSF = 1, r in rad).
 * - 3gauss: PSF(r) ∝ Σ_i A_i exp(−r²/(2σ_i²)), A_1 = 1, A_2 = AMPL_2, A_3 = AMPL_3 (gammapy's norms
 *   2·scale·A_i·σ_i² over the Gaussians' 2πσ_i²; SCALE cancels in the normalisation, except where it is 0: there
 *   gammapy's MultiGauss2D.normalize turns 0/0 into 0, and the PSF is 0, as CTA's files have below their range);
 * - king: PSF(r) ∝ (1 − 1/γ)/(2πσ²) · (1 + r²/(2γσ²))^(−γ).
 * The loop is small (IRF grid × true energies × rad bins), so it stays in TypeScript rather than a kernel.
 */
import { cellIndex, cellWeight } from '@pipe/kernels/scalars';
import { type EnergyAxis, logCentres, nbins } from '../geom/energy-axis.js';
import type { IrfAxis, IrfTable } from '../irf/index.js';
import { type IrfInputFailure, singleOffsetBin } from './irf-inputs.js';

const D = Math.PI / 180;

/** A PSF_3GAUSS pixel's parameters, in the order of `names` below. */
type Gauss3Parameters = [s1: number, s2: number, s3: number, a2: number, a3: number, scale: number];

function bilinear(values: Float64Array, lnE: Float64Array, off: Float64Array, x: number, y: number): number {
  const nE = lnE.length;
  const nO = off.length;
  const ie = cellIndex(lnE, 0, nE, x);
  const te = cellWeight(lnE, 0, nE, ie, x);
  const io = cellIndex(off, 0, nO, y);
  const to = cellWeight(off, 0, nO, io, y);
  const je = nE > 1 ? ie + 1 : ie;
  const jo = nO > 1 ? io + 1 : io;
  const v =
    (values[ie * nO + io] as number) * (1 - te) * (1 - to) +
    (values[ie * nO + jo] as number) * (1 - te) * to +
    (values[je * nO + io] as number) * te * (1 - to) +
    (values[je * nO + jo] as number) * te * to;
  // Not Math.max: a NaN parameter must give 0, which Math.max would not.
  return v > 0 ? v : 0;
}

/** PSF map [E_true][rad][p] (sr⁻¹) from a psf_3gauss or psf_king table. */
export function parametricPsfMap(
  irf: IrfTable,
  offsets: Float64Array,
  npix: number,
  energyTrue: EnergyAxis,
  radEdges: Float64Array,
): Float32Array | IrfInputFailure {
  if (irf.hduClass !== 'psf_3gauss' && irf.hduClass !== 'psf_king')
    return { reason: 'irf-unsupported', message: `${irf.hduClass} is not a parametric PSF` };
  const [eAxis, oAxis] = irf.axes as [IrfAxis, IrfAxis];
  if (irf.axes.length !== 2 || eAxis.name !== 'energy_true' || oAxis.name !== 'offset')
    return {
      reason: 'irf-unsupported',
      message: `${irf.hduClass} in ${irf.file} needs axes (energy_true, offset)`,
    };
  const single = singleOffsetBin(irf);
  if (single) return single;
  const lnE = eAxis.nodes.map(Math.log);
  const off = Float64Array.from(oAxis.nodes);
  const param = (name: string): Float64Array | undefined => irf.arrays[name]?.data;
  const king = irf.hduClass === 'psf_king';
  const names = king ? ['gamma', 'sigma'] : ['sigma_1', 'sigma_2', 'sigma_3', 'ampl_2', 'ampl_3', 'scale'];
  const tables = names.map(param);
  if (tables.some((t) => t === undefined))
    return {
      reason: 'irf-unsupported',
      message: `${irf.hduClass} in ${irf.file} lacks one of ${names.join(', ')}`,
    };
  const nT = nbins(energyTrue);
  const nR = radEdges.length - 1;
  const energies = logCentres(energyTrue);
  const out = new Float32Array(nT * nR * npix);
  const pars = new Float64Array(names.length);
  for (let t = 0; t < nT; t++) {
    const x = Math.log(energies[t] as number);
    for (let p = 0; p < npix; p++) {
      for (let i = 0; i < names.length; i++)
        pars[i] = bilinear(tables[i] as Float64Array, lnE, off, x, offsets[p] as number);
      let norm = 0;
      for (let r = 0; r < nR; r++) {
        const lo = radEdges[r] as number;
        const hi = radEdges[r + 1] as number;
        const rc = (lo + hi) / 2;
        let v: number;
        if (king) {
          const [gamma, sigma] = pars as unknown as [number, number];
          v =
            gamma > 0 && sigma > 0
              ? ((1 - 1 / gamma) / (2 * Math.PI * sigma * sigma)) *
                (1 + (rc * rc) / (2 * gamma * sigma * sigma)) ** -gamma
              : 0;
        } else {
          const [s1, s2, s3, a2, a3, scale] = pars as unknown as Gauss3Parameters;
          const g = (s: number) => (s > 0 ? Math.exp(-(rc * rc) / (2 * s * s)) : 0);
          // bilinear clips to ≥ 0 (NaN to 0): scale 0 is the only way to a zero sum of gammapy's norms.
          v = scale > 0 ? g(s1) + a2 * g(s2) + a3 * g(s3) : 0;
        }
        if (!(v > 0) || !Number.isFinite(v)) v = 0;
        out[(t * nR + r) * npix + p] = v;
        norm += 2 * Math.PI * rc * D * (hi - lo) * D * v;
      }
      const inv = norm > 0 ? 1 / norm : 0;
      for (let r = 0; r < nR; r++)
        out[(t * nR + r) * npix + p] = (out[(t * nR + r) * npix + p] as number) * inv;
    }
  }
  return out;
}

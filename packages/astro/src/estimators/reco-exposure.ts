/**
 * Reco-energy exposure of the flux maps (science spec §7.5): the counts the reference spectrum would give in
 * a pixel if all its flux fell there, R = Σ_t exposure_t · F_t · K_t, with F_t the spectrum's flux in true
 * bin t and K_t the probability that a photon of true bin t is reconstructed in the output energy bin.
 */
import type { EnergyGroup } from './squash.js';

/** Why the energy-dispersion kernel does not fit the request. */
export type EdispKernelFailure = { reason: 'edisp-kernel-shape'; message: string };

/**
 * K_t for each output group. `edispKernel` is either K_t (length nTrue, already summed over the reco bins
 * of a single output bin) or the matrix K[t][k] (length nTrue·nEnergy, row t = true bin), summed here over
 * each group's reco bins. Weighting by the mask on the IRF grid is the caller's (the maker's) business.
 */
export function edispPerGroup(
  edispKernel: ArrayLike<number>,
  nTrue: number,
  nEnergy: number,
  groups: readonly EnergyGroup[],
): Float64Array[] | EdispKernelFailure {
  if (edispKernel.length === nTrue) {
    const whole = groups.length === 1 && groups[0]?.first === 0 && groups[0]?.last === nEnergy;
    if (!whole) {
      return {
        reason: 'edisp-kernel-shape',
        message: `an edisp kernel of length nTrue (${nTrue}) is summed over the whole reco axis; splitting into energy bins needs the nTrue×nEnergy matrix (${nTrue * nEnergy} values)`,
      };
    }
    return [Float64Array.from(edispKernel)];
  }
  if (edispKernel.length !== nTrue * nEnergy) {
    return {
      reason: 'edisp-kernel-shape',
      message: `edisp kernel has ${edispKernel.length} values; expected nTrue = ${nTrue} or nTrue×nEnergy = ${nTrue * nEnergy}`,
    };
  }
  return groups.map((g) => {
    const k = new Float64Array(nTrue);
    for (let t = 0; t < nTrue; t++) {
      let s = 0;
      for (let e = g.first; e < g.last; e++) s += edispKernel[t * nEnergy + e] as number;
      k[t] = s;
    }
    return k;
  });
}

/**
 * R[p] = Σ_t exposure[t][p] · 1e4 · fluxTrue[t] · kTrue[t] (exposure in m² s, flux in cm⁻² s⁻¹): counts per
 * unit norm. Non-finite exposure counts as 0, as it does when gammapy stacks.
 */
export function recoExposure(
  exposure: ArrayLike<number>,
  npix: number,
  fluxTrue: Float64Array,
  kTrue: Float64Array,
  out: Float64Array,
): void {
  out.fill(0, 0, npix);
  for (let t = 0; t < kTrue.length; t++) {
    const w = 1e4 * (fluxTrue[t] as number) * (kTrue[t] as number);
    if (w === 0) continue;
    const off = t * npix;
    for (let p = 0; p < npix; p++) {
      const e = exposure[off + p] as number;
      if (Number.isFinite(e)) out[p] = (out[p] as number) + w * e;
    }
  }
}

/**
 * The aeff-max energy threshold of gammapy 1.0's SafeMaskMaker (make_mask_energy_aeff_max): the effective area at
 * the centre of the run's map (its exposure there ÷ livetime, float32) as a TemplateSpectralModel over the
 * true-energy centres (log-log interpolation, values clipped to float32 tiny and their logs in float32), and the
 * lowest energy where it reaches aeff_percent % of its maximum: the first sign change of A(E) − threshold on
 * find_roots' grid of 101 log-spaced energies from the first centre with A > 0 to the last centre, solved in that
 * bracket. Without a sign change the threshold is that first centre with A > 0. The reco bins whose lower edge is
 * at or above the threshold are kept (geom.energy_mask).
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';
import { type EnergyAxis, logCentres } from '../geom/energy-axis.js';
import { firstRootOnLogGrid, logLogAt } from './log-roots.js';

/**
 * Threshold energy (TeV) from the effective area per true-energy bin at the map centre (any unit), or undefined
 * when it is zero everywhere (gammapy then masks the whole run).
 */
export function aeffMaxEnergy(
  aeff: ArrayLike<number>,
  energyTrue: EnergyAxis,
  aeffPercent: number,
): number | undefined {
  const centres = logCentres(energyTrue);
  const n = centres.length;
  let first = -1;
  let max = 0;
  for (let t = 0; t < n; t++) {
    const v = aeff[t] as number;
    if (v > 0 && first < 0) first = t;
    if (v > max) max = v;
  }
  if (first < 0) return undefined;
  const energyMin = centres[first] as number;
  if (n < 2) return energyMin;
  const threshold = (aeffPercent / 100) * max;
  const lx = Array.from(centres, Math.log);
  // gammapy's LogScale: values clipped to float32 tiny, log taken in float32 (the aeff map is float32).
  const ly = Array.from(aeff, (v) => Math.fround(Math.log(Math.max(Math.fround(v), FLOAT32_TINY))));
  const f = (e: number) => logLogAt(lx, ly, Math.log(e)) - threshold;
  // find_roots(points_scale="log", nbin=100): 101 energies from the first centre with A > 0 to the last centre.
  return firstRootOnLogGrid(f, energyMin, centres[n - 1] as number, 101, 1e-14) ?? energyMin;
}

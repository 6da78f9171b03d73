/**
 * Energy axes of the map cubes (science spec §3.2): log-spaced edges built exactly as gammapy 1.0 does
 * (exp of numpy.linspace in log space, last edge = exp(ln hi), e.g. 10.000000000000002), with correctly rounded exp
 * and log as glibc's (numpy's AVX-512 ones give 9.999999999999998 there); centres at the log midpoints.
 */
import { expR, logR } from './rounded-math.js';

/**
 * Relative slack for an energy bound that a reco edge equals up to rounding: an axis with `max: 100 TeV` has its
 * last edge exp(ln hi) = 100.00000000000004 here, where gammapy's numpy (its SIMD exp/log) gave
 * 99.99999999999994. Bounds compared with edges (a BKG table's energy range, AEFF's LO_THRES/HI_THRES) are widened
 * by this much, so that such an edge counts as inside, as in gammapy.
 */
export const EDGE_SLACK = 1e-12;

/** An energy axis: reco (counts, background, masks) or true (exposure, IRF maps). Energies in TeV. */
export interface EnergyAxis {
  kind: 'reco' | 'true';
  /** nbins + 1 ascending edges, TeV. */
  edges: Float64Array;
}

/** Why an axis specification is unusable. */
export interface EnergyAxisFailure {
  reason: 'energy-axis-invalid';
  message: string;
}

/** The most bins of an energy axis pipe makes (gammapy analyses use tens). */
export const MAX_ENERGY_BINS = 100_000;

/**
 * Log-spaced axis: ln edge_k = k·((ln hi − ln lo)/n) + ln lo for k < n and ln hi for k = n (numpy.linspace),
 * edge_k = exp(ln edge_k).
 */
export function logEnergyAxis(
  kind: 'reco' | 'true',
  loTeV: number,
  hiTeV: number,
  nbins: number,
): EnergyAxis | EnergyAxisFailure {
  if (!(loTeV > 0) || !(hiTeV > loTeV) || !Number.isFinite(hiTeV)) {
    return {
      reason: 'energy-axis-invalid',
      message: `energy bounds must satisfy 0 < min < max, got ${loTeV}…${hiTeV} TeV`,
    };
  }
  if (!Number.isInteger(nbins) || nbins < 1)
    return { reason: 'energy-axis-invalid', message: `nbins must be a positive integer, got ${nbins}` };
  // Its edges are an array: 2e9 bins would take 16 GB before anything failed.
  if (nbins > MAX_ENERGY_BINS)
    return {
      reason: 'energy-axis-invalid',
      message: `nbins ${nbins} is more energy bins than pipe handles (${MAX_ENERGY_BINS})`,
    };
  // Correctly rounded exp and log, as glibc's that numpy calls: node's are an ulp off for a few % of arguments, and an
  // edge an ulp off can move an event on the edge or an energy_edges group boundary (estimators/squash.ts).
  const start = logR(loTeV);
  const stop = logR(hiTeV);
  const step = (stop - start) / nbins;
  const edges = new Float64Array(nbins + 1);
  for (let k = 0; k < nbins; k++) edges[k] = expR(k * step + start);
  edges[nbins] = expR(stop);
  return { kind, edges };
}

/** True when the value is a failure. */
export function isEnergyAxisFailure(v: EnergyAxis | EnergyAxisFailure): v is EnergyAxisFailure {
  return 'reason' in v;
}

/** Number of bins. */
export function nbins(axis: EnergyAxis): number {
  return axis.edges.length - 1;
}

/** Log centres sqrt(lo·hi), TeV. */
export function logCentres(axis: EnergyAxis): Float64Array {
  const n = nbins(axis);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = Math.sqrt((axis.edges[k] as number) * (axis.edges[k + 1] as number));
  return out;
}

/** ln of the edges (what binning kernels take). */
export function logEdges(axis: EnergyAxis): Float64Array {
  return axis.edges.map(Math.log);
}

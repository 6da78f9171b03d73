/**
 * The safe data mask (science spec §4.4; gammapy 1.0 SafeMaskMaker). Always: background finite and > 0 (when
 * the run has a background map, even one zero everywhere: a cutout beyond the BKG table is masked whole). Then,
 * AND-ed, the listed methods:
 * - aeff-default: reco bins fully inside [LO_THRES, HI_THRES] of the AEFF header; a missing keyword cuts nothing;
 * - offset-max: pixels closer than offsetMax to the pointing (strictly);
 * - bkg-peak: the peak bin of the background spectrum and the bins above it (lower edge ≥ the peak bin's lower
 *   edge, as gammapy's `energy_min = energy_axis.edges[idx]`);
 * - edisp-bias: reco bins above the energy where the relative bias of the edisp kernel at the map centre
 *   falls to biasPercent (searched upwards from the bias peak), × (1 + bias);
 * - aeff-max: reco bins above the lowest true energy where the effective area at the map centre reaches
 *   aeffPercent % of its maximum (aeff-max.ts); every bin masked when that effective area is all zero.
 */
import { EDGE_SLACK, type EnergyAxis, nbins } from '../geom/energy-axis.js';
import { aeffMaxEnergy } from './aeff-max.js';
import { edispBiasEnergy } from './edisp-bias.js';

export type SafeMaskMethod = 'aeff-default' | 'aeff-max' | 'offset-max' | 'bkg-peak' | 'edisp-bias';

export const SAFE_MASK_METHODS: readonly SafeMaskMethod[] = [
  'aeff-default',
  'aeff-max',
  'offset-max',
  'bkg-peak',
  'edisp-bias',
];

export interface SafeMaskInputs {
  energy: EnergyAxis;
  npix: number;
  /** Background template [E][p]: given when the run has a background map (map_selection), else undefined. */
  background?: Float32Array;
  /** LO_THRES/HI_THRES in TeV (aeff-default). */
  aeffThresholds?: { lo?: number; hi?: number };
  /** Per-pixel offset from the pointing, deg (offset-max). */
  offsets?: Float64Array;
  offsetMax?: number;
  /** Edisp kernel K[t][k] at the map centre and its true axis (edisp-bias). */
  edispKernel?: { matrix: Float64Array; energyTrue: EnergyAxis };
  /** Bias threshold in percent (edisp-bias, default 10). */
  biasPercent?: number;
  /** Effective area per true-energy bin at the map centre, and its true axis (aeff-max). */
  aeffAtCentre?: { values: ArrayLike<number>; energyTrue: EnergyAxis };
  /** Effective-area threshold in percent of its maximum (aeff-max, default 10). */
  aeffPercent?: number;
}

/** Something the caller should log. */
export interface SafeMaskWarning {
  method: SafeMaskMethod;
  message: string;
}

export interface SafeMaskFailure {
  reason: 'safe-mask-input-missing';
  message: string;
}

/**
 * Bins k with edges[k] ≥ lo and edges[k+1] ≤ hi (gammapy's geom.energy_mask); with `slack`, the bounds are widened
 * by that relative amount (an edge equal to a threshold up to rounding counts as inside).
 */
export function energyBinMask(
  energy: EnergyAxis,
  lo: number | undefined,
  hi: number | undefined,
  slack = 0,
): Uint8Array {
  const n = nbins(energy);
  const out = new Uint8Array(n);
  const a = lo === undefined ? (energy.edges[0] as number) : lo * (1 - slack);
  const b = hi === undefined ? (energy.edges[n] as number) : hi * (1 + slack);
  for (let k = 0; k < n; k++)
    out[k] = (energy.edges[k] as number) >= a && (energy.edges[k + 1] as number) <= b ? 1 : 0;
  return out;
}

/**
 * A reco edge equal to LO_THRES or HI_THRES up to rounding (1 TeV as 0.9999999999999997): such a bin is kept, while
 * gammapy keeps or drops it as its numpy's exp and log round the edge (its SIMD build and the CPU decide). Said, so
 * that a user comparing with gammapy knows which bin and why (an axis bound a hair away from the threshold settles it).
 */
function thresholdTie(
  energy: EnergyAxis,
  withSlack: Uint8Array,
  exact: Uint8Array,
  t: { lo?: number; hi?: number },
): string | undefined {
  const ties: string[] = [];
  for (let k = 0; k < withSlack.length; k++) {
    if (withSlack[k] === exact[k]) continue;
    const lo = energy.edges[k] as number;
    const hi = energy.edges[k + 1] as number;
    const which = t.lo !== undefined && lo < t.lo ? `LO_THRES ${t.lo} TeV` : `HI_THRES ${t.hi} TeV`;
    ties.push(
      `reco bin ${k} (${lo.toPrecision(6)}–${hi.toPrecision(6)} TeV) has an edge equal to ${which} up to rounding`,
    );
  }
  if (ties.length === 0) return undefined;
  return `${ties.join('; ')}: kept as inside the thresholds (gammapy keeps or drops such a bin as its numpy rounds the axis edges)`;
}

/** mask_safe [E][p] as bytes (1 = safe), with warnings, or which input a listed method lacked. */
export function makeSafeMask(
  methods: readonly SafeMaskMethod[],
  inputs: SafeMaskInputs,
): { mask: Uint8Array; warnings: SafeMaskWarning[] } | SafeMaskFailure {
  const { npix, energy, background } = inputs;
  const nE = nbins(energy);
  const mask = new Uint8Array(nE * npix).fill(1);
  const warnings: SafeMaskWarning[] = [];
  if (background) unsetNonPositive(mask, background);
  const andEnergy = (bins: Uint8Array) => {
    for (let k = 0; k < nE; k++) if (bins[k] === 0) mask.fill(0, k * npix, (k + 1) * npix);
  };
  for (const method of new Set(methods)) {
    switch (method) {
      case 'offset-max': {
        if (!inputs.offsets || inputs.offsetMax === undefined)
          return {
            reason: 'safe-mask-input-missing',
            message: 'offset-max needs the pixel offsets and offsetMax',
          };
        for (let p = 0; p < npix; p++) {
          if ((inputs.offsets[p] as number) < inputs.offsetMax) continue;
          for (let k = 0; k < nE; k++) mask[k * npix + p] = 0;
        }
        break;
      }
      case 'aeff-default': {
        const t = inputs.aeffThresholds ?? {};
        if (t.lo === undefined || t.hi === undefined) {
          const missing =
            t.lo === undefined && t.hi === undefined
              ? 'no LO_THRES or HI_THRES in the AEFF header: no energy is cut'
              : t.lo === undefined
                ? 'no LO_THRES in the AEFF header: no low energy is cut'
                : 'no HI_THRES in the AEFF header: no high energy is cut';
          warnings.push({ method, message: `${missing} (the default thresholds aeff-default reads)` });
        }
        const kept = energyBinMask(energy, t.lo, t.hi, EDGE_SLACK);
        andEnergy(kept);
        const tie = thresholdTie(energy, kept, energyBinMask(energy, t.lo, t.hi), t);
        if (tie) warnings.push({ method, message: tie });
        break;
      }
      case 'bkg-peak': {
        if (!background)
          return { reason: 'safe-mask-input-missing', message: 'bkg-peak needs the background' };
        let best = 0;
        let bestSum = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < nE; k++) {
          // gammapy sums the spectrum with np.nansum: NaN bins (a background table's holes at its ends) add nothing
          let s = 0;
          for (let p = 0; p < npix; p++) {
            const v = background[k * npix + p] as number;
            if (!Number.isNaN(v)) s += v;
          }
          if (s > bestSum) {
            bestSum = s;
            best = k;
          }
        }
        andEnergy(energyBinMask(energy, energy.edges[best] as number, undefined));
        break;
      }
      case 'edisp-bias': {
        if (!inputs.edispKernel)
          return {
            reason: 'safe-mask-input-missing',
            message: 'edisp-bias needs the edisp kernel at the map centre',
          };
        const eMin = edispBiasEnergy(
          inputs.edispKernel.matrix,
          inputs.edispKernel.energyTrue,
          energy,
          (inputs.biasPercent ?? 10) / 100,
        );
        andEnergy(energyBinMask(energy, eMin, undefined));
        break;
      }
      case 'aeff-max': {
        if (!inputs.aeffAtCentre)
          return {
            reason: 'safe-mask-input-missing',
            message: 'aeff-max needs the effective area at the map centre',
          };
        const eMin = aeffMaxEnergy(
          inputs.aeffAtCentre.values,
          inputs.aeffAtCentre.energyTrue,
          inputs.aeffPercent ?? 10,
        );
        if (eMin === undefined) {
          warnings.push({
            method,
            message:
              'the effective area is zero at every true energy at the map centre: no safe energy band, every bin is masked',
          });
          mask.fill(0);
        } else andEnergy(energyBinMask(energy, eMin, undefined));
        break;
      }
    }
  }
  return { mask, warnings };
}

export function isSafeMaskFailure(v: object): v is SafeMaskFailure {
  return 'reason' in v;
}

// Small loops in their own functions: a fresh worker optimises them after a few calls.

/** mask[i] = 0 where values[i] is not finite and > 0. */
function unsetNonPositive(mask: Uint8Array, values: Float32Array): void {
  for (let i = 0; i < mask.length; i++) {
    const v = values[i] as number;
    if (!(v > 0 && Number.isFinite(v))) mask[i] = 0;
  }
}

/** OR over energy planes: the pixels safe in at least one bin (what the exposure is masked with). */
export function maskImage(mask: Uint8Array, npix: number, nE: number): Uint8Array {
  const out = new Uint8Array(npix);
  for (let k = 0; k < nE; k++) for (let p = 0; p < npix; p++) if (mask[k * npix + p] !== 0) out[p] = 1;
  return out;
}

/**
 * The excess map estimator of gammapy 1.0 (`ExcessMapEstimator`, science spec §7) for a map dataset with a
 * background template: correlated counts and background in a top-hat disk, Cash excess/TS/significance,
 * and norm/flux maps relative to a power-law reference spectrum, optionally with asymmetric errors and
 * upper limits.
 */
import { cashErrors, cashStatistics, cashUpperLimits, correlateDisk, diskKernel } from '@pipe/kernels';
import { roundHalfEven } from '../geom/rounding.js';
import { type ExcessMapName, FLUX_QUANTITIES, type FluxQuantity } from './map-names.js';
import { edispPerGroup, recoExposure } from './reco-exposure.js';
import {
  binFluxes,
  DEFAULT_REFERENCE_SPECTRUM,
  type PowerLawSpectrum,
  type ReferenceBinValues,
  referenceBinValues,
} from './reference-spectrum.js';
import { type EnergyGroup, groupEnergyBins, type SquashedImage, squashGroup } from './squash.js';
import { wstatErrors, wstatPixel, wstatUpperLimit } from './wstat.js';

/** Optional quantities (gammapy's `selection_optional`). */
export type OptionalQuantity = 'errn-errp' | 'ul';

/** The kernels the estimator runs; any backend of @pipe/kernels fits (default: the TypeScript reference). */
export interface ExcessMapKernels {
  correlateDisk(
    img: Float64Array,
    nx: number,
    ny: number,
    kernel: Float64Array,
    kn: number,
    out: Float64Array,
  ): void;
  cashStatistics(
    nOn: Float64Array,
    muB: Float64Array,
    outExcess: Float64Array,
    outTs: Float64Array,
    outSqrtTs: Float64Array,
  ): void;
}

const REFERENCE_KERNELS: ExcessMapKernels = { correlateDisk, cashStatistics };

export interface ExcessMapInput {
  /** Counts cube [nEnergy][ny][nx] (reco energy). */
  counts: ArrayLike<number>;
  /** Background cube [nEnergy][ny][nx], predicted counts. */
  background: ArrayLike<number>;
  /** mask_safe cube [nEnergy][ny][nx], non-zero = safe; absent = safe everywhere. */
  maskSafe?: ArrayLike<number>;
  /** Exposure cube [nTrue][ny][nx] in m² s; absent = no norm/flux maps (as gammapy without exposure). */
  exposure?: ArrayLike<number>;
  nx: number;
  ny: number;
  nEnergy: number;
  /** Number of true-energy bins of `exposure`; checked against energyEdgesTrue when given. */
  nTrue?: number;
  /** Reco energy edges, TeV (nEnergy + 1). */
  energyEdgesReco: ArrayLike<number>;
  /** True energy edges, TeV (nTrue + 1); required with `exposure`. */
  energyEdgesTrue?: ArrayLike<number>;
  /**
   * Energy dispersion to the output bins: K_t (length nTrue, for the single whole-axis bin) or the matrix
   * K[t][k] (nTrue × nEnergy). Required with `exposure`.
   */
  edispKernel?: ArrayLike<number>;
  /** Pixel size, degrees (mean |CDELT|). */
  binsizeDeg: number;
  /** Radius of the top-hat correlation disk, degrees. */
  correlationRadiusDeg: number;
  /** Width of the symmetric and asymmetric errors, in sigma (default 1). */
  nSigma?: number;
  /** Confidence of the upper limit, in sigma (default 2). */
  nSigmaUl?: number;
  /** Optional quantities: 'all' or a list; default none. */
  selectionOptional?: 'all' | readonly OptionalQuantity[];
  /** Output energy edges (TeV), a subset of the reco edges; default one bin over the whole axis. */
  energyEdges?: ArrayLike<number>;
  /**
   * The flux-like maps to make from the norm maps (default all four, as gammapy): a caller that writes only some
   * (a pipeline step writes its declared outputs) skips a pass per map and quantity.
   */
  fluxQuantities?: readonly FluxQuantity[];
  /** Reference spectrum of the norm maps (default power law, index 2, 1e-12 cm⁻² s⁻¹ TeV⁻¹ at 1 TeV). */
  referenceSpectrum?: PowerLawSpectrum;
  /**
   * Compute the root-finding target levels as gammapy does, in float32 (default true): errn/errp/ul then
   * agree with gammapy to ~1e-6 instead of ~1e-4.
   */
  float32Levels?: boolean;
  /**
   * The OFF maps of an on-off dataset (gammapy's MapDatasetOnOff: an unstacked run with a ring background), each
   * [nEnergy][ny][nx] with one reco bin: the excess, TS and errors then come from WStat with them, as gammapy's
   * estimator does, and `background` is only summarised.
   */
  onOff?: OnOffInput;
  /** gammapy's correlate_off (default true): with `onOff`, the OFF counts and background are correlated too. */
  correlateOff?: boolean;
}

/** An on-off dataset's OFF counts, acceptance (the background template) and OFF acceptance (its ring sum). */
export interface OnOffInput {
  countsOff: ArrayLike<number>;
  acceptance: ArrayLike<number>;
  acceptanceOff: ArrayLike<number>;
}

export type { ExcessMapName, FluxQuantity } from './map-names.js';

export interface ExcessMaps {
  nx: number;
  ny: number;
  /** Output energy bins with the reference spectrum's values in each. */
  bins: ReferenceBinValues[];
  /** Each map is [bin][y][x] (nBins·ny·nx), NaN where the squashed mask_safe is false. */
  maps: Partial<Record<ExcessMapName, Float64Array>> &
    Record<
      'npred' | 'counts' | 'npred_excess' | 'npred_background' | 'npred_excess_err' | 'ts' | 'sqrt_ts',
      Float64Array
    >;
  /** The squashed (uncorrelated) images of each bin, for whole-map summaries. */
  images: SquashedImage[];
  kernel: { radiusPix: number; kn: number; nonZero: number };
}

export type ExcessMapFailureReason =
  | 'shape-mismatch'
  | 'bad-parameter'
  | 'energy-edges-invalid'
  | 'edisp-kernel-shape';
export type ExcessMapResult =
  | { ok: true; value: ExcessMaps }
  | { ok: false; reason: ExcessMapFailureReason; message: string };

/** Runs the excess map estimator. Bad shapes or parameters are returned as a failure value. */
export function excessMap(
  input: ExcessMapInput,
  kernels: ExcessMapKernels = REFERENCE_KERNELS,
): ExcessMapResult {
  const checked = validate(input);
  if (!checked.ok) return checked;
  const { groups, kTrue } = checked;
  const { nx, ny } = input;
  const npix = nx * ny;
  const nBins = groups.length;
  const nSigma = input.nSigma ?? 1;
  const nSigmaUl = input.nSigmaUl ?? 2;
  const wanted = input.selectionOptional === 'all' ? ['errn-errp', 'ul'] : (input.selectionOptional ?? []);
  const spectrum = input.referenceSpectrum ?? DEFAULT_REFERENCE_SPECTRUM;
  const float32Levels = input.float32Levels ?? true;
  const fluxQuantities = input.fluxQuantities ?? FLUX_QUANTITIES;

  const radiusPix = input.correlationRadiusDeg / input.binsizeDeg;
  // A disk reaching past the map's diagonal covers every offset between two of its pixels, as any larger one does
  // (beyond, only the zero padding): built at most that wide, the same maps, where a radius of 1e300° asked for a
  // kernel array of Infinity cells ("Invalid typed array length").
  const { kernel, kn } = diskKernel(Math.min(radiusPix, Math.hypot(nx, ny)));
  const alloc = () => new Float64Array(nBins * npix);
  const maps: ExcessMaps['maps'] = {
    npred: alloc(),
    counts: alloc(),
    npred_excess: alloc(),
    npred_background: alloc(),
    npred_excess_err: alloc(),
    ts: alloc(),
    sqrt_ts: alloc(),
  };
  const withFlux = input.exposure !== undefined;
  const withErrors = wanted.includes('errn-errp');
  const withUl = wanted.includes('ul');
  if (withFlux) maps.reco_exposure = alloc();
  if (withErrors) [maps.npred_excess_errn, maps.npred_excess_errp] = [alloc(), alloc()];
  if (withUl) maps.npred_excess_ul = alloc();

  const images: SquashedImage[] = [];
  const bins: ReferenceBinValues[] = [];
  const scratch = new Float64Array(npix);
  const maskCorr = new Float64Array(npix);
  const masked = new Int32Array(npix); // indices of an energy group's masked pixels
  const fluxTrue = withFlux
    ? binFluxes(spectrum, input.energyEdgesTrue as ArrayLike<number>)
    : new Float64Array(0);
  for (let g = 0; g < nBins; g++) {
    const group = groups[g] as EnergyGroup;
    const view = (m: Float64Array) => m.subarray(g * npix, (g + 1) * npix);
    const image = squashGroup(input.counts, input.background, input.maskSafe, npix, group);
    images.push(image);
    bins.push(referenceBinValues(spectrum, group.eMin, group.eMax));
    const { counts: n, background: b, mask: m } = image;

    // n_on = rint(corr(N·M)), μ_b = corr(B·M) (§7.3)
    for (let p = 0; p < npix; p++) scratch[p] = (n[p] as number) * (m[p] as number);
    const nOn = view(maps.npred);
    kernels.correlateDisk(scratch, nx, ny, kernel, kn, nOn);
    for (let p = 0; p < npix; p++) nOn[p] = roundHalfEven(nOn[p] as number);
    if (input.onOff) {
      const correlate = (img: Float64Array, out: Float64Array) =>
        kernels.correlateDisk(img, nx, ny, kernel, kn, out);
      onOffStatistics(
        input.onOff,
        m,
        nOn,
        correlate,
        input.correlateOff ?? true,
        { nSigma, nSigmaUl },
        {
          nBkg: view(maps.npred_background),
          nSig: view(maps.npred_excess),
          err: view(maps.npred_excess_err),
          ts: view(maps.ts),
          sqrtTs: view(maps.sqrt_ts),
          ...(maps.npred_excess_errn ? { errn: view(maps.npred_excess_errn) } : {}),
          ...(maps.npred_excess_errp ? { errp: view(maps.npred_excess_errp) } : {}),
          ...(maps.npred_excess_ul ? { ul: view(maps.npred_excess_ul) } : {}),
        },
      );
    } else {
      for (let p = 0; p < npix; p++) scratch[p] = (b[p] as number) * (m[p] as number);
      const muB = view(maps.npred_background);
      kernels.correlateDisk(scratch, nx, ny, kernel, kn, muB);
      kernels.cashStatistics(nOn, muB, view(maps.npred_excess), view(maps.ts), view(maps.sqrt_ts));
      const err = view(maps.npred_excess_err);
      for (let p = 0; p < npix; p++) err[p] = nSigma * Math.sqrt(nOn[p] as number);
      if (maps.npred_excess_errn && maps.npred_excess_errp) {
        cashErrors(
          nOn,
          muB,
          nSigma,
          float32Levels,
          view(maps.npred_excess_errn),
          view(maps.npred_excess_errp),
        );
      }
      if (maps.npred_excess_ul)
        cashUpperLimits(nOn, muB, nSigmaUl, float32Levels, view(maps.npred_excess_ul));
    }

    if (maps.reco_exposure && input.exposure) {
      // R_c = corr(R)/corr(M): an average over the in-map, in-mask kernel pixels (§7.5)
      const r = view(maps.reco_exposure);
      recoExposure(input.exposure, npix, fluxTrue, kTrue[g] as Float64Array, r);
      kernels.correlateDisk(r, nx, ny, kernel, kn, scratch);
      kernels.correlateDisk(m, nx, ny, kernel, kn, maskCorr);
      for (let p = 0; p < npix; p++) scratch[p] = (scratch[p] as number) / (maskCorr[p] as number);
      addNormMaps(maps, g, npix, nBins, scratch, bins[g] as ReferenceBinValues, fluxQuantities);
    }
    maps.counts.set(nOn, g * npix);
    // NaN outside the squashed mask, in every map: the masked pixels are found once, not once per map.
    let nMasked = 0;
    for (let p = 0; p < npix; p++) if (m[p] === 0) masked[nMasked++] = g * npix + p;
    for (const map of Object.values(maps))
      if (map) for (let k = 0; k < nMasked; k++) map[masked[k] as number] = Number.NaN;
  }
  let nonZero = 0;
  for (const v of kernel) if (v !== 0) nonZero++;
  return { ok: true, value: { nx, ny, bins, maps, images, kernel: { radiusPix, kn, nonZero } } };
}

const f32 = Math.fround;
const FLOAT32_MAX = 3.4028234663852886e38;

/** numpy's nan_to_num on a float32 value: NaN → 0, ±∞ → ±the largest float32. */
function nanToNum(v: number): number {
  return Number.isNaN(v)
    ? 0
    : v === Number.POSITIVE_INFINITY
      ? FLOAT32_MAX
      : v === -Infinity
        ? -FLOAT32_MAX
        : v;
}

/**
 * WStat maps of an on-off dataset with one reco bin, as gammapy 1.0 makes them: MapDatasetOnOff.resample_energy_axis
 * onto the output bin (weights mask_safe; its acceptance_off recomputed as acceptance · counts_off / background,
 * so a pixel without OFF counts gets α = 0), then convolved_map_dataset_counts_statistics: with correlate_off the
 * OFF counts and the background α · n_off correlated like the ON counts, α their ratio; without, α = correlated
 * acceptance / acceptance_off and n_off as it is. Every map operation rounds to float32 as gammapy's maps do.
 */
function onOffStatistics(
  onOff: OnOffInput,
  mask: Float64Array,
  nOn: Float64Array,
  correlate: (img: Float64Array, out: Float64Array) => void,
  correlateOff: boolean,
  sigmas: { nSigma: number; nSigmaUl: number },
  out: {
    nBkg: Float64Array;
    nSig: Float64Array;
    err: Float64Array;
    ts: Float64Array;
    sqrtTs: Float64Array;
    errn?: Float64Array;
    errp?: Float64Array;
    ul?: Float64Array;
  },
): void {
  const npix = nOn.length;
  const offMasked = new Float64Array(npix);
  const bkgMasked = new Float64Array(npix);
  const accMasked = new Float64Array(npix);
  const accOffMasked = new Float64Array(npix);
  for (let p = 0; p < npix; p++) {
    const m = mask[p] as number;
    const acceptance = onOff.acceptance[p] as number;
    const countsOff = onOff.countsOff[p] as number;
    const alpha0 = nanToNum(f32(acceptance / (onOff.acceptanceOff[p] as number)));
    // resample_energy_axis: counts_off and acceptance weighted by the mask; acceptance_off from the background.
    const off = f32(countsOff * m);
    const acc = f32(acceptance * m);
    const accOff = f32(f32(acc * off) / f32(f32(alpha0 * countsOff) * m));
    const background = f32(nanToNum(f32(acc / accOff)) * off);
    offMasked[p] = f32(off * m);
    // background * mask, set to 0 where acceptance_off is 0 (a NaN acceptance_off is not 0)
    bkgMasked[p] = accOff === 0 ? 0 : f32(background * m);
    accMasked[p] = f32(acc * m);
    accOffMasked[p] = f32(accOff * m);
  }
  const nOff = new Float64Array(npix);
  const alpha = new Float64Array(npix);
  if (correlateOff) {
    correlate(offMasked, nOff);
    correlate(bkgMasked, alpha);
    for (let p = 0; p < npix; p++) {
      nOff[p] = f32(nOff[p] as number);
      alpha[p] = f32(f32(alpha[p] as number) / (nOff[p] as number));
    }
  } else {
    correlate(accMasked, alpha);
    for (let p = 0; p < npix; p++) {
      nOff[p] = offMasked[p] as number;
      alpha[p] = f32(f32(alpha[p] as number) / (accOffMasked[p] as number));
    }
  }
  const { nSigma, nSigmaUl } = sigmas;
  for (let p = 0; p < npix; p++) {
    const n = nOn[p] as number;
    const o = nOff[p] as number;
    const a = alpha[p] as number;
    const px = wstatPixel(n, o, a);
    // FluxMaps' npred_background: npred − npred_excess, float32
    out.nBkg[p] = f32(n - px.nSig);
    out.nSig[p] = px.nSig;
    out.err[p] = f32(px.error * nSigma);
    out.ts[p] = px.ts;
    out.sqrtTs[p] = px.sqrtTs;
    if (out.errn || out.errp) {
      const e = wstatErrors(n, o, a, px, nSigma);
      if (out.errn) out.errn[p] = e.errn;
      if (out.errp) out.errp[p] = e.errp;
    }
    if (out.ul) out.ul[p] = wstatUpperLimit(n, o, a, px, nSigmaUl);
  }
}

const NORM_SOURCES: [ExcessMapName, 'norm' | 'norm_err' | 'norm_errn' | 'norm_errp' | 'norm_ul'][] = [
  ['npred_excess', 'norm'],
  ['npred_excess_err', 'norm_err'],
  ['npred_excess_errn', 'norm_errn'],
  ['npred_excess_errp', 'norm_errp'],
  ['npred_excess_ul', 'norm_ul'],
];

/** norm* = npred_excess* / R_c, and flux/dnde/e2dnde/eflux* = norm* × the reference value of the bin. */
function addNormMaps(
  maps: ExcessMaps['maps'],
  g: number,
  npix: number,
  nBins: number,
  rc: Float64Array,
  ref: ReferenceBinValues,
  quantities: readonly FluxQuantity[],
): void {
  for (const [source, normName] of NORM_SOURCES) {
    const src = maps[source];
    if (!src) continue;
    const suffix = normName.slice('norm'.length);
    const mapFor = (name: ExcessMapName): Float64Array => {
      const existing = maps[name];
      if (existing) return existing;
      const created = new Float64Array(nBins * npix);
      maps[name] = created;
      return created;
    };
    // The norm map first, then each flux-like map from it: one plain loop per map (this runs once per process,
    // mostly before the JIT has compiled it, where a per-pixel iteration over the targets cost ~15 ms a build).
    const at = g * npix;
    const norm = mapFor(normName);
    for (let p = 0; p < npix; p++) norm[at + p] = (src[at + p] as number) / (rc[p] as number);
    for (const q of quantities) {
      const map = mapFor(`${q}${suffix}` as ExcessMapName);
      const scale = ref[q];
      for (let p = at; p < at + npix; p++) map[p] = (norm[p] as number) * scale;
    }
  }
}

type Validated =
  | { ok: true; groups: EnergyGroup[]; kTrue: Float64Array[] }
  | { ok: false; reason: ExcessMapFailureReason; message: string };

function validate(input: ExcessMapInput): Validated {
  const { nx, ny, nEnergy } = input;
  const fail = (reason: ExcessMapFailureReason, message: string): Validated => ({
    ok: false,
    reason,
    message,
  });
  for (const [name, v] of [
    ['nx', nx],
    ['ny', ny],
    ['nEnergy', nEnergy],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      return fail('bad-parameter', `${name} must be a positive integer, got ${v}`);
  }
  const npix = nx * ny;
  for (const [name, arr] of [
    ['counts', input.counts],
    ['background', input.background],
    ['maskSafe', input.maskSafe],
  ] as const) {
    if (arr !== undefined && arr.length !== nEnergy * npix)
      return fail(
        'shape-mismatch',
        `${name} has ${arr.length} values; expected nEnergy×ny×nx = ${nEnergy}×${ny}×${nx}`,
      );
  }
  if (input.onOff) {
    if (nEnergy !== 1)
      return fail(
        'bad-parameter',
        `an on-off dataset (ring background) has one reco energy bin, this one has ${nEnergy}`,
      );
    for (const [name, arr] of Object.entries(input.onOff) as [string, ArrayLike<number>][])
      if (arr.length !== npix)
        return fail('shape-mismatch', `${name} has ${arr.length} values; expected ny×nx = ${ny}×${nx}`);
  }
  if (input.energyEdgesReco.length !== nEnergy + 1)
    return fail(
      'shape-mismatch',
      `energyEdgesReco has ${input.energyEdgesReco.length} values; expected nEnergy + 1 = ${nEnergy + 1}`,
    );
  const radius = input.correlationRadiusDeg / input.binsizeDeg;
  if (!(input.binsizeDeg > 0) || !Number.isFinite(radius) || radius < 0) {
    return fail(
      'bad-parameter',
      `correlation radius ${input.correlationRadiusDeg}° and bin size ${input.binsizeDeg}° must be finite, radius ≥ 0, bin size > 0`,
    );
  }
  for (const [name, v] of [
    ['nSigma', input.nSigma ?? 1],
    ['nSigmaUl', input.nSigmaUl ?? 2],
  ] as const) {
    if (!(v > 0) || !Number.isFinite(v))
      return fail('bad-parameter', `${name} must be a positive number, got ${v}`);
  }
  const groups = groupEnergyBins(input.energyEdgesReco, input.energyEdges);
  if (!Array.isArray(groups)) return fail(groups.reason, groups.message);
  if (input.exposure === undefined) return { ok: true, groups, kTrue: [] };
  const edgesTrue = input.energyEdgesTrue;
  if (edgesTrue === undefined || edgesTrue.length < 2)
    return fail('bad-parameter', 'energyEdgesTrue (nTrue + 1 values) is required with exposure');
  const nTrue = edgesTrue.length - 1;
  if (input.nTrue !== undefined && input.nTrue !== nTrue)
    return fail(
      'shape-mismatch',
      `nTrue is ${input.nTrue} but energyEdgesTrue has ${edgesTrue.length} values`,
    );
  if (input.exposure.length !== nTrue * npix)
    return fail(
      'shape-mismatch',
      `exposure has ${input.exposure.length} values; expected nTrue×ny×nx = ${nTrue}×${ny}×${nx}`,
    );
  if (input.edispKernel === undefined) return fail('bad-parameter', 'edispKernel is required with exposure');
  const kTrue = edispPerGroup(input.edispKernel, nTrue, nEnergy, groups);
  if (!Array.isArray(kTrue)) return fail(kTrue.reason, kTrue.message);
  return { ok: true, groups, kTrue };
}

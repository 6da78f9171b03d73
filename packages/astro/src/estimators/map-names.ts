/**
 * The names of the excess-map estimator's maps (gammapy's), in a module of their own: the step modules the planner
 * imports declare their outputs from them, without loading the estimator.
 */

/** The flux-like maps derived from each norm map (norm × the reference spectrum's value in the bin). */
export const FLUX_QUANTITIES = ['flux', 'dnde', 'e2dnde', 'eflux'] as const;
export type FluxQuantity = (typeof FLUX_QUANTITIES)[number];

/** The norm and each flux quantity come with an error, asymmetric errors and an upper limit. */
const NORM_LIKE = ['norm', ...FLUX_QUANTITIES] as const;
const NORM_SUFFIXES = ['', '_err', '_errn', '_errp', '_ul'] as const;

/** Names of the output maps (gammapy's names). */
export type ExcessMapName =
  | 'npred'
  | 'counts'
  | 'npred_excess'
  | 'npred_background'
  | 'npred_excess_err'
  | 'ts'
  | 'sqrt_ts'
  | 'npred_excess_errn'
  | 'npred_excess_errp'
  | 'npred_excess_ul'
  | 'reco_exposure'
  | `${(typeof NORM_LIKE)[number]}${(typeof NORM_SUFFIXES)[number]}`;

/** Every map the estimator can make (counts is the dataset's). */
export const ESTIMATOR_MAP_NAMES: readonly ExcessMapName[] = [
  'npred',
  'npred_excess',
  'npred_background',
  'npred_excess_err',
  'npred_excess_errn',
  'npred_excess_errp',
  'npred_excess_ul',
  'ts',
  'sqrt_ts',
  'reco_exposure',
  ...NORM_LIKE.flatMap((q) => NORM_SUFFIXES.map((s) => `${q}${s}` as const)),
];

/**
 * The output names of the product-writing steps (products.ts writes them; the estimator's maps are named by
 * estimators/map-names.ts): in a module of their own, light, since
 * the step modules that declare them are imported by the planner.
 */
import { ESTIMATOR_MAP_NAMES, type ExcessMapName } from '../estimators/map-names.js';

/** The stacked dataset's own maps: written by step astro.stacked_maps (and by astro.excess_map when declared). */
export const DATASET_MAPS = ['counts', 'background', 'exposure', 'mask_safe'] as const;

/** Product file names (§11) → the estimator's map names. */
export const ESTIMATOR_PRODUCTS: Record<string, ExcessMapName> = {
  correlated_counts: 'npred',
  correlated_background: 'npred_background',
  excess: 'npred_excess',
  ts: 'ts',
  sqrt_ts: 'sqrt_ts',
  reco_exposure: 'reco_exposure',
};

/** Each map as a FITS product and as its quick-look (`<name>_png`). */
const withQuickLooks = (names: readonly string[]): string[] => names.flatMap((n) => [n, `${n}_png`]);

/** What astro.stacked_maps writes. */
export const STACKED_MAPS_OUTPUTS: readonly string[] = withQuickLooks(DATASET_MAPS);

/** What astro.excess_map writes: the stacked maps, the estimator's, and summary.json. */
export const EXCESS_MAP_OUTPUTS: readonly string[] = [
  ...withQuickLooks([
    ...new Set([...DATASET_MAPS, ...Object.keys(ESTIMATOR_PRODUCTS), ...ESTIMATOR_MAP_NAMES]),
  ]),
  'summary',
];

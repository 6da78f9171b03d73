/**
 * The `parameters` sections of a gammapy analysis config are keyword arguments of a gammapy class (SafeMaskMaker,
 * FoVBackgroundMaker, ExcessMapEstimator): gammapy raises a TypeError on a key the class does not take, so a typo
 * there is an error with its place, never a silent default.
 */
import { didYouMean } from '../fits/errors.js';

/** The keyword arguments gammapy 1.0's classes take from the config's `parameters`. */
export const MAKER_PARAMETERS = {
  SafeMaskMaker: ['aeff_percent', 'bias_percent', 'position', 'fixed_offset', 'offset_max'],
  FoVBackgroundMaker: ['method', 'spectral_model', 'min_counts', 'min_npred_background', 'fit'],
  // exclusion_mask comes from background.exclusion (a file), not from parameters.
  RingBackgroundMaker: ['r_in', 'width'],
  ExcessMapEstimator: ['selection_optional', 'n_sigma', 'n_sigma_ul', 'correlate_off', 'spectral_model'],
} as const;

/** Keyword arguments the config sets from a key of the section itself, not from its `parameters`. */
const OWN_KEYS: Partial<Record<keyof typeof MAKER_PARAMETERS, Record<string, string>>> = {
  ExcessMapEstimator: {
    correlation_radius: 'excess_map.correlation_radius',
    energy_edges: 'excess_map.energy_edges',
  },
};

/** The first key of `params` that the class does not take: its path under `path` and the message, or undefined. */
export function unknownParameter(
  params: Record<string, unknown>,
  maker: keyof typeof MAKER_PARAMETERS,
  path: string[],
): { path: string[]; message: string } | undefined {
  const known: readonly string[] = MAKER_PARAMETERS[maker];
  const bad = Object.keys(params).find((k) => !known.includes(k));
  if (bad === undefined) return undefined;
  // Keys the config gives the class from a key of its own section: under `parameters` gammapy passes them twice.
  const own = OWN_KEYS[maker]?.[bad];
  if (own)
    return {
      path: [...path, bad],
      message: `${maker} takes '${bad}' from ${own}, not from parameters (gammapy: "got multiple values for keyword argument '${bad}'"); write it as ${own}`,
    };
  const close = didYouMean(bad, known);
  return {
    path: [...path, bad],
    message: `${maker} has no parameter '${bad}'${close ? ` (did you mean '${close}'?)` : ''}; it takes ${known.join(', ')}`,
  };
}

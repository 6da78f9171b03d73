/**
 * Step `astro.stacked_maps`: the stacked dataset's own maps as products (science spec §11): counts, background,
 * exposure and mask_safe in gammapy's map format, and their quick-look PNGs. They depend on the stacked dataset
 * only, so a target of their own keeps them up to date when an excess-map setting (e.g. the correlation radius)
 * changes, and writes them on one core while the estimator runs on another.
 */
import type { StepDefinition } from '@pipe/core';
import { STACKED_MAPS_OUTPUTS } from './product-names.js';

export type Params = Record<string, never>;

const step: StepDefinition<Params> = {
  name: 'astro.stacked_maps',
  version: '1',
  outputs: { required: [], optional: STACKED_MAPS_OUTPUTS },
  validateParams(p) {
    const keys = Object.keys(p ?? {});
    if (keys.length > 0)
      return {
        ok: false,
        issues: keys.map((k) => ({ path: [k], message: `astro.stacked_maps takes no parameter ('${k}')` })),
      };
    return { ok: true, value: {} };
  },
  warm: () => import('./stacked-maps-run.js'),
  run: async (ctx) => (await import('./stacked-maps-run.js')).run(ctx),
};

export default step;

/**
 * The domain's steps and config schema, registered by name with the engine's registry (the CLI calls this).
 * Steps are registered by module path, since the engine imports them inside worker threads.
 */
import { fileURLToPath } from 'node:url';
import type { StepRegistry } from '@pipe/core';

/** The package's steps by name, each a module next to this one (bundle.mjs bundles the same list). */
export const STEPS: Record<string, string> = {
  'astro.select_observations': './select-observations.js',
  'astro.reduce_observation': './reduce-observation.js',
  'astro.stack_datasets': './stack-datasets.js',
  'astro.stacked_maps': './stacked-maps.js',
  'astro.excess_map': './excess-map.js',
};

export function registerSteps(registry: StepRegistry): void {
  for (const [name, rel] of Object.entries(STEPS))
    registry.register(name, fileURLToPath(new URL(rel, import.meta.url)));
  registry.registerConfigSchema(
    'gammapy.analysis',
    fileURLToPath(new URL('../config/gammapy-schema.js', import.meta.url)),
  );
}

/**
 * Step `astro.reduce_observation`: one run → its map dataset (counts, exposure, background, PSF and EDISP maps,
 * safe mask, FoV background norm or ring background), per the `datasets` section of a gammapy config. One task per run.
 */

import type { StepDefinition } from '@pipe/core';
import type { AnalysisConfig } from '../config/index.js';
import {
  isReductionConfigIssue,
  reductionConfigFromConfig,
  reductionGeometryFromConfig,
} from '../makers/from-config.js';
import { sectionParams } from './analysis-params.js';
import { canonicalDatasets } from './geometry.js';
import { warmRunModule } from './warm.js';

/**
 * `datasets`: the gammapy config section. `center: pointing` (a pipe extension, for surveys and per-run
 * products) centres each run's map on its own pointing instead of `datasets.geom.wcs.skydir`.
 */
export type Params = { datasets: AnalysisConfig['datasets']; center?: 'pointing' };

const step: StepDefinition<Params> = {
  name: 'astro.reduce_observation',
  version: '1',
  outputs: { required: ['dataset'] },
  kernels: [
    'binEvents',
    'evalAeffMap',
    'evalBkgMap',
    'evalPsfMap',
    'evalEdispKernelMap',
    'pixelFovCoords',
    'sampleNearest',
    'correlateDisk', // the ring background's OFF sums
  ],
  validateParams(p) {
    const { center, ...section } = (p ?? {}) as Record<string, unknown>;
    // Reported with the datasets section's problems, not alone: every problem of the params at once.
    const centerIssues =
      center !== undefined && center !== 'pointing'
        ? [
            {
              path: ['center'],
              message: `center must be 'pointing' (or left out to use datasets.geom.wcs.skydir), got ${JSON.stringify(center)}`,
            },
          ]
        : [];
    if (center !== undefined) {
      // The map centre comes from each run; give the config reader one so its 3D checks pass.
      type Loose = {
        geom?: { wcs?: { skydir?: unknown } & Record<string, unknown> } & Record<string, unknown>;
      };
      const ds = (section['datasets'] ?? {}) as Loose & Record<string, unknown>;
      section['datasets'] = {
        ...ds,
        geom: {
          ...ds.geom,
          wcs: {
            ...ds.geom?.wcs,
            skydir: ds.geom?.wcs?.skydir ?? { frame: 'icrs', lon: '0 deg', lat: '0 deg' },
          },
        },
      };
    }
    const checked = sectionParams(section, 'datasets', canonicalDatasets);
    if (!checked.ok) return { ok: false, issues: [...centerIssues, ...checked.issues] };
    const ds = checked.value.datasets;
    // What the reduction cannot use is a config error at load time, with its place (the makers' own readers).
    const config = reductionConfigFromConfig(ds);
    const geometry = reductionGeometryFromConfig(ds);
    const readerIssues = [config, geometry].filter(isReductionConfigIssue).map((issue) => ({
      path: issue.path,
      message: issue.message,
      ...(issue.hint ? { hint: issue.hint } : {}),
    }));
    if (readerIssues.length > 0 || centerIssues.length > 0)
      return { ok: false, issues: [...centerIssues, ...readerIssues] };
    return center === 'pointing' ? { ok: true, value: { ...checked.value, center: 'pointing' } } : checked;
  },
  warm: () => warmRunModule(import('./reduce-observation-run.js')),
  run: async (ctx) => (await import('./reduce-observation-run.js')).run(ctx),
};

export default step;

/** What step `astro.stacked_maps` (stacked-maps.ts) runs: the stacked dataset's maps, written as products. */
import type { StepContext, StepResult } from '@pipe/core';
import { isDatasetReadFailure, readDataset } from '../makers/index.js';
import { pixelToSky } from '../wcs/index.js';
import { writeProductMaps } from './products.js';
import type { Params } from './stacked-maps.js';

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  const files = ctx.inputs['stacked'] ?? [];
  // One dataset: the maps of several (a target over per-run datasets) would silently be the first one's.
  if (files.length !== 1)
    throw new Error(
      `input 'stacked' is one stacked dataset, got ${files.length} files${files.length ? ` (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''})` : ''}`,
    );
  const stackedFile = files[0]!;
  const ds = readDataset(stackedFile);
  if (isDatasetReadFailure(ds)) throw new Error(ds.message);
  const toSky = (x: number, y: number) => {
    const [lon, lat] = pixelToSky(ds.geom.wcs, x, y);
    return { lon, lat };
  };
  await writeProductMaps(ctx.outputs, ds, undefined, toSky);
  return {};
}

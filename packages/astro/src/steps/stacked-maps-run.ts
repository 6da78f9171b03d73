/** What step `astro.stacked_maps` (stacked-maps.ts) runs: the stacked dataset's maps, written as products. */
import type { StepContext, StepResult } from '@pipe/core';
import { isDatasetReadFailure, readDataset } from '../makers/index.js';
import { pixelToSky } from '../wcs/index.js';
import { writeProductMaps } from './products.js';
import type { Params } from './stacked-maps.js';

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  const stackedFile = ctx.inputs['stacked']?.[0];
  if (!stackedFile) throw new Error("input 'stacked' (the stacked dataset) is missing");
  const ds = readDataset(stackedFile);
  if (isDatasetReadFailure(ds)) throw new Error(ds.message);
  const toSky = (x: number, y: number) => {
    const [lon, lat] = pixelToSky(ds.geom.wcs, x, y);
    return { lon, lat };
  };
  await writeProductMaps(ctx.outputs, ds, undefined, toSky);
  return {};
}

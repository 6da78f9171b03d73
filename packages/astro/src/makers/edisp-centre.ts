/**
 * The edisp kernel the excess/flux estimator uses (science spec §7.1, §7.5): K[t][k] at the IRF pixel nearest the
 * IRF grid's centre (floor of ((n − 1)/2), so IRF pixel (4, 4) for a 10×10 grid whose centre is a corner),
 * weighted per reco bin by the dataset's mask_safe sampled on the IRF grid.
 */
import type { Kernels } from '@pipe/kernels';
import { nbins } from '../geom/energy-axis.js';
import { npix } from '../geom/wcs-geom.js';
import { wcsKernelParams } from '../wcs/kernel-params.js';
import type { MapDataset } from './dataset.js';

/** K[t][k] (nTrue × nReco, row t) at the IRF pixel nearest the map centre, or undefined without an EDISP map. */
export function edispKernelAtMapCentre(
  ds: MapDataset,
  kernels: Kernels,
): { matrix: Float64Array; pixel: [number, number] } | undefined {
  if (!ds.edisp) return undefined;
  const ig = ds.irfGeom;
  const [x, y] = gridCentrePixel(ig);
  const nT = nbins(ds.energyTrue);
  const nK = nbins(ds.energy);
  const ni = npix(ig);
  const w = new Uint8Array(nK * ni);
  kernels.sampleNearest(
    wcsKernelParams(ig.wcs),
    ig.nx,
    ig.ny,
    wcsKernelParams(ds.geom.wcs),
    ds.geom.nx,
    ds.geom.ny,
    ds.maskSafe,
    nK,
    0,
    new Float64Array(2 * ig.nx + 3),
    w,
  );
  const p = y * ig.nx + x;
  const matrix = new Float64Array(nT * nK);
  for (let t = 0; t < nT; t++)
    for (let k = 0; k < nK; k++)
      matrix[t * nK + k] = w[k * ni + p] ? (ds.edisp.data[(t * nK + k) * ni + p] as number) : 0;
  return { matrix, pixel: [x, y] };
}

/**
 * The IRF pixel gammapy reads the kernel at: centre_skydir is the grid's central fractional pixel ((n − 1)/2), and
 * its nearest-pixel lookup (scipy's RegularGridInterpolator, method "nearest") sends an exact tie to the lower pixel:
 * 9 for a 20-pixel axis, where half-even rounding would give 10.
 */
export function gridCentrePixel(ig: { nx: number; ny: number }): [number, number] {
  return [Math.floor((ig.nx - 1) / 2), Math.floor((ig.ny - 1) / 2)];
}

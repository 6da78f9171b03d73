/** The WCS parameter block the kernels take (layout documented in @pipe/kernels reference/sky.ts). */
import {
  PROJECTION_CAR,
  PROJECTION_TAN,
  WCS_CDELT1,
  WCS_CDELT2,
  WCS_PARAMS_LENGTH,
  WCS_PROJECTION,
  WCS_ROTATION,
  WCS_X0,
  WCS_Y0,
} from '@pipe/kernels/scalars';
import { isMapProjection, type Wcs } from './wcs.js';

/** Packs a WCS into the Float64Array every kernel that projects sky positions takes. */
export function wcsKernelParams(wcs: Wcs): Float64Array {
  if (!isMapProjection(wcs.projection))
    throw new Error(`the kernels project CAR and TAN grids only, not ${wcs.projection}`);
  const p = new Float64Array(WCS_PARAMS_LENGTH);
  p[WCS_PROJECTION] = wcs.projection === 'CAR' ? PROJECTION_CAR : PROJECTION_TAN;
  p[WCS_X0] = wcs.crpix[0] - 1;
  p[WCS_Y0] = wcs.crpix[1] - 1;
  p[WCS_CDELT1] = wcs.cdelt[0];
  p[WCS_CDELT2] = wcs.cdelt[1];
  p.set(wcs.icrsToNative, WCS_ROTATION);
  return p;
}

/** Map geometry: WCS grids, energy axes, per-run cutouts, rounding. */

export { angularSeparation as separation } from '../wcs/frames.js';
export { type Cutout, type CutoutFailure, cutoutAround, isCutoutFailure } from './cutout.js';
export {
  type EnergyAxis,
  type EnergyAxisFailure,
  isEnergyAxisFailure,
  logCentres,
  logEdges,
  logEnergyAxis,
  nbins,
} from './energy-axis.js';
export { roundHalfEven } from './rounding.js';
export {
  centrePixel,
  createWcsGeom,
  type GeomFailure,
  geomSolidAngles,
  irfGeom,
  isGeomFailure,
  npix,
  pixelCentresIcrs,
  type WcsGeom,
  type WcsGeomSpec,
} from './wcs-geom.js';

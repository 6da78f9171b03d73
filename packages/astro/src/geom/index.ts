/** Map geometry: WCS grids, energy axes, per-run cutouts, rounding. */
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
  type GeomFailure,
  type WcsGeom,
  type WcsGeomSpec,
  centrePixel,
  createWcsGeom,
  geomSolidAngles,
  irfGeom,
  isGeomFailure,
  npix,
  pixelCentresIcrs,
} from './wcs-geom.js';
export { angularSeparation as separation } from '../wcs/frames.js';

/** World coordinates: CAR and TAN projections, ICRS and Galactic frames, header cards, pixel solid angles. */
export {
  type Mat3,
  type SkyFrame,
  angularSeparation,
  apply,
  convertFrame,
  icrsToFrameMatrix,
  lonLat,
  matMul,
  offsetFrameMatrix,
  transpose,
  unitVector,
} from './frames.js';
export {
  type HeaderLookup,
  type WcsHeaderFailure,
  ctypes,
  isWcsFailure,
  parseWcsHeader,
  recordHeader,
  wcsHeaderCards,
} from './header.js';
export { wcsKernelParams } from './kernel-params.js';
export { carRowSolidAngle, cornerSolidAngle, pixelSolidAngles } from './solid-angle.js';
export {
  type Projection,
  type Wcs,
  type WcsSpec,
  createWcs,
  defaultLatpole,
  defaultLonpole,
  icrsToPixel,
  nativeToPixel,
  pixelToIcrs,
  pixelToNative,
  pixelToSky,
  skyToPixel,
} from './wcs.js';

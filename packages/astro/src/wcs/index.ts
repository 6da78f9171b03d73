/** World coordinates: CAR and TAN projections, ICRS and Galactic frames, header cards, pixel solid angles. */
export {
  angularSeparation,
  apply,
  convertFrame,
  icrsToFrameMatrix,
  lonLat,
  type Mat3,
  matMul,
  offsetFrameMatrix,
  type SkyFrame,
  transpose,
  unitVector,
} from './frames.js';
export {
  ctypes,
  type HeaderLookup,
  isWcsFailure,
  parseWcsHeader,
  recordHeader,
  type WcsHeaderFailure,
  wcsHeaderCards,
} from './header.js';
export { wcsKernelParams } from './kernel-params.js';
export { carRowSolidAngle, pixelSolidAngles } from './solid-angle.js';
export {
  createWcs,
  defaultLatpole,
  defaultLonpole,
  icrsToPixel,
  nativeToPixel,
  type Projection,
  pixelToIcrs,
  pixelToNative,
  pixelToSky,
  skyToPixel,
  type Wcs,
  type WcsSpec,
} from './wcs.js';

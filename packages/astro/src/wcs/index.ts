/**
 * World coordinates: CAR and TAN projections (maps), the zenithal and θ0 = 0 projections of Calabretta & Greisen
 * 2002 (images read from files), ICRS and Galactic frames, header cards, pixel solid angles.
 */
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
  SUPPORTED_PROJECTIONS,
  type WcsHeaderFailure,
  wcsHeaderCards,
} from './header.js';
export { altAz, altAzFovCoords, type Epoch, type Site } from './horizontal.js';
export { wcsKernelParams } from './kernel-params.js';
export { carRowSolidAngle, pixelSolidAngles } from './solid-angle.js';
export {
  createWcs,
  defaultLatpole,
  defaultLonpole,
  gridToPixels,
  icrsToPixel,
  isMapProjection,
  isZenithal,
  nativeToPixel,
  type Projection,
  pixelToIcrs,
  pixelToNative,
  pixelToSky,
  type SkyProjection,
  skyToPixel,
  type Wcs,
  type WcsSpec,
} from './wcs.js';

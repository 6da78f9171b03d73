// Scalar helpers and constants of the kernels' conventions that step declarations use on the engine's main thread
// (half-to-even rounding, the WCS parameter block's layout, float32's smallest normal): a separate entry
// (`@pipe/kernels/scalars`) so that importing them does not load the kernels and their WASM and native wrappers.
export { cellIndex, cellWeight, FLOAT32_TINY } from './reference/interp.js';
export {
  PROJECTION_CAR,
  PROJECTION_TAN,
  rint,
  WCS_CDELT1,
  WCS_CDELT2,
  WCS_PARAMS_LENGTH,
  WCS_PROJECTION,
  WCS_ROTATION,
  WCS_X0,
  WCS_Y0,
} from './reference/sky.js';

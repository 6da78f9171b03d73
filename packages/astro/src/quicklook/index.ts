/** Quick-look PNG images of 2D maps (colour map, colour bar, sky axes, title). */

export { type EdgeTick, formatTick, niceStep, niceTicks, skyEdgeTicks } from './axes.js';
export { type ColormapName, colormapRgb, isDiverging } from './colormaps.js';
export { Raster } from './raster.js';
export {
  type MapImageLayout,
  type MapImageOptions,
  NAN_GREY,
  renderMapImage,
  renderMapPng,
  renderMapPngAsync,
} from './render-map.js';

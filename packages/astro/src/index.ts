/**
 * @pipe/astro — the gamma-ray domain library: FITS I/O, WCS and map geometry, the DL3 data store and IRFs,
 * makers and estimators as plain functions over typed arrays, quick-look images, product comparison, and
 * the pipeline steps that expose them to the engine. No engine code lives here.
 */

export * from './compare/index.js';
export * from './config/index.js';
export * from './dl3/index.js';
export * from './estimators/index.js';
export * from './fits/index.js';
export * from './geom/index.js';
export * from './irf/index.js';
export * from './makers/index.js';
export * from './quicklook/index.js';
export * from './steps/index.js';
export * from './wcs/index.js';

/** IRF table readers (AEFF_2D, EDISP_2D, PSF_TABLE, PSF_3GAUSS, PSF_KING, BKG_2D, BKG_3D, RAD_MAX_2D) and units. */
export {
  AXIS_SPEC,
  type AxisInterp,
  centresFromEdges,
  edgesFromNodes,
  type IrfAxis,
  type IrfAxisName,
  readAxis,
} from './axes.js';
export { type CellLayout, cellToAxisOrder } from './layout.js';
export {
  type IrfArray,
  type IrfClass,
  type IrfTable,
  irfClassOf,
  irfValue,
  readIrf,
  readIrfHdu,
} from './read.js';
export { LIBRARY_UNIT, type Quantity, requireUnitFactor, unitFactor } from './units.js';

/** FITS I/O: reading (images, binary tables, gzip) and writing (images, binary tables, gammapy maps). */

export { type NumericArray, type NumericKind, toFloat64 } from './bigendian.js';
export { BinTable, type CellValue } from './bintable.js';
export { type CardInput, encodeHeader, formatCard } from './cards.js';
export type {
  BitColumn,
  ColumnInfo,
  ComplexColumn,
  FitsColumn,
  LogicalColumn,
  NumericColumn,
  StringColumn,
  VarColumn,
} from './columns.js';
export {
  catchFits,
  catchFitsAsync,
  didYouMean,
  FitsError,
  type FitsErrorReason,
  type FitsLocation,
  type FitsResult,
  formatLocation,
} from './errors.js';
export {
  FitsFile,
  Hdu,
  type HduKind,
  type ParseOptions,
  parseFits,
  readFits,
  readFitsHeaders,
  readFitsSync,
} from './file.js';
export { type FitsCard, FitsHeader, type FitsValue, numericValue } from './header.js';
export type { FitsImage } from './image.js';
export {
  type MapAxisSpec,
  type MapFitsContent,
  type MapFitsSpec,
  mapHdus,
  readMapFits,
  writeMapFits,
  writeMapFitsAsync,
} from './map.js';
export { isGzip, loadFileBytesWhole } from './source.js';
export {
  emptyPrimary,
  encodeFits,
  gzipFits,
  gzipFitsAsync,
  type HduSpec,
  type ImageHduSpec,
  type TableHduSpec,
  type WriteFileOptions,
  type WriteFitsOptions,
  writeFileAtomic,
  writeFits,
  writeFitsAsync,
} from './write.js';
export type { TableColumnSpec, WritableFormat } from './write-table.js';

/** FITS I/O: reading (images, binary tables, gzip) and writing (images, binary tables, gammapy maps). */
export { FitsError, type FitsErrorReason, type FitsLocation, type FitsResult, catchFits, catchFitsAsync, didYouMean, formatLocation } from './errors.js';
export { FitsHeader, type FitsCard, type FitsValue } from './header.js';
export { type NumericArray, type NumericKind, toFloat64 } from './bigendian.js';
export type { FitsImage } from './image.js';
export { BinTable, type CellValue } from './bintable.js';
export type { BitColumn, ColumnInfo, ComplexColumn, FitsColumn, LogicalColumn, NumericColumn, StringColumn, VarColumn } from './columns.js';
export { FitsFile, Hdu, type HduKind, parseFits, readFits, readFitsHeaders, readFitsSync } from './file.js';
export { isGzip } from './source.js';
export { type CardInput, encodeHeader, formatCard } from './cards.js';
export { type HduSpec, type ImageHduSpec, type TableHduSpec, type WriteFitsOptions, emptyPrimary, encodeFits, writeFileAtomic, writeFits } from './write.js';
export type { TableColumnSpec, WritableFormat } from './write-table.js';
export { type MapAxisSpec, type MapFitsContent, type MapFitsSpec, mapHdus, readMapFits, writeMapFits } from './map.js';

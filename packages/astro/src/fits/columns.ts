/**
 * Decoding of one BINTABLE column from the table bytes: fixed-width numeric, logical, bit, string and
 * complex columns, TSCAL/TZERO (with the unsigned-integer convention), TNULL, and P/Q variable-length arrays
 * from the heap.
 */
import {
  KIND_WIDTH,
  type NumericArray,
  type NumericKind,
  readBigEndian,
  swapInPlace,
  toFloat64,
  viewAs,
} from './bigendian.js';
import { FitsError, type FitsLocation } from './errors.js';
import { CODE_KIND, elementBytes, type TForm } from './tform.js';

/** What the header says about a column. */
export interface ColumnInfo {
  name: string;
  /** 1-based column number (the n of TTYPEn). */
  number: number;
  tform: string;
  form: TForm;
  /** Byte offset of the column within a row. */
  offset: number;
  unit?: string;
  /** TDIM in FITS order (fastest first), when present. */
  tdim?: number[];
  tscal?: number;
  tzero?: number | bigint;
  tnull?: number | bigint;
}

interface ColumnBase {
  info: ColumnInfo;
  name: string;
  unit: string | undefined;
  /** Elements per row (for strings: characters per row). */
  repeat: number;
  /** TDIM in FITS order, or undefined. */
  tdim: number[] | undefined;
  /** Shape of one cell in C order (slowest first), [] for a scalar cell. */
  cellShape: number[];
  rows: number;
}

/** A numeric column: `data` holds rows × repeat values, row after row, each cell in file order. */
export interface NumericColumn extends ColumnBase {
  kind: 'numeric';
  data: NumericArray;
  /** TNULL of an unscaled integer column. */
  nullValue?: number | bigint;
}
/** A logical column: 1 = T, 0 = F or undefined. */
export interface LogicalColumn extends ColumnBase {
  kind: 'logical';
  data: Uint8Array;
}
/** An X (bit) column, unpacked: one byte (0 or 1) per bit. */
export interface BitColumn extends ColumnBase {
  kind: 'bits';
  data: Uint8Array;
}
/** A string column: one string per row (or per TDIM sub-string), trailing blanks and NULs removed. */
export interface StringColumn extends ColumnBase {
  kind: 'string';
  data: string[];
  /** Strings per row (1 unless TDIM splits the field). */
  stringsPerRow: number;
}
/** A complex column: interleaved (re, im) pairs. */
export interface ComplexColumn extends ColumnBase {
  kind: 'complex';
  data: Float32Array | Float64Array;
}
/** A P/Q variable-length-array column: one array (or string) per row. */
export interface VarColumn extends ColumnBase {
  kind: 'varlen';
  cells: (NumericArray | string)[];
}

export type FitsColumn = NumericColumn | LogicalColumn | BitColumn | StringColumn | ComplexColumn | VarColumn;

const latin1 = new TextDecoder('latin1');
const UNSIGNED: Record<string, { kind: NumericKind; zero: bigint }> = {
  B: { kind: 'i8', zero: -128n },
  I: { kind: 'u16', zero: 32768n },
  J: { kind: 'u32', zero: 2147483648n },
  K: { kind: 'u64', zero: 9223372036854775808n },
};

/** Copies the column's bytes out of every row into one contiguous buffer. */
function gather(
  table: Uint8Array,
  rowBytes: number,
  rows: number,
  offset: number,
  width: number,
): Uint8Array {
  const out = new Uint8Array(rows * width);
  if (width > 32) {
    for (let r = 0; r < rows; r++) {
      const start = r * rowBytes + offset;
      out.set(table.subarray(start, start + width), r * width);
    }
    return out;
  }
  // Narrow cells (an event list's 4- and 8-byte columns): byte by byte. A subarray per row cost more than the copy
  // (an object to allocate and collect for every event).
  for (let r = 0, s = offset, d = 0; r < rows; r++, s += rowBytes)
    for (let b = 0; b < width; b++) out[d++] = table[s + b] as number;
  return out;
}

/** Decodes one column. `table` is the HDU data (main table then heap). */
export function decodeColumn(
  info: ColumnInfo,
  table: Uint8Array,
  rowBytes: number,
  rows: number,
  heapOffset: number,
  where: FitsLocation,
): FitsColumn {
  const { form } = info;
  const cellShape = info.tdim ? [...info.tdim].reverse() : form.repeat === 1 ? [] : [form.repeat];
  const base: ColumnBase = {
    info,
    name: info.name,
    unit: info.unit,
    repeat: form.repeat,
    tdim: info.tdim,
    cellShape,
    rows,
  };
  const bytes = gather(table, rowBytes, rows, info.offset, form.width);
  const count = rows * form.repeat;
  switch (form.code) {
    case 'L':
      return { ...base, kind: 'logical', data: bytes.map((b) => (b === 0x54 ? 1 : 0)) };
    case 'X': {
      const bits = new Uint8Array(count);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < form.repeat; k++) {
          bits[r * form.repeat + k] = ((bytes[r * form.width + (k >> 3)] as number) >> (7 - (k & 7))) & 1;
        }
      }
      return { ...base, kind: 'bits', data: bits };
    }
    case 'A': {
      const width = info.tdim && info.tdim.length > 1 ? (info.tdim[0] as number) : form.repeat;
      const perRow = width === 0 ? 0 : Math.floor(form.repeat / width);
      const data: string[] = [];
      for (let r = 0; r < rows; r++) {
        for (let s = 0; s < perRow; s++) {
          const start = r * form.width + s * width;
          data.push(cleanString(bytes.subarray(start, start + width)));
        }
      }
      return {
        ...base,
        kind: 'string',
        data,
        stringsPerRow: perRow,
        cellShape: perRow === 1 ? [] : cellShape.slice(0, -1),
      };
    }
    case 'C':
    case 'M': {
      const kind = form.code === 'C' ? 'f32' : 'f64';
      swapInPlace(bytes, KIND_WIDTH[kind]);
      return {
        ...base,
        kind: 'complex',
        data: viewAs(bytes, count * 2, kind) as Float32Array | Float64Array,
      };
    }
    case 'P':
    case 'Q':
      return { ...base, kind: 'varlen', cells: decodeHeapCells(info, bytes, rows, table, heapOffset, where) };
    default:
      return decodeNumeric(base, info, bytes, count, where);
  }
}

function cleanString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return latin1.decode(nul >= 0 ? b.subarray(0, nul) : b).trimEnd();
}

function decodeNumeric(
  base: ColumnBase,
  info: ColumnInfo,
  bytes: Uint8Array,
  count: number,
  where: FitsLocation,
): NumericColumn {
  const code = info.form.code;
  const kind = CODE_KIND[code];
  if (kind === undefined)
    throw new FitsError('unsupported-tform', where, `TFORM '${info.tform}' is not supported`);
  const width = KIND_WIDTH[kind];
  const tscal = info.tscal ?? 1;
  const tzero = info.tzero ?? 0;
  const unsigned = UNSIGNED[code];
  if (tscal === 1 && unsigned !== undefined && BigInt(tzero) === unsigned.zero) {
    for (let i = 0; i < bytes.length; i += width) bytes[i] = (bytes[i] as number) ^ 0x80;
    swapInPlace(bytes, width);
    return { ...base, kind: 'numeric', data: viewAs(bytes, count, unsigned.kind) };
  }
  swapInPlace(bytes, width);
  const native = viewAs(bytes, count, kind);
  if (tscal === 1 && Number(tzero) === 0) {
    const col: NumericColumn = { ...base, kind: 'numeric', data: native };
    if (info.tnull !== undefined && code !== 'E' && code !== 'D') col.nullValue = info.tnull;
    return col;
  }
  const f = toFloat64(native);
  const out = f === native ? new Float64Array(f) : f;
  const isInt = code !== 'E' && code !== 'D';
  const tnull = isInt && info.tnull !== undefined ? Number(info.tnull) : undefined;
  const zero = Number(tzero);
  for (let i = 0; i < out.length; i++) {
    const v = out[i] as number;
    out[i] = tnull !== undefined && v === tnull ? Number.NaN : v * tscal + zero;
  }
  return { ...base, kind: 'numeric', data: out };
}

function decodeHeapCells(
  info: ColumnInfo,
  descriptors: Uint8Array,
  rows: number,
  table: Uint8Array,
  heapOffset: number,
  where: FitsLocation,
): (NumericArray | string)[] {
  const { form } = info;
  const element = form.elementCode as string;
  const kind: NumericKind | undefined = element === 'L' || element === 'B' ? 'u8' : CODE_KIND[element];
  if (element !== 'A' && kind === undefined) {
    throw new FitsError(
      'unsupported-tform',
      where,
      `variable-length arrays of type '${element}' (TFORM '${info.tform}') are not supported`,
    );
  }
  const view = new DataView(descriptors.buffer, descriptors.byteOffset, descriptors.byteLength);
  const size = elementBytes(element) as number;
  const cells: (NumericArray | string)[] = [];
  for (let r = 0; r < rows; r++) {
    const at = r * form.width;
    const n = form.code === 'P' ? view.getInt32(at) : Number(view.getBigInt64(at));
    const off = form.code === 'P' ? view.getInt32(at + 4) : Number(view.getBigInt64(at + 8));
    const start = heapOffset + off;
    if (start + n * size > table.length) {
      throw new FitsError(
        'data-too-short',
        where,
        `row ${r}: variable-length array runs past the end of the heap`,
      );
    }
    if (element === 'A') cells.push(cleanString(table.subarray(start, start + n)));
    else if (element === 'L') cells.push(table.slice(start, start + n).map((v) => (v === 0x54 ? 1 : 0)));
    else cells.push(readBigEndian(table, start, n, kind as NumericKind));
  }
  return cells;
}

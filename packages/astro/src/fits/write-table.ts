/**
 * Encoding of BINTABLE data: scalar and vector columns of the common types (L, B, I, J, K, E, D, A), with TDIM,
 * TUNIT, and the unsigned-integer convention for Uint16Array/Uint32Array columns.
 */
import { type NumericArray, toBigEndian } from './bigendian.js';
import type { CardInput } from './cards.js';
import { FitsError, type FitsLocation } from './errors.js';

export type WritableFormat = 'L' | 'B' | 'I' | 'J' | 'K' | 'E' | 'D' | 'A';

/**
 * A column to write. `data` holds rows × repeat values, row after row. Numbers in a plain array are converted
 * to `format` (default D); typed arrays choose the format themselves.
 */
export interface TableColumnSpec {
  name: string;
  data: NumericArray | number[] | string[] | boolean[];
  format?: WritableFormat;
  /** Elements per row; deduced from the table's row count (or TDIM) when absent. */
  repeat?: number;
  unit?: string;
  /** TDIM in FITS order (fastest first). */
  tdim?: number[];
  /** Fixed string width for 'A' columns (default: the longest value, at least 1). */
  width?: number;
  /** Further column cards, e.g. {key: 'TNULL3', value: -1}. */
  cards?: CardInput[];
}

interface Encoded {
  rowBytes: number;
  rows: number;
  bytes: Uint8Array;
  columnCards: CardInput[];
}

const WIDTH: Record<WritableFormat, number> = { L: 1, B: 1, I: 2, J: 4, K: 8, E: 4, D: 8, A: 1 };

function formatOf(
  data: TableColumnSpec['data'],
  given: WritableFormat | undefined,
): { format: WritableFormat; tzero?: number } {
  if (data instanceof Float32Array) return { format: 'E' };
  if (data instanceof Float64Array) return { format: 'D' };
  if (data instanceof Int16Array) return { format: 'I' };
  if (data instanceof Uint16Array) return { format: 'I', tzero: 32768 };
  if (data instanceof Int32Array) return { format: 'J' };
  if (data instanceof Uint32Array) return { format: 'J', tzero: 2147483648 };
  if (data instanceof BigInt64Array) return { format: 'K' };
  if (data instanceof Uint8Array) return { format: given === 'L' ? 'L' : 'B' };
  if (Array.isArray(data) && typeof data[0] === 'string') return { format: 'A' };
  if (Array.isArray(data) && typeof data[0] === 'boolean') return { format: 'L' };
  return { format: given ?? 'D' };
}

/** Big-endian bytes of numeric column data in the given format. */
function numericBytes(
  data: TableColumnSpec['data'],
  format: WritableFormat,
  tzero: number | undefined,
): Uint8Array {
  let typed: NumericArray;
  if (ArrayBuffer.isView(data)) typed = data as NumericArray;
  else {
    const nums = (data as unknown[]).map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : Number(v)));
    typed =
      format === 'E'
        ? Float32Array.from(nums)
        : format === 'I'
          ? Int16Array.from(nums)
          : format === 'J'
            ? Int32Array.from(nums)
            : format === 'K'
              ? BigInt64Array.from(nums.map((n) => BigInt(Math.trunc(n))))
              : format === 'B'
                ? Uint8Array.from(nums)
                : Float64Array.from(nums);
  }
  const bytes = toBigEndian(typed);
  if (tzero !== undefined)
    for (let i = 0; i < bytes.length; i += typed.BYTES_PER_ELEMENT) bytes[i] = (bytes[i] as number) ^ 0x80;
  return bytes;
}

/** Encodes the columns into row-major table bytes plus their TTYPE/TFORM/TUNIT/TDIM cards. */
export function encodeTable(
  columns: readonly TableColumnSpec[],
  rowsGiven: number | undefined,
  where: FitsLocation,
): Encoded {
  const first = columns[0];
  const firstRepeat = first?.repeat ?? (first?.tdim ? first.tdim.reduce((a, b) => a * b, 1) : 1);
  const rows =
    rowsGiven ?? (first ? first.data.length / (typeof first.data[0] === 'string' ? 1 : firstRepeat) : 0);
  const prepared = columns.map((c, i) => {
    const at = { ...where, column: c.name };
    const { format, tzero } = formatOf(c.data, c.format);
    const cards: CardInput[] = [{ key: `TTYPE${i + 1}`, value: c.name }];
    if (format === 'A') {
      const strings = c.data as string[];
      if (strings.length !== rows)
        throw new FitsError('write-failed', at, `has ${strings.length} strings for ${rows} rows`);
      const width = c.width ?? Math.max(1, ...strings.map((s) => s.length));
      const bytes = new Uint8Array(rows * width).fill(0x20);
      strings.forEach((s, r) => {
        for (let k = 0; k < Math.min(width, s.length); k++) bytes[r * width + k] = s.charCodeAt(k) & 0xff;
      });
      cards.push({ key: `TFORM${i + 1}`, value: `${width}A` });
      return { cards, bytes, width, extra: c };
    }
    const repeat =
      c.repeat ?? (c.tdim ? c.tdim.reduce((a, b) => a * b, 1) : rows === 0 ? 1 : c.data.length / rows);
    if (!Number.isInteger(repeat) || c.data.length !== rows * repeat) {
      throw new FitsError(
        'write-failed',
        at,
        `has ${c.data.length} values, not a multiple ${repeat} of ${rows} rows`,
      );
    }
    const bytes = format === 'L' ? logicalBytes(c.data) : numericBytes(c.data, format, tzero);
    cards.push({ key: `TFORM${i + 1}`, value: `${repeat === 1 ? '' : repeat}${format}` });
    if (tzero !== undefined)
      cards.push({ key: `TZERO${i + 1}`, value: tzero }, { key: `TSCAL${i + 1}`, value: 1 });
    return { cards, bytes, width: repeat * WIDTH[format], extra: c };
  });
  const rowBytes = prepared.reduce((a, p) => a + p.width, 0);
  const out = new Uint8Array(rowBytes * rows);
  let offset = 0;
  const columnCards: CardInput[] = [];
  prepared.forEach((p, i) => {
    for (let r = 0; r < rows; r++)
      out.set(p.bytes.subarray(r * p.width, (r + 1) * p.width), r * rowBytes + offset);
    offset += p.width;
    columnCards.push(...p.cards);
    if (p.extra.unit !== undefined) columnCards.push({ key: `TUNIT${i + 1}`, value: p.extra.unit });
    if (p.extra.tdim !== undefined)
      columnCards.push({ key: `TDIM${i + 1}`, value: `(${p.extra.tdim.join(',')})` });
    columnCards.push(...(p.extra.cards ?? []));
  });
  return { rowBytes, rows, bytes: out, columnCards };
}

function logicalBytes(data: TableColumnSpec['data']): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ? 0x54 : 0x46;
  return out;
}

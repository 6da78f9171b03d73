/**
 * BINTABLE HDUs: column metadata from the header, lazily decoded columns, and typed accessors.
 */
import { type NumericArray, toFloat64 } from './bigendian.js';
import { type ColumnInfo, decodeColumn, type FitsColumn } from './columns.js';
import { didYouMean, FitsError, type FitsLocation } from './errors.js';
import type { FitsHeader } from './header.js';
import { parseTDim, parseTForm } from './tform.js';

/** A value of one table cell. */
export type CellValue = number | bigint | boolean | string | NumericArray | Uint8Array | string[] | null;

/** A binary table. Columns are decoded on first access and kept. */
export class BinTable {
  readonly rows: number;
  readonly rowBytes: number;
  /** Column metadata in file order. */
  readonly columnInfos: readonly ColumnInfo[];
  private readonly decoded = new Map<string, FitsColumn>();
  private readonly byName = new Map<string, ColumnInfo>();

  constructor(
    readonly header: FitsHeader,
    private readonly data: Uint8Array,
    private readonly where: FitsLocation,
  ) {
    this.rowBytes = header.number('NAXIS1') ?? 0;
    this.rows = header.number('NAXIS2') ?? 0;
    this.columnInfos = parseColumnInfos(header, where, this.rowBytes);
    for (const c of this.columnInfos) {
      const key = c.name.toUpperCase();
      if (!this.byName.has(key)) this.byName.set(key, c);
    }
    const needed = this.rowBytes * this.rows;
    if (data.length < needed) {
      throw new FitsError(
        'data-too-short',
        where,
        `table data is ${data.length} bytes but NAXIS1×NAXIS2 = ${this.rowBytes}×${this.rows} needs ${needed}: the file is truncated (an interrupted copy or download?)`,
      );
    }
  }

  /** Column names in file order. */
  get columnNames(): string[] {
    return this.columnInfos.map((c) => c.name);
  }

  hasColumn(name: string): boolean {
    return this.byName.has(name.toUpperCase());
  }

  /** The decoded column (case-insensitive name). Throws `missing-column` listing the columns. */
  column(name: string): FitsColumn {
    const info = this.info(name);
    const cached = this.decoded.get(info.name);
    if (cached) return cached;
    const heap = this.header.number('THEAP') ?? this.rowBytes * this.rows;
    const col = decodeColumn(info, this.data, this.rowBytes, this.rows, heap, {
      ...this.where,
      column: info.name,
    });
    this.decoded.set(info.name, col);
    return col;
  }

  /** Column metadata (no decoding). */
  info(name: string): ColumnInfo {
    const info = this.byName.get(name.toUpperCase());
    if (info) return info;
    const hint = didYouMean(name, this.columnNames);
    throw new FitsError(
      'missing-column',
      { ...this.where, column: name },
      `no such column${hint ? ` (did you mean '${hint}'?)` : ''}; columns: ${this.columnNames.join(', ') || '(none)'}`,
    );
  }

  /** A numeric column's raw typed array (rows × repeat). Throws if the column is not numeric. */
  numeric(name: string): NumericArray {
    const col = this.column(name);
    if (col.kind !== 'numeric') throw this.typeError(col, 'numeric');
    return col.data;
  }

  /** A numeric (or logical) column as float64 (a copy unless already float64). */
  float64(name: string): Float64Array {
    const col = this.column(name);
    if (col.kind === 'numeric') return toFloat64(col.data);
    if (col.kind === 'logical' || col.kind === 'bits') return Float64Array.from(col.data);
    throw this.typeError(col, 'numeric');
  }

  /**
   * A column of one number per row (event energies, GTI bounds), as float64. A vector column (TFORM '2D') is an error
   * naming it: its rows × repeat values read as rows would silently shift every row after the first.
   */
  scalarFloat64(name: string): Float64Array {
    const col = this.column(name);
    // A text column (OBS_ID written as '23523' by a producer): its TFORM's repeat is the string's width, not a count
    // of values, so it is named as text.
    if (col.kind === 'string')
      throw new FitsError(
        'bad-value',
        { ...this.where, column: col.name },
        `column holds text (TFORM '${col.info.tform}'${col.data.length > 0 ? `, row 1: '${col.data[0]}'` : ''}), where a number is expected`,
      );
    if (col.repeat !== 1)
      throw new FitsError(
        'bad-value',
        { ...this.where, column: col.name },
        `column holds ${col.repeat} values per row (TFORM '${col.info.tform}'), where one is expected`,
      );
    return this.float64(name);
  }

  /** A string column's values. */
  strings(name: string): string[] {
    const col = this.column(name);
    if (col.kind !== 'string') throw this.typeError(col, 'string');
    return col.data;
  }

  /** One cell: a scalar for repeat-1 columns, a typed sub-array for vector cells, a string for strings. */
  cell(name: string, row: number): CellValue {
    const col = this.column(name);
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new FitsError(
        'bad-value',
        { ...this.where, column: col.name },
        `row ${row} is out of range (0..${this.rows - 1})`,
      );
    }
    const r = col.repeat;
    switch (col.kind) {
      case 'numeric':
        return r === 1 ? (col.data[row] as number | bigint) : col.data.subarray(row * r, (row + 1) * r);
      case 'logical':
        return r === 1 ? col.data[row] === 1 : col.data.subarray(row * r, (row + 1) * r);
      case 'bits':
        return col.data.subarray(row * r, (row + 1) * r);
      case 'string':
        return col.stringsPerRow === 1
          ? (col.data[row] as string)
          : col.data.slice(row * col.stringsPerRow, (row + 1) * col.stringsPerRow);
      case 'complex':
        return col.data.subarray(row * r * 2, (row + 1) * r * 2);
      case 'varlen':
        return col.cells[row] ?? null;
    }
  }

  private typeError(col: FitsColumn, wanted: string): FitsError {
    return new FitsError(
      'bad-value',
      { ...this.where, column: col.name },
      `column is ${col.kind} (TFORM '${col.info.tform}'), not ${wanted}`,
    );
  }
}

function parseColumnInfos(header: FitsHeader, where: FitsLocation, rowBytes: number): ColumnInfo[] {
  const n = header.number('TFIELDS') ?? 0;
  const out: ColumnInfo[] = [];
  let offset = 0;
  for (let i = 1; i <= n; i++) {
    const name = header.string(`TTYPE${i}`) ?? `COL${i}`;
    const tform = header.string(`TFORM${i}`);
    const at = { ...where, column: name };
    if (tform === undefined) throw new FitsError('bad-header', at, `TFORM${i} is missing`);
    const form = parseTForm(tform);
    if (form === undefined)
      throw new FitsError(
        'unsupported-tform',
        at,
        `TFORM${i} = '${tform}' is not a supported binary-table format`,
      );
    const info: ColumnInfo = { name, number: i, tform, form, offset };
    const unit = header.string(`TUNIT${i}`);
    if (unit !== undefined && unit !== '') info.unit = unit;
    const tdimText = header.string(`TDIM${i}`);
    if (tdimText !== undefined) {
      const tdim = parseTDim(tdimText);
      if (tdim === undefined) throw new FitsError('bad-header', at, `TDIM${i} = '${tdimText}' is malformed`);
      if (form.code !== 'P' && form.code !== 'Q' && tdim.reduce((a, b) => a * b, 1) !== form.repeat) {
        throw new FitsError(
          'bad-header',
          at,
          `TDIM${i} = '${tdimText}' does not match the repeat count ${form.repeat} of TFORM '${tform}'`,
        );
      }
      info.tdim = tdim;
    }
    const tscal = header.number(`TSCAL${i}`);
    if (tscal !== undefined) info.tscal = tscal;
    const tzero = header.get(`TZERO${i}`);
    if (typeof tzero === 'number' || typeof tzero === 'bigint') info.tzero = tzero;
    const tnull = header.get(`TNULL${i}`);
    if (typeof tnull === 'number' || typeof tnull === 'bigint') info.tnull = tnull;
    out.push(info);
    offset += form.width;
  }
  if (offset !== rowBytes) {
    throw new FitsError(
      'bad-header',
      where,
      `column widths add up to ${offset} bytes but NAXIS1 is ${rowBytes}`,
    );
  }
  return out;
}

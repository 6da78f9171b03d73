/**
 * BINTABLE column formats (TFORMn) and dimensions (TDIMn), FITS 4.0 §7.3.
 */
import type { NumericKind } from './bigendian.js';

/** Parsed TFORM: repeat count, type code, and for P/Q variable-length arrays the element code. */
export interface TForm {
  repeat: number;
  code: string;
  /** Bytes the column takes in a row. */
  width: number;
  /** Element type of a P/Q descriptor column. */
  elementCode?: string;
  /** Declared maximum length of a P/Q column (informative). */
  maxLength?: number;
}

/** Bytes per element of each fixed type code (X is handled as bits). */
const ELEMENT_BYTES: Record<string, number> = {
  L: 1,
  B: 1,
  I: 2,
  J: 4,
  K: 8,
  A: 1,
  E: 4,
  D: 8,
  C: 8,
  M: 16,
  P: 8,
  Q: 16,
};

/** Native kind of the numeric codes. */
export const CODE_KIND: Record<string, NumericKind> = {
  B: 'u8',
  I: 'i16',
  J: 'i32',
  K: 'i64',
  E: 'f32',
  D: 'f64',
};

/** Parses a TFORM value, or returns undefined when it is not a valid FITS binary-table format. */
export function parseTForm(tform: string): TForm | undefined {
  const m = /^\s*(\d*)([LXBIJKAEDCMPQ])(.*)$/i.exec(tform);
  if (!m) return undefined;
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  const code = (m[2] as string).toUpperCase();
  const rest = (m[3] as string).trim();
  if (code === 'P' || code === 'Q') {
    const vm = /^([LXBIJKAEDCM])(?:\((\d+)\))?$/i.exec(rest);
    if (!vm) return undefined;
    const form: TForm = {
      repeat,
      code,
      width: repeat * (ELEMENT_BYTES[code] as number),
      elementCode: (vm[1] as string).toUpperCase(),
    };
    if (vm[2] !== undefined) form.maxLength = Number(vm[2]);
    return form;
  }
  const width = code === 'X' ? Math.ceil(repeat / 8) : repeat * (ELEMENT_BYTES[code] as number);
  return { repeat, code, width };
}

/** Bytes of one element of a fixed code (for heap arrays). */
export function elementBytes(code: string): number | undefined {
  return ELEMENT_BYTES[code];
}

/** Parses TDIM "(a,b,c)" into FITS order [a, b, c]; undefined when malformed. */
export function parseTDim(tdim: string): number[] | undefined {
  const m = /^\s*\(\s*([\d\s,]+)\)\s*$/.exec(tdim);
  if (!m) return undefined;
  const dims = (m[1] as string).split(',').map((s) => Number(s.trim()));
  return dims.every((d) => Number.isInteger(d) && d >= 0) ? dims : undefined;
}

/**
 * Decoding of IMAGE data (primary or IMAGE extension): BITPIX 8/16/32/64/-32/-64, BSCALE/BZERO with the
 * unsigned-integer convention, BLANK.
 */
import {
  KIND_WIDTH,
  type NumericArray,
  type NumericKind,
  swapInPlace,
  toFloat64,
  viewAs,
} from './bigendian.js';
import { FitsError, type FitsLocation } from './errors.js';
import type { FitsHeader } from './header.js';

/** A decoded image. `shape` is in C order (slowest first: [NAXISn, …, NAXIS1]), as numpy gives it. */
export interface FitsImage {
  /** C-order shape, e.g. [energy][y][x] for a gammapy map cube. */
  shape: number[];
  /** FITS-order axis lengths [NAXIS1, NAXIS2, …]. */
  naxes: number[];
  bitpix: number;
  /**
   * Pixel values in file order (x fastest). Integer images without scaling keep their integer type (int64 as
   * BigInt64Array); the unsigned convention (BZERO = 2^(n-1)) gives unsigned arrays; other scaling gives
   * Float64Array with BLANK pixels as NaN.
   */
  data: NumericArray;
  /** BLANK of an unscaled integer image (pixels equal to it are undefined). */
  blank?: number | bigint;
  /** The data as float64 (a copy unless already float64). */
  toFloat64(): Float64Array;
}

const BITPIX_KIND: Record<number, NumericKind> = {
  8: 'u8',
  16: 'i16',
  32: 'i32',
  64: 'i64',
  [-32]: 'f32',
  [-64]: 'f64',
};
const UNSIGNED: Record<number, { kind: NumericKind; zero: bigint }> = {
  8: { kind: 'i8', zero: -128n },
  16: { kind: 'u16', zero: 32768n },
  32: { kind: 'u32', zero: 2147483648n },
  64: { kind: 'u64', zero: 9223372036854775808n },
};

/** Axis lengths NAXIS1..NAXISn of an HDU header. */
export function axisLengths(header: FitsHeader, where: FitsLocation): number[] {
  const naxis = header.number('NAXIS');
  if (naxis === undefined || !Number.isInteger(naxis) || naxis < 0 || naxis > 999) {
    throw new FitsError('bad-header', where, `NAXIS is missing or invalid (${String(header.get('NAXIS'))})`);
  }
  const out: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = header.number(`NAXIS${i}`);
    if (n === undefined || !Number.isInteger(n) || n < 0) {
      const v = header.get(`NAXIS${i}`);
      throw new FitsError(
        'bad-header',
        where,
        v === undefined
          ? `NAXIS${i} is missing (NAXIS = ${naxis})`
          : `NAXIS${i} = ${typeof v === 'string' ? `'${v}'` : String(v)} is not a non-negative integer`,
      );
    }
    out.push(n);
  }
  return out;
}

/**
 * Decodes the image in `bytes` (the HDU's data, possibly shorter than needed — checked here). With `inPlace`,
 * the result may be a view of `data`, byte-swapped where it lies (the caller gives up `data`).
 */
export function decodeImage(
  header: FitsHeader,
  data: Uint8Array,
  where: FitsLocation,
  inPlace = false,
): FitsImage {
  const bitpix = header.number('BITPIX') ?? 0;
  const kind = BITPIX_KIND[bitpix];
  if (kind === undefined)
    throw new FitsError('unsupported-bitpix', where, `BITPIX ${bitpix} is not a FITS BITPIX`);
  const naxes = axisLengths(header, where);
  const count = naxes.length === 0 ? 0 : naxes.reduce((a, b) => a * b, 1);
  const width = KIND_WIDTH[kind];
  if (data.length < count * width) {
    throw new FitsError(
      'data-too-short',
      where,
      `image data is ${data.length} bytes but NAXIS (${naxes.join('×')}, BITPIX ${bitpix}) needs ${count * width}`,
    );
  }
  // viewAs copies by itself when the bytes are not aligned for the type.
  const raw = inPlace ? data.subarray(0, count * width) : data.slice(0, count * width);
  const bscaleValue = header.get('BSCALE');
  const bzeroValue = header.get('BZERO');
  const bscale = typeof bscaleValue === 'number' ? bscaleValue : 1;
  const bzeroBig = typeof bzeroValue === 'bigint' ? bzeroValue : undefined;
  const bzero = typeof bzeroValue === 'number' ? bzeroValue : bzeroBig !== undefined ? Number(bzeroBig) : 0;
  const blankValue = header.get('BLANK');
  const blank = typeof blankValue === 'number' || typeof blankValue === 'bigint' ? blankValue : undefined;
  const shape = [...naxes].reverse();
  const unsigned = UNSIGNED[bitpix];

  let out: NumericArray;
  let outBlank: number | bigint | undefined;
  if (bscale === 1 && unsigned !== undefined && (bzeroBig ?? BigInt(Math.round(bzero))) === unsigned.zero) {
    // Flipping the sign bit of each big-endian word adds 2^(n-1) modulo 2^n: the unsigned convention.
    for (let i = 0; i < raw.length; i += width) raw[i] = (raw[i] as number) ^ 0x80;
    swapInPlace(raw, width);
    out = viewAs(raw, count, unsigned.kind);
  } else {
    swapInPlace(raw, width);
    const native = viewAs(raw, count, kind);
    if (bscale === 1 && bzero === 0) {
      out = native;
      if (bitpix > 0) outBlank = blank;
    } else {
      const f = toFloat64(native);
      const scaled = f === native ? new Float64Array(f) : f;
      const blankNumber = bitpix > 0 && blank !== undefined ? Number(blank) : undefined;
      for (let i = 0; i < scaled.length; i++) {
        const v = scaled[i] as number;
        scaled[i] = blankNumber !== undefined && v === blankNumber ? Number.NaN : v * bscale + bzero;
      }
      out = scaled;
    }
  }
  const image: FitsImage = { shape, naxes, bitpix, data: out, toFloat64: () => toFloat64(out) };
  if (outBlank !== undefined) image.blank = outBlank;
  return image;
}

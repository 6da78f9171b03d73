/**
 * Conversion between FITS big-endian bytes and native typed arrays (both directions).
 */
import { Buffer } from 'node:buffer';
import { endianness } from 'node:os';

export type NumericKind = 'u8' | 'i8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64';

export type NumericArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

export const KIND_WIDTH: Record<NumericKind, number> = {
  u8: 1,
  i8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  i64: 8,
  u64: 8,
  f32: 4,
  f64: 8,
};

const LITTLE = endianness() === 'LE';

/** Reverses the byte order of each `width`-byte word of `bytes`, in place. */
export function swapInPlace(bytes: Uint8Array, width: number): void {
  if (!LITTLE || width === 1) return;
  const n = bytes.length - (bytes.length % width);
  // Buffer's swap16/32/64 run in C++ (SIMD), 10–20× faster than a byte loop; they need a whole number of words.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, n);
  if (width === 2) buf.swap16();
  else if (width === 4) buf.swap32();
  else if (width === 8) buf.swap64();
  else throw new RangeError(`swapInPlace: word width ${width}`);
}

/** A fresh native typed array of `count` elements decoded from big-endian `bytes` at `offset`. */
export function readBigEndian(
  bytes: Uint8Array,
  offset: number,
  count: number,
  kind: NumericKind,
): NumericArray {
  const width = KIND_WIDTH[kind];
  const copy = new Uint8Array(count * width);
  copy.set(bytes.subarray(offset, offset + count * width));
  swapInPlace(copy, width);
  return viewAs(copy, count, kind);
}

/** A typed array of the given kind over the bytes of `bytes` (which must be aligned for the kind). */
export function viewAs(bytes: Uint8Array, count: number, kind: NumericKind): NumericArray {
  const buffer = bytes.buffer;
  const o = bytes.byteOffset;
  if (o % KIND_WIDTH[kind] !== 0) return viewAs(bytes.slice(), count, kind);
  switch (kind) {
    case 'u8':
      return new Uint8Array(buffer, o, count);
    case 'i8':
      return new Int8Array(buffer, o, count);
    case 'i16':
      return new Int16Array(buffer, o, count);
    case 'u16':
      return new Uint16Array(buffer, o, count);
    case 'i32':
      return new Int32Array(buffer, o, count);
    case 'u32':
      return new Uint32Array(buffer, o, count);
    case 'i64':
      return new BigInt64Array(buffer, o, count);
    case 'u64':
      return new BigUint64Array(buffer, o, count);
    case 'f32':
      return new Float32Array(buffer, o, count);
    case 'f64':
      return new Float64Array(buffer, o, count);
  }
}

/** Big-endian bytes of a native typed array (a copy). */
export function toBigEndian(data: NumericArray): Uint8Array {
  const width = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  swapInPlace(out, width);
  return out;
}

/** Any numeric typed array as float64 (bigints converted, possibly losing precision beyond 2^53). */
export function toFloat64(data: NumericArray): Float64Array {
  if (data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data);
  }
  return out;
}

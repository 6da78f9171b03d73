/** An RGBA raster with the few drawing operations the quick-look images need, and its PNG encoding. */
import { Buffer } from 'node:buffer';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { crc32, deflate, deflateSync } from 'node:zlib';
import { packRgb } from './colormaps.js';

const deflateAsync = promisify(deflate);

const LITTLE = endianness() === 'LE';

/** The 32-bit word, bytes R, G, B, 255 in memory, of a colour packed as r + 256·g + 65536·b (packRgb). */
function packedWord(rgb24: number): number {
  return LITTLE
    ? ((255 << 24) | rgb24) >>> 0
    : (((rgb24 & 255) << 24) | (((rgb24 >> 8) & 255) << 16) | ((rgb24 >> 16) << 8) | 255) >>> 0;
}

export class Raster {
  readonly data: Uint8Array;
  /** The same pixels, one word each, for filling spans at once. */
  private readonly words: Uint32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: readonly [number, number, number] = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.words = new Uint32Array(this.data.buffer, 0, width * height);
    this.fillRect(0, 0, width, height, background);
  }

  /** Fills the rectangle [x, x+w) × [y, y+h), clipped to the raster. */
  fillRect(x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    if (x1 <= x0) return;
    const word = packedWord(packRgb(rgb));
    for (let yy = y0; yy < y1; yy++) this.words.fill(word, yy * this.width + x0, yy * this.width + x1);
  }

  /**
   * Fills [x, x+w) of row y (not clipped: the caller's span lies inside) with a colour packed as r + 256·g + 65536·b:
   * the per-pixel fill of a map, without fillRect's clipping and colour array.
   */
  fillSpan(x: number, y: number, w: number, rgb24: number): void {
    const at = y * this.width + x;
    this.words.fill(packedWord(rgb24), at, at + w);
  }

  /** Copies the span [x0, x1) of row `from` into rows [y0, y1) (clipped to the raster). */
  repeatRow(from: number, x0: number, x1: number, y0: number, y1: number): void {
    const a = Math.max(0, x0);
    const b = Math.min(this.width, x1);
    if (b <= a || from < 0 || from >= this.height) return;
    const src = from * this.width;
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++)
      this.words.copyWithin(y * this.width + a, src + a, src + b);
  }

  /** The colour at (x, y). */
  rgbAt(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o] as number, this.data[o + 1] as number, this.data[o + 2] as number];
  }

  /**
   * PNG bytes: 8-bit RGBA. A row that repeats the row above (a scaled-up map's rows mostly do) is filtered
   * with "Up" (all zero), the others are stored unfiltered: both are native buffer operations (compare,
   * copy), where a per-byte filter in JavaScript cost more than the deflate of a cold worker.
   */
  toPng(): Uint8Array {
    return pngFile(this.width, this.height, deflateSync(this.filteredRows(), PNG_DEFLATE));
  }

  /** {@link toPng} with the deflate on the thread pool (several images compress in parallel). */
  async toPngAsync(): Promise<Uint8Array> {
    return pngFile(this.width, this.height, await deflateAsync(this.filteredRows(), PNG_DEFLATE));
  }

  private filteredRows(): Buffer {
    const { width, height } = this;
    const stride = width * 4;
    const pixels = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    const filtered = Buffer.alloc((stride + 1) * height);
    for (let y = 0; y < height; y++) {
      const o = y * (stride + 1);
      const start = y * stride;
      if (y > 0 && pixels.compare(pixels, start - stride, start, start, start + stride) === 0)
        filtered[o] = 2;
      else pixels.copy(filtered, o + 1, start, start + stride); // filter byte 0: none
    }
    return filtered;
  }
}

const PNG_DEFLATE = { level: 3 };

/** The PNG file around compressed 8-bit RGBA rows. */
function pngFile(width: number, height: number, idat: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA, deflate, adaptive filtering, no interlace
  const parts = [PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

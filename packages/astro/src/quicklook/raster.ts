/**
 * An indexed-colour raster (one byte per pixel, a palette of up to 256 colours) with the few drawing operations the
 * quick-look images need, and its PNG encoding (colour type 3). A quick-look has at most 254 colours (colormaps.ts),
 * so a palette loses nothing, and the rows to filter and compress are a quarter of RGBA's.
 */
import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import { crc32, deflate, deflateSync } from 'node:zlib';
import { packRgb } from './colormaps.js';

const deflateAsync = promisify(deflate);

export class Raster {
  /** Palette index of each pixel, row by row from the top. */
  readonly pixels: Uint8Array;
  /** Colours in palette order, packed as r + 256·g + 65536·b (packRgb). */
  private readonly palette: number[] = [];
  private readonly indexOf = new Map<number, number>();

  constructor(
    readonly width: number,
    readonly height: number,
    background: readonly [number, number, number] = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height); // all index 0: the background
    this.colourIndex(packRgb(background));
  }

  /** The palette index of a packed colour, added on first use; more than 256 colours is an error. */
  colourIndex(rgb24: number): number {
    let i = this.indexOf.get(rgb24);
    if (i === undefined) {
      if (this.palette.length === 256) throw new RangeError('a quick-look image holds at most 256 colours');
      i = this.palette.length;
      this.palette.push(rgb24);
      this.indexOf.set(rgb24, i);
    }
    return i;
  }

  /** The palette indices of packed colours (each added on first use), for writing `pixels` directly. */
  colourIndices(colours: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(colours.length);
    for (let i = 0; i < colours.length; i++) out[i] = this.colourIndex(colours[i] as number);
    return out;
  }

  /** Fills the rectangle [x, x+w) × [y, y+h), clipped to the raster. */
  fillRect(x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    if (x1 <= x0) return;
    const index = this.colourIndex(packRgb(rgb));
    for (let yy = y0; yy < y1; yy++) this.pixels.fill(index, yy * this.width + x0, yy * this.width + x1);
  }

  /**
   * Fills [x, x+w) of row y (not clipped: the caller's span lies inside) with a colour packed as r + 256·g + 65536·b:
   * the per-pixel fill of a map, without fillRect's clipping and colour array.
   */
  fillSpan(x: number, y: number, w: number, rgb24: number): void {
    const at = y * this.width + x;
    this.pixels.fill(this.colourIndex(rgb24), at, at + w);
  }

  /** Copies the span [x0, x1) of row `from` into rows [y0, y1) (clipped to the raster). */
  repeatRow(from: number, x0: number, x1: number, y0: number, y1: number): void {
    const a = Math.max(0, x0);
    const b = Math.min(this.width, x1);
    if (b <= a || from < 0 || from >= this.height) return;
    const src = from * this.width;
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++)
      this.pixels.copyWithin(y * this.width + a, src + a, src + b);
  }

  /** The colour at (x, y). */
  rgbAt(x: number, y: number): [number, number, number] {
    const c = this.palette[this.pixels[y * this.width + x] as number] as number;
    return [c & 255, (c >> 8) & 255, c >> 16];
  }

  /**
   * PNG bytes: 8-bit palette indices. A row that repeats the row above (a scaled-up map's rows mostly do) is
   * filtered with "Up" (all zero), the others are stored unfiltered: both are native buffer operations (compare,
   * copy), where a per-byte filter in JavaScript cost more than the deflate of a cold worker.
   */
  toPng(): Uint8Array {
    return pngFile(this.width, this.height, this.plte(), deflateSync(this.filteredRows(), PNG_DEFLATE));
  }

  /** {@link toPng} with the deflate on the thread pool (several images compress in parallel). */
  async toPngAsync(): Promise<Uint8Array> {
    const rows = this.filteredRows();
    return pngFile(this.width, this.height, this.plte(), await deflateAsync(rows, PNG_DEFLATE));
  }

  private plte(): Uint8Array {
    const out = new Uint8Array(3 * this.palette.length);
    for (let i = 0; i < this.palette.length; i++) {
      const c = this.palette[i] as number;
      out[3 * i] = c & 255;
      out[3 * i + 1] = (c >> 8) & 255;
      out[3 * i + 2] = c >> 16;
    }
    return out;
  }

  private filteredRows(): Buffer {
    const { width, height } = this;
    const pixels = Buffer.from(this.pixels.buffer, this.pixels.byteOffset, this.pixels.byteLength);
    const filtered = Buffer.alloc((width + 1) * height);
    for (let y = 0; y < height; y++) {
      const o = y * (width + 1);
      const start = y * width;
      if (y > 0 && pixels.compare(pixels, start - width, start, start, start + width) === 0) filtered[o] = 2;
      else pixels.copy(filtered, o + 1, start, start + width); // filter byte 0: none
    }
    return filtered;
  }
}

const PNG_DEFLATE = { level: 3 };

/** The PNG file around compressed rows of 8-bit palette indices. */
function pngFile(width: number, height: number, plte: Uint8Array, idat: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 3, 0, 0, 0], 8); // bit depth 8, colour type palette, deflate, adaptive filtering, no interlace
  const parts = [
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('PLTE', plte),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ];
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

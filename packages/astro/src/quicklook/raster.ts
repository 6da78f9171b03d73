/** An RGBA raster with the few drawing operations the quick-look images need; encodes to PNG with pngjs. */
import { PNG } from 'pngjs';

export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: readonly [number, number, number] = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Fills the rectangle [x, x+w) × [y, y+h), clipped to the raster. */
  fillRect(x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 4;
        this.data[o] = rgb[0];
        this.data[o + 1] = rgb[1];
        this.data[o + 2] = rgb[2];
        this.data[o + 3] = 255;
      }
    }
  }

  /** The colour at (x, y). */
  rgbAt(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o] as number, this.data[o + 1] as number, this.data[o + 2] as number];
  }

  /** PNG bytes (8-bit RGBA). */
  toPng(): Uint8Array {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return new Uint8Array(PNG.sync.write(png));
  }
}

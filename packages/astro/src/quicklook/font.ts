/**
 * A 5×8 bitmap font (the classic 5×7 "glcd" font of character LCDs, printable ASCII plus '°'), drawn into an
 * RGBA raster. Each glyph is 5 column bytes; bit 0 is the top row, bit 7 the descender row.
 */
import type { Raster } from './raster.js';

const ASCII_COLUMNS =
  '0000000000 00005f0000 0007000700 147f147f14 242a7f2a12 2313086462 3649552250 0000050300 001c224100 0041221c00 ' +
  '2a1c7f1c2a 08083e0808 0050300000 0808080808 0060600000 2010080402 3e5149453e 00427f4000 4261514946 2141454b31 ' +
  '1814127f10 2745454539 3c4a494930 0171090503 3649494936 064949291e 0036360000 0056360000 0814224100 1414141414 ' +
  '0041221408 0201510906 324979413e 7e1111117e 7f49494936 3e41414122 7f4141221c 7f49494941 7f09090901 3e41495a7a ' +
  '7f0808087f 00417f4100 2040413f01 7f08142241 7f40404040 7f020c027f 7f0408107f 3e4141413e 7f09090906 3e4151215e ' +
  '7f09192946 4649494931 01017f0101 3f4040403f 1f2040201f 3f4038403f 6314081463 0708700807 6151494543 007f414100 ' +
  '0204081020 0041417f00 0402010204 4040404040 0001020400 2054545478 7f48444438 3844444420 384444487f 3854545418 ' +
  '087e090102 0ca4a4a47c 7f08040478 00447d4000 2040443d00 7f10284400 00417f4000 7c04180478 7c08040478 3844444438 ' +
  'fc24242418 18242418fc 7c08040408 4854545420 043f444020 3c4040207c 1c2040201c 3c4030403c 4428102844 1ca0a0a07c ' +
  '4464544c44 0008364100 00007f0000 0041360800 0201020402';

const GLYPHS = new Map<string, number[]>();
ASCII_COLUMNS.split(' ').forEach((hex, i) => {
  GLYPHS.set(
    String.fromCharCode(32 + i),
    [0, 2, 4, 6, 8].map((k) => Number.parseInt(hex.slice(k, k + 2), 16)),
  );
});
GLYPHS.set('°', [0x00, 0x06, 0x09, 0x09, 0x06]);

/** Width of one character cell in font pixels (5 columns + 1 spacing). */
export const GLYPH_ADVANCE = 6;
/** Height of a line in font pixels (7 rows + descender). */
export const GLYPH_HEIGHT = 8;

/** Width in raster pixels of `text` at `scale`. */
export function textWidth(text: string, scale: number): number {
  return Math.max(0, [...text].length * GLYPH_ADVANCE - 1) * scale;
}

/** Draws `text` with its top-left corner at (x, y); unknown characters are drawn as '?'. */
export function drawText(
  raster: Raster,
  text: string,
  x: number,
  y: number,
  scale: number,
  rgb: readonly [number, number, number],
): void {
  let cx = x;
  for (const ch of text) {
    const cols = GLYPHS.get(ch) ?? (GLYPHS.get('?') as number[]);
    for (let c = 0; c < 5; c++) {
      const bits = cols[c] as number;
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        if ((bits >> r) & 1) raster.fillRect(cx + c * scale, y + r * scale, scale, scale, rgb);
      }
    }
    cx += GLYPH_ADVANCE * scale;
  }
}

/** Draws `text` rotated 90° anticlockwise (reading bottom to top), its bottom-left corner at (x, y). */
export function drawTextVertical(
  raster: Raster,
  text: string,
  x: number,
  y: number,
  scale: number,
  rgb: readonly [number, number, number],
): void {
  let cy = y;
  for (const ch of text) {
    const cols = GLYPHS.get(ch) ?? (GLYPHS.get('?') as number[]);
    for (let c = 0; c < 5; c++) {
      const bits = cols[c] as number;
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        if ((bits >> r) & 1) raster.fillRect(x + r * scale, cy - (c + 1) * scale, scale, scale, rgb);
      }
    }
    cy -= GLYPH_ADVANCE * scale;
  }
}

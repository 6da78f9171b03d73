import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { COLORMAP_LEVELS } from '../src/quicklook/colormaps.js';
import {
  colormapRgb,
  formatTick,
  NAN_GREY,
  niceTicks,
  Raster,
  renderMapPng,
  skyEdgeTicks,
} from '../src/quicklook/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-quicklook-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tilted linear sky: lon decreases with x (like RA), lat increases with y; 0.1° pixels. */
const sky = (x: number, y: number) => ({ lon: 10 - 0.1 * x + 0.01 * y, lat: -5 + 0.1 * y });

function decode(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}
function rgbAt(png: PNG, x: number, y: number): number[] {
  const o = (y * png.width + x) * 4;
  return [png.data[o] as number, png.data[o + 1] as number, png.data[o + 2] as number];
}

describe('renderMapPng', () => {
  const nx = 40;
  const ny = 30;
  // value = x (0..39), with a NaN at pixel (5, 7)
  const data = Float64Array.from({ length: nx * ny }, (_, i) => i % nx);
  data[7 * nx + 5] = Number.NaN;
  const path = join(dir, 'map.png');
  const layout = renderMapPng(path, {
    data,
    nx,
    ny,
    pixelToSky: sky,
    title: 'test map',
    unit: 'sigma',
    colormap: 'viridis',
    vmin: 0,
    vmax: 39,
    scale: 5,
  });
  const png = decode(path);

  it('has the layout size and leaves no temporary file behind', () => {
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    expect(layout.width).toBeGreaterThan(nx * 5);
    expect(readdirSync(dir)).toEqual(['map.png']);
  });

  it('draws a known value in its colour, y = 0 at the bottom', () => {
    // map pixel (x = 39, y = 0) holds vmax → the top colour of viridis, drawn in the bottom-right block
    const px = layout.mapX + 39 * layout.scale + 2;
    const py = layout.mapY + (ny - 1) * layout.scale + 2;
    expect(rgbAt(png, px, py)).toEqual(colormapRgb('viridis', 1));
    expect(rgbAt(png, layout.mapX + 2, layout.mapY + 2)).toEqual(colormapRgb('viridis', 0)); // (0, ny−1): value 0
    expect(rgbAt(png, layout.mapX + 20 * 5 + 2, layout.mapY + 2)).toEqual(colormapRgb('viridis', 20 / 39));
  });

  it('draws NaN pixels grey', () => {
    const px = layout.mapX + 5 * layout.scale + 2;
    const py = layout.mapY + (ny - 1 - 7) * layout.scale + 2;
    expect(rgbAt(png, px, py)).toEqual([...NAN_GREY]);
  });

  it('has a colour bar running from vmin (bottom) to vmax (top)', () => {
    const x = layout.barX + layout.barWidth / 2;
    expect(rgbAt(png, x, layout.barY)).toEqual(colormapRgb('viridis', 1 - 0.5 / layout.barHeight));
    expect(rgbAt(png, x, layout.barY + layout.barHeight - 1)).toEqual(
      colormapRgb('viridis', 0.5 / layout.barHeight),
    );
    // viridis gets brighter towards the top: the green channel rises monotonically up the bar
    let prev = -1;
    for (let r = layout.barHeight - 1; r >= 0; r -= 5) {
      const g = rgbAt(png, x, layout.barY + r)[1] as number;
      expect(g).toBeGreaterThanOrEqual(prev);
      prev = g;
    }
  });

  it('writes text (title and labels) in black on white', () => {
    let dark = 0;
    for (let y = 0; y < layout.mapY - 4; y++)
      for (let x = 0; x < png.width; x++) if (rgbAt(png, x, y)[0] === 0) dark++;
    expect(dark).toBeGreaterThan(50); // the title
  });
});

describe('indexed colour', () => {
  it('writes a palette PNG holding every colour drawn, one byte per pixel', () => {
    const bytes = readFileSync(join(dir, 'map.png'));
    expect(bytes[25]).toBe(3); // IHDR colour type: palette
    expect(bytes.subarray(37, 41).toString('latin1')).toBe('PLTE');
    const colours = bytes.readUInt32BE(33) / 3;
    // background, ink, NaN grey and the 40 distinct map values' levels (the colour bar adds the rest)
    expect(colours).toBeGreaterThanOrEqual(3 + 40);
    expect(colours).toBeLessThanOrEqual(3 + COLORMAP_LEVELS);
  });

  it('refuses a 257th colour instead of writing a wrong one', () => {
    const raster = new Raster(300, 1);
    for (let x = 0; x < 255; x++) raster.fillSpan(x, 0, 1, x + 1); // + the white background: 256
    expect(raster.rgbAt(254, 0)).toEqual([255, 0, 0]);
    expect(() => raster.fillSpan(255, 0, 1, 0x123456)).toThrow(/at most 256 colours/);
  });

  it('rounds a colour map to its levels, the same for the image and colormapRgb', () => {
    const step = 1 / (COLORMAP_LEVELS - 1);
    expect(colormapRgb('viridis', 0.5 * step - 1e-9)).toEqual(colormapRgb('viridis', 0));
    expect(colormapRgb('viridis', 0.5 * step + 1e-9)).toEqual(colormapRgb('viridis', step));
    expect(colormapRgb('viridis', Number.NaN)).toEqual(colormapRgb('viridis', 0));
    expect(colormapRgb('viridis', 2)).toEqual(colormapRgb('viridis', 1));
  });

  it("keeps a diverging map's middle on a level: zero is coolwarm's neutral grey, not a tint", () => {
    // Moreland's middle anchor, 0.8654 per channel: no hint of red or blue where a difference image shows 0, and a
    // difference a hair either side of 0 rounds to it too (with an even number of levels 0 fell between two tints).
    expect(colormapRgb('coolwarm', 0.5)).toEqual([221, 221, 221]);
    expect(colormapRgb('coolwarm', 0.5 - 1e-4)).toEqual([221, 221, 221]);
    expect(colormapRgb('coolwarm', 0.5 + 1e-4)).toEqual([221, 221, 221]);
  });
});

describe('diverging colour map', () => {
  it('is centred on zero by default', () => {
    const path = join(dir, 'excess.png');
    const data = Float64Array.from([-4, 0, 2, 1]);
    const layout = renderMapPng(path, { data, nx: 2, ny: 2, colormap: 'coolwarm', scale: 50 });
    expect([layout.vmin, layout.vmax]).toEqual([-4, 4]);
    const png = decode(path);
    // value 0 at map pixel (1, 0) → the neutral middle colour
    expect(rgbAt(png, layout.mapX + 75, layout.mapY + 75)).toEqual(colormapRgb('coolwarm', 0.5));
    expect(colormapRgb('coolwarm', 0)[2]).toBeGreaterThan(colormapRgb('coolwarm', 0)[0]); // blue end
  });
});

describe('axes', () => {
  it('nice ticks and labels', () => {
    expect(niceTicks(21.02, 23.0, 5).values.map((v) => formatTick(v, 0.5))).toEqual([
      '21.5',
      '22.0',
      '22.5',
      '23.0',
    ]);
    expect(formatTick(1.5e-11, 5e-12)).toBe('1.5e-11');
    expect(formatTick(0.25, 0.25)).toBe('0.25');
  });

  it('finds where the sky coordinate crosses tick values along the edges', () => {
    const t = skyEdgeTicks(sky, 40, 30);
    // bottom edge y = −0.5: lon = 10.005 − 0.1·x, so lon 9 is at x ≈ 10.05
    const nine = t.lon.find((k) => k.value === 9);
    expect(nine?.pos).toBeCloseTo(10.05 - 0.1, 1);
    expect(nine?.label).toBe('9°'); // span 4° → 1° steps
    const lat = t.lat.find((k) => k.value === -4);
    expect(lat?.pos).toBeCloseTo(10, 6);
  });

  it('unwraps longitudes across 360°', () => {
    const wrap = (x: number, y: number) => ({ lon: (((1 - 0.1 * x) % 360) + 360) % 360, lat: y * 0.1 });
    const t = skyEdgeTicks(wrap, 20, 10);
    expect(t.lon.map((k) => k.label)).toContain('0.0°');
    expect(t.lon.some((k) => k.value > 359)).toBe(true);
  });
});

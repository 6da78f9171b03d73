/**
 * Quick-look PNG of a 2D map: the map in a perceptual colour map (NaN in grey), a colour bar with tick labels
 * and unit, sky-coordinate ticks and labels along the edges, and a title. Latitude (y) increases upwards.
 */

import type { PixelToSky } from '../estimators/summary.js';
import { type WriteFileOptions, writeFileAtomic } from '../fits/index.js';
import { type EdgeTick, formatTick, niceTicks, skyEdgeTicks } from './axes.js';
import {
  type ColormapName,
  colormapLevel,
  colormapLevels,
  colormapPacked,
  isDiverging,
  packRgb,
} from './colormaps.js';
import { drawText, drawTextVertical, GLYPH_HEIGHT, textWidth } from './font.js';
import { Raster } from './raster.js';

export interface MapImageOptions {
  /** Map values [y][x] (x fastest), y = 0 at the bottom as in FITS. */
  data: ArrayLike<number>;
  nx: number;
  ny: number;
  /** 0-based pixel → sky (degrees); without it the axes are labelled in pixels. */
  pixelToSky?: PixelToSky;
  /** Frame of pixelToSky's coordinates, for the axis names (RA/Dec or l/b). Default 'icrs'. */
  frame?: 'icrs' | 'galactic';
  title?: string;
  unit?: string;
  /** Default viridis; 'coolwarm' is diverging and centred on 0 by default. */
  colormap?: ColormapName;
  vmin?: number;
  vmax?: number;
  /** Screen pixels per map pixel; default: the map fills about 400 pixels. */
  scale?: number;
}

/** Where things are in the image, in PNG pixels (y down). */
export interface MapImageLayout {
  width: number;
  height: number;
  /** Top-left of the map area and its size. */
  mapX: number;
  mapY: number;
  scale: number;
  /** The colour bar: top-left corner and size; the top row shows vmax, the bottom row vmin. */
  barX: number;
  barY: number;
  barWidth: number;
  barHeight: number;
  vmin: number;
  vmax: number;
}

export const NAN_GREY: readonly [number, number, number] = [128, 128, 128];
const NAN_GREY_PACKED = packRgb(NAN_GREY);
const INK: readonly [number, number, number] = [0, 0, 0];
const FONT = 2;
const TICK = 5;

/** Renders the map to an RGBA raster. */
export function renderMapImage(options: MapImageOptions): { raster: Raster; layout: MapImageLayout } {
  const { nx, ny, data } = options;
  if (!Number.isInteger(nx) || !Number.isInteger(ny) || nx < 1 || ny < 1 || data.length < nx * ny) {
    throw new RangeError(`renderMapImage: ${data.length} values do not fill a ${nx}×${ny} map`);
  }
  const colormap = options.colormap ?? 'viridis';
  const { vmin, vmax } = valueRange(data, nx * ny, colormap, options.vmin, options.vmax);
  const scale = options.scale ?? Math.max(1, Math.round(400 / Math.max(nx, ny)));
  const mapW = nx * scale;
  const mapH = ny * scale;
  const lineH = GLYPH_HEIGHT * FONT;

  const ticks = options.pixelToSky ? skyTicks(options.pixelToSky, nx, ny) : pixelTicks(nx, ny);
  const galactic = options.frame === 'galactic';
  const xName = options.pixelToSky ? (galactic ? 'l (deg)' : 'RA (deg)') : 'x (pixel)';
  const yName = options.pixelToSky ? (galactic ? 'b (deg)' : 'Dec (deg)') : 'y (pixel)';
  const bar = niceTicks(vmin, vmax, 5);
  const barLabels = bar.values.map((v) => formatTick(v, bar.step));
  const latLabelW = Math.max(0, ...ticks.lat.map((t) => textWidth(t.label, FONT)));
  const barLabelW = Math.max(0, ...barLabels.map((l) => textWidth(l, FONT)));

  const mapX = 10 + lineH + 8 + latLabelW + 4 + TICK;
  const mapY = 12 + lineH + 12;
  const barX = mapX + mapW + 24;
  const barWidth = 20;
  const unitX = barX + barWidth + TICK + 4 + barLabelW + 8;
  const width = Math.max(
    unitX + (options.unit ? lineH + 10 : 0),
    options.title ? textWidth(options.title, FONT) + 16 : 0,
  );
  const height = mapY + mapH + TICK + 4 + lineH + 8 + lineH + 10;
  const raster = new Raster(width, height);

  // Map pixels (row y of the map is drawn upside down: north up), written as palette indices: one screen row per map
  // row, then repeated `scale` times. Inline, not through fillSpan: a map is drawn once per image in a cold worker,
  // where a call and a colour lookup per pixel cost more than the drawing.
  const levelIndex = raster.colourIndices(colormapLevels(colormap));
  const nanIndex = raster.colourIndex(NAN_GREY_PACKED);
  const pixels = raster.pixels;
  const span = vmax - vmin;
  for (let y = 0; y < ny; y++) {
    const top = mapY + (ny - 1 - y) * scale;
    let at = top * width + mapX;
    const row = y * nx;
    for (let x = 0; x < nx; x++) {
      const v = data[row + x] as number;
      const index = Number.isNaN(v) ? nanIndex : (levelIndex[colormapLevel((v - vmin) / span)] as number);
      for (let s = 0; s < scale; s++) pixels[at + s] = index;
      at += scale;
    }
    raster.repeatRow(top, mapX, mapX + mapW, top + 1, top + scale);
  }
  frame(raster, mapX, mapY, mapW, mapH);

  // colour bar, vmax at the top
  for (let r = 0; r < mapH; r++)
    raster.fillSpan(barX, mapY + r, barWidth, colormapPacked(colormap, 1 - (r + 0.5) / mapH));
  frame(raster, barX, mapY, barWidth, mapH);
  bar.values.forEach((v, i) => {
    const yy = Math.round(mapY + (1 - (v - vmin) / (vmax - vmin)) * (mapH - 1));
    raster.fillRect(barX + barWidth, yy, TICK, 1, INK);
    drawText(raster, barLabels[i] as string, barX + barWidth + TICK + 4, yy - lineH / 2 + FONT, FONT, INK);
  });
  if (options.unit)
    drawTextVertical(
      raster,
      options.unit,
      unitX,
      mapY + (mapH + textWidth(options.unit, FONT)) / 2,
      FONT,
      INK,
    );

  // sky (or pixel) ticks: longitude along the bottom edge, latitude along the left edge
  for (const t of ticks.lon) {
    const xx = Math.round(mapX + (t.pos + 0.5) * scale);
    raster.fillRect(xx, mapY + mapH, 1, TICK, INK);
    drawText(raster, t.label, xx - textWidth(t.label, FONT) / 2, mapY + mapH + TICK + 4, FONT, INK);
  }
  for (const t of ticks.lat) {
    const yy = Math.round(mapY + (ny - 0.5 - t.pos) * scale);
    raster.fillRect(mapX - TICK, yy, TICK, 1, INK);
    drawText(raster, t.label, mapX - TICK - 4 - textWidth(t.label, FONT), yy - lineH / 2 + FONT, FONT, INK);
  }
  drawText(
    raster,
    xName,
    mapX + (mapW - textWidth(xName, FONT)) / 2,
    mapY + mapH + TICK + 4 + lineH + 8,
    FONT,
    INK,
  );
  drawTextVertical(raster, yName, 10, mapY + (mapH + textWidth(yName, FONT)) / 2, FONT, INK);
  if (options.title)
    drawText(raster, options.title, Math.max(4, (width - textWidth(options.title, FONT)) / 2), 12, FONT, INK);

  return {
    raster,
    layout: { width, height, mapX, mapY, scale, barX, barY: mapY, barWidth, barHeight: mapH, vmin, vmax },
  };
}

/** Renders the map and writes it as PNG to `path` atomically (temporary file, fsync unless not durable, rename). */
export function renderMapPng(
  path: string,
  options: MapImageOptions,
  write: WriteFileOptions = {},
): MapImageLayout {
  const { raster, layout } = renderMapImage(options);
  writeFileAtomic(path, raster.toPng(), write);
  return layout;
}

/** As {@link renderMapPng}, with the PNG compression on the thread pool. */
export async function renderMapPngAsync(
  path: string,
  options: MapImageOptions,
  write: WriteFileOptions = {},
): Promise<MapImageLayout> {
  const { raster, layout } = renderMapImage(options);
  writeFileAtomic(path, await raster.toPngAsync(), write);
  return layout;
}

/** Colour range: given limits, else the finite extrema (symmetric about 0 for a diverging map). */
function valueRange(
  data: ArrayLike<number>,
  n: number,
  colormap: ColormapName,
  vmin?: number,
  vmax?: number,
): { vmin: number; vmax: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (v - v !== 0) continue; // NaN or ±Infinity (a call per pixel costs more in a cold worker)
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) [lo, hi] = [0, 1];
  if (isDiverging(colormap) && vmin === undefined && vmax === undefined) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    [lo, hi] = [-m, m];
  }
  lo = vmin ?? lo;
  hi = vmax ?? hi;
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5];
  return { vmin: lo, vmax: hi };
}

/**
 * The sky ticks of a geometry, found once for the quick-looks of one map's products (they share their pixel → sky
 * function): each search projects ~8 edge points per pixel, the most costly part of drawing an image.
 */
const skyTicksOf = new WeakMap<PixelToSky, Map<string, { lon: EdgeTick[]; lat: EdgeTick[] }>>();

function skyTicks(pixelToSky: PixelToSky, nx: number, ny: number): { lon: EdgeTick[]; lat: EdgeTick[] } {
  let bySize = skyTicksOf.get(pixelToSky);
  if (!bySize) skyTicksOf.set(pixelToSky, (bySize = new Map()));
  let ticks = bySize.get(`${nx}x${ny}`);
  if (!ticks) bySize.set(`${nx}x${ny}`, (ticks = skyEdgeTicks(pixelToSky, nx, ny)));
  return ticks;
}

function pixelTicks(nx: number, ny: number): { lon: EdgeTick[]; lat: EdgeTick[] } {
  const along = (n: number) =>
    niceTicks(0, n - 1, 4).values.map((v) => ({ pos: v, value: v, label: String(v) }));
  return { lon: along(nx), lat: along(ny) };
}

function frame(raster: Raster, x: number, y: number, w: number, h: number): void {
  raster.fillRect(x - 1, y - 1, w + 2, 1, INK);
  raster.fillRect(x - 1, y + h, w + 2, 1, INK);
  raster.fillRect(x - 1, y - 1, 1, h + 2, INK);
  raster.fillRect(x + w, y - 1, 1, h + 2, INK);
}

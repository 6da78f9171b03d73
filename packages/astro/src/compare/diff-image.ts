/**
 * Difference images of maps: new − ref in the diverging coolwarm colour map, centred on 0, with sky axes
 * when the header has a WCS this library reads. A cube (energy bins, or any planes beyond x and y) is
 * shown as its worst plane (the one holding the largest difference) or as the sum over planes.
 * Grey pixels are NaN on either side.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DiffImage, diffImageName } from '@pipe/core';
import type { FitsHeader, FitsImage } from '../fits/index.js';
import { renderMapPng } from '../quicklook/index.js';
import { isWcsFailure, parseWcsHeader, pixelToSky } from '../wcs/index.js';

/** How a cube becomes one image. */
export type CubeReduction = 'worst-plane' | 'sum';

export interface DiffImageRequest {
  ref: FitsImage;
  neu: FitsImage;
  /** Header with the WCS and BUNIT (the reference's). */
  header: FitsHeader;
  /** Directory to write into (created if missing). */
  diffDir: string;
  relPath: string;
  /** Name of the HDU, for the file name and title. */
  hduLabel: string;
  /** Flat C-order index of the largest difference (picks the plane for 'worst-plane'). */
  worstIndex: number;
  reduction: CubeReduction;
}

/** Writes the difference PNG of an image HDU with at least two axes; undefined for 1-D or empty images. */
export function writeDiffImage(req: DiffImageRequest): DiffImage | undefined {
  const shape = req.ref.shape;
  if (shape.length < 2) return undefined;
  const nx = shape[shape.length - 1] as number;
  const ny = shape[shape.length - 2] as number;
  const planeSize = nx * ny;
  if (planeSize === 0) return undefined;
  const planes = shape.slice(0, -2).reduce((p, n) => p * n, 1);
  const a = req.ref.toFloat64();
  const b = req.neu.toFloat64();

  const data = new Float64Array(planeSize);
  let mode: DiffImage['mode'];
  let plane: number | undefined;
  if (planes === 1) {
    mode = 'map';
    for (let i = 0; i < planeSize; i++) data[i] = (b[i] as number) - (a[i] as number);
  } else if (req.reduction === 'worst-plane') {
    mode = 'worst-plane';
    plane = Math.max(0, Math.floor(req.worstIndex / planeSize));
    const off = plane * planeSize;
    for (let i = 0; i < planeSize; i++) data[i] = (b[off + i] as number) - (a[off + i] as number);
  } else {
    mode = 'sum';
    // NaN on both sides is a masked pixel and adds nothing; NaN on one side marks the pixel NaN (grey).
    for (let p = 0; p < planes; p++) {
      const off = p * planeSize;
      for (let i = 0; i < planeSize; i++) {
        const x = a[off + i] as number;
        const y = b[off + i] as number;
        if (Number.isNaN(x) && Number.isNaN(y)) continue;
        data[i] = (data[i] as number) + (y - x);
      }
    }
  }

  const wcs = parseWcsHeader(req.header);
  const file = diffImageName(req.relPath, req.hduLabel);
  const what =
    mode === 'worst-plane' ? `, plane ${plane}` : mode === 'sum' ? `, sum of ${planes} planes` : '';
  mkdirSync(req.diffDir, { recursive: true });
  const bunit = req.header.string('BUNIT');
  const layout = renderMapPng(join(req.diffDir, file), {
    data,
    nx,
    ny,
    ...(isWcsFailure(wcs)
      ? {}
      : {
          pixelToSky: (x: number, y: number) => {
            const [lon, lat] = pixelToSky(wcs, x, y);
            return { lon, lat };
          },
          frame: wcs.frame,
        }),
    title: `${req.relPath} [${req.hduLabel}] new - ref${what}`,
    ...(bunit ? { unit: bunit } : {}),
    colormap: 'coolwarm',
  });
  const image: DiffImage = { file, width: layout.width, height: layout.height, mode };
  image.mapArea = { x: layout.mapX, y: layout.mapY, width: nx * layout.scale, height: ny * layout.scale };
  if (plane !== undefined) image.plane = plane;
  return image;
}

/**
 * A short numeric summary of an excess map: the significance peak (pixel and sky position), whole-map
 * totals, and sum/min/max of every output map — what a log line, a regression check or a report needs.
 */
import { cashStatistics } from '@pipe/kernels';
import type { ExcessMapName, ExcessMaps } from './excess-map.js';

/** 0-based pixel (x = column, y = row; pixel centres at integers) → sky longitude/latitude in degrees. */
export type PixelToSky = (x: number, y: number) => { lon: number; lat: number };

/** A sky position under its frame's names: ICRS (ra, dec) or Galactic (glon, glat), degrees. */
export type NamedSkyPosition = { ra: number; dec: number } | { glon: number; glat: number };

/** The names of a frame's longitude and latitude, as summaries print them: ra/dec (icrs), glon/glat (galactic). */
export function skyAxisNames(frame: 'icrs' | 'galactic'): ['ra', 'dec'] | ['glon', 'glat'] {
  if (frame === 'galactic') return ['glon', 'glat'];
  if (frame === 'icrs') return ['ra', 'dec'];
  throw new RangeError(`skyAxisNames: unknown frame ${JSON.stringify(frame)}`);
}

/** `{lon, lat}` in `frame` → the same position under the frame's names (see skyAxisNames). */
export function namedSkyPosition(
  sky: { lon: number; lat: number },
  frame: 'icrs' | 'galactic',
): NamedSkyPosition {
  const [lon, lat] = skyAxisNames(frame);
  return { [lon]: sky.lon, [lat]: sky.lat } as NamedSkyPosition;
}

export interface MapStats {
  /** Sum over finite pixels. */
  sum: number;
  min: number;
  max: number;
  /** Pixels that are not NaN. */
  finite: number;
}

export interface ExcessMapSummary {
  bin: number;
  eMin: number;
  eMax: number;
  /** The first maximum of sqrt_ts in [y][x] order; undefined when the map has no finite pixel. */
  peak?: {
    x: number;
    y: number;
    sky?: { lon: number; lat: number };
    sqrtTs: number;
    ts: number;
    nOn: number;
    muB: number;
    excess: number;
    norm?: number;
    flux?: number;
  };
  /** Σ of the squashed counts inside mask_safe (not correlated). */
  totalCounts: number;
  /** Σ of the squashed background inside mask_safe. */
  totalBackground: number;
  totalExcess: number;
  /** Cash significance of the whole map taken as one region. */
  totalSqrtTs: number;
  /** sum/min/max of each output map of this bin (only when asked: `mapStats`). */
  maps: Partial<Record<ExcessMapName, MapStats>>;
}

/**
 * Summarises energy bin `bin` (default 0) of an excess map; `pixelToSky` adds the peak's sky position, `mapStats` the
 * sum/min/max of every map (a pass over each: a regression check wants them, a build's summary does not).
 */
export function summarizeExcessMap(
  result: ExcessMaps,
  options: { bin?: number; pixelToSky?: PixelToSky; mapStats?: boolean } = {},
): ExcessMapSummary {
  const bin = options.bin ?? 0;
  const range = result.bins[bin];
  const image = result.images[bin];
  if (range === undefined || image === undefined)
    throw new RangeError(`summarizeExcessMap: bin ${bin} does not exist (${result.bins.length} bins)`);
  const npix = result.nx * result.ny;
  const off = bin * npix;
  const at = (name: ExcessMapName, p: number) => result.maps[name]?.[off + p];

  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  const sqrtTs = result.maps.sqrt_ts;
  for (let p = 0; p < npix; p++) {
    const v = sqrtTs[off + p] as number;
    if (v > bestValue) {
      bestValue = v;
      best = p;
    }
  }

  let totalCounts = 0;
  let totalBackground = 0;
  for (let p = 0; p < npix; p++) {
    if (image.mask[p] === 0) continue;
    totalCounts += image.counts[p] as number;
    // The safe bins' background, as the counts: an unstacked run's background is not zero in its unsafe bins.
    totalBackground += image.backgroundSafe[p] as number;
  }
  const one = (v: number) => Float64Array.of(v);
  const [e, t, s] = [one(0), one(0), one(0)];
  cashStatistics(one(totalCounts), one(totalBackground), e, t, s);

  const maps: Partial<Record<ExcessMapName, MapStats>> = {};
  if (options.mapStats)
    for (const [name, data] of Object.entries(result.maps) as [ExcessMapName, Float64Array | undefined][]) {
      if (data) maps[name] = stats(data.subarray(off, off + npix));
    }
  const summary: ExcessMapSummary = {
    bin,
    eMin: range.eMin,
    eMax: range.eMax,
    totalCounts,
    totalBackground,
    totalExcess: totalCounts - totalBackground,
    totalSqrtTs: s[0] as number,
    maps,
  };
  if (best >= 0) {
    const x = best % result.nx;
    const y = (best - x) / result.nx;
    summary.peak = {
      x,
      y,
      sqrtTs: bestValue,
      ts: at('ts', best) as number,
      nOn: at('npred', best) as number,
      muB: at('npred_background', best) as number,
      excess: at('npred_excess', best) as number,
    };
    const norm = at('norm', best);
    const flux = at('flux', best);
    if (norm !== undefined) summary.peak.norm = norm;
    if (flux !== undefined) summary.peak.flux = flux;
    if (options.pixelToSky) summary.peak.sky = options.pixelToSky(x, y);
  }
  return summary;
}

function stats(data: Float64Array): MapStats {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let finite = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (Number.isNaN(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return finite === 0 ? { sum: 0, min: Number.NaN, max: Number.NaN, finite } : { sum, min, max, finite };
}

/**
 * Colour maps for quick-look images: viridis (perceptually uniform, for significance and counts) and a
 * cool–warm diverging map (for excess, centred on 0). Each is a list of anchors interpolated linearly in RGB.
 */

export type ColormapName = 'viridis' | 'coolwarm';
export type Rgb = readonly [number, number, number];

/** matplotlib's viridis, every 16th of its 256 entries (and the last). */
const VIRIDIS: readonly Rgb[] = [
  [0.267004, 0.004874, 0.329415],
  [0.282327, 0.094955, 0.417331],
  [0.278826, 0.17549, 0.483397],
  [0.258965, 0.251537, 0.524736],
  [0.229739, 0.322361, 0.545706],
  [0.19943, 0.387607, 0.554642],
  [0.172719, 0.448791, 0.557885],
  [0.149039, 0.508051, 0.55725],
  [0.127568, 0.566949, 0.550556],
  [0.120638, 0.625828, 0.533488],
  [0.157851, 0.683765, 0.501686],
  [0.24607, 0.73891, 0.452024],
  [0.369214, 0.788888, 0.382914],
  [0.515992, 0.831158, 0.294279],
  [0.678489, 0.863742, 0.189503],
  [0.845561, 0.887322, 0.099702],
  [0.993248, 0.906157, 0.143936],
];
const VIRIDIS_AT = [...Array.from({ length: 16 }, (_, i) => (16 * i) / 255), 1];

/** Moreland's cool–warm diverging map: blue, neutral grey at the middle, red. */
const COOLWARM: readonly Rgb[] = [
  [0.2298, 0.2987, 0.7537],
  [0.5543, 0.6901, 0.9955],
  [0.8654, 0.8654, 0.8654],
  [0.9567, 0.598, 0.4773],
  [0.7057, 0.0156, 0.1502],
];
const COOLWARM_AT = [0, 0.25, 0.5, 0.75, 1];

const MAPS: Record<ColormapName, { anchors: readonly Rgb[]; at: readonly number[] }> = {
  viridis: { anchors: VIRIDIS, at: VIRIDIS_AT },
  coolwarm: { anchors: COOLWARM, at: COOLWARM_AT },
};

/** A colour (0–255 per channel) as one integer, r + 256·g + 65536·b: the form colormapPacked returns. */
export function packRgb(rgb: readonly [number, number, number]): number {
  // Indexed, not destructured: the interpreter's iterator-based destructuring costs more than a pixel's fill.
  return rgb[0] | (rgb[1] << 8) | (rgb[2] << 16);
}

/**
 * Colours a map takes: t ∈ [0, 1] is rounded to one of these levels (matplotlib's maps have 256). With the image's
 * background, ink and NaN grey, an image holds at most 254 colours: one byte per pixel (quicklook/raster.ts). An odd
 * number, so that t = 0.5 is a level: a diverging map's zero (a difference image's "no change") is its middle colour
 * (coolwarm's neutral grey), and t and 1 − t take mirrored levels.
 */
export const COLORMAP_LEVELS = 251;

/** The colour (0–255 per channel) of t ∈ [0, 1] (clamped, rounded to a level) on the map. */
export function colormapRgb(name: ColormapName, t: number): [number, number, number] {
  const c = colormapPacked(name, t);
  return [c & 255, (c >> 8) & 255, c >> 16];
}

const levelsOf: Partial<Record<ColormapName, Int32Array>> = {};

/**
 * {@link colormapRgb} as one integer, r + 256·g + 65536·b: the per-pixel form (a quick-look colours ~10⁵ pixels,
 * mostly before the JIT has compiled this: a table lookup, its levels interpolated once per map and thread).
 */
export function colormapPacked(name: ColormapName, t: number): number {
  return colormapLevels(name)[colormapLevel(t)] as number;
}

/** The level of t ∈ [0, 1] (clamped; NaN → 0): the index into {@link colormapLevels}. */
export function colormapLevel(t: number): number {
  const u = t > 0 ? (t < 1 ? t : 1) : 0;
  return Math.round(u * (COLORMAP_LEVELS - 1));
}

/** The map's colours by level, packed as r + 256·g + 65536·b (computed once per map and thread). */
export function colormapLevels(name: ColormapName): Int32Array {
  return levelsOf[name] ?? (levelsOf[name] = interpolatedLevels(name));
}

function interpolatedLevels(name: ColormapName): Int32Array {
  const { anchors, at } = MAPS[name];
  const levels = new Int32Array(COLORMAP_LEVELS);
  for (let i = 0; i < COLORMAP_LEVELS; i++) {
    const u = i / (COLORMAP_LEVELS - 1);
    let k = 0;
    while (k < at.length - 2 && u > (at[k + 1] as number)) k++;
    const a = anchors[k] as Rgb;
    const b = anchors[k + 1] as Rgb;
    const f = (u - (at[k] as number)) / ((at[k + 1] as number) - (at[k] as number));
    levels[i] =
      Math.round(255 * (a[0] + f * (b[0] - a[0]))) |
      (Math.round(255 * (a[1] + f * (b[1] - a[1]))) << 8) |
      (Math.round(255 * (a[2] + f * (b[2] - a[2]))) << 16);
  }
  return levels;
}

/** True for maps meant to be centred on 0 (the default range is then symmetric). */
export function isDiverging(name: ColormapName): boolean {
  return name === 'coolwarm';
}

/**
 * Tick placement: "nice" tick values for a numeric range, and sky-coordinate ticks along the bottom and left
 * edges of a map, found where the projected longitude/latitude crosses each tick value.
 */
import type { PixelToSky } from '../estimators/summary.js';

/** A step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals over `span`. */
export function niceStep(span: number, target = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** Tick values k·step inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): { values: number[]; step: number } {
  const step = niceStep(hi - lo, target);
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(k * step);
  return { values, step };
}

/** Label of a tick value: fixed decimals fitting the step, or exponent form for very large/small values. */
export function formatTick(v: number, step: number): string {
  const a = Math.abs(v);
  if (v !== 0 && (a >= 1e5 || a < 1e-3)) {
    const s = v.toExponential(Math.max(0, Math.min(3, Math.ceil(-Math.log10(step / a) - 1e-9))));
    return s.replace('e+', 'e');
  }
  if (v === 0 && step < 1e-3) return '0';
  const decimals = Math.max(
    0,
    Math.ceil(-Math.log10(step) - 1e-9) +
      (Math.abs(step / 10 ** Math.floor(Math.log10(step)) - 2.5) < 1e-9 ? 1 : 0),
  );
  return v.toFixed(Math.min(decimals, 10));
}

/** A tick at fractional pixel position `pos` along an edge (x for the bottom edge, y for the left edge). */
export interface EdgeTick {
  pos: number;
  value: number;
  label: string;
}

/**
 * Longitude ticks along the bottom edge (y = −0.5) and latitude ticks along the left edge (x = −0.5), where
 * the sky coordinate crosses nice values. Longitudes are unwrapped across 0°/360°.
 */
export function skyEdgeTicks(
  pixelToSky: PixelToSky,
  nx: number,
  ny: number,
): { lon: EdgeTick[]; lat: EdgeTick[] } {
  return {
    lon: edgeTicks(nx, (t) => pixelToSky(t, -0.5).lon, true),
    lat: edgeTicks(ny, (t) => pixelToSky(-0.5, t).lat, false),
  };
}

function edgeTicks(n: number, coord: (t: number) => number, wraps: boolean): EdgeTick[] {
  const samples = Math.max(8, n * 4);
  const pos: number[] = [];
  const val: number[] = [];
  for (let i = 0; i <= samples; i++) {
    const t = -0.5 + (n * i) / samples;
    let v = coord(t);
    if (wraps && val.length > 0) {
      const prev = val[val.length - 1] as number;
      v += 360 * Math.round((prev - v) / 360); // continuous across 0/360
    }
    pos.push(t);
    val.push(v);
  }
  const finite = val.filter(Number.isFinite);
  if (finite.length < 2) return [];
  const { values, step } = niceTicks(Math.min(...finite), Math.max(...finite), 5);
  const ticks: EdgeTick[] = [];
  for (const target of values) {
    for (let i = 0; i < samples; i++) {
      const a = val[i] as number;
      const b = val[i + 1] as number;
      if ((a - target) * (b - target) > 0 || a === b) continue;
      const f = (target - a) / (b - a);
      const p = (pos[i] as number) + f * ((pos[i + 1] as number) - (pos[i] as number));
      const shown = wraps ? ((target % 360) + 360) % 360 : target;
      ticks.push({ pos: p, value: shown, label: `${formatTick(shown, step)}°` });
      break;
    }
  }
  return ticks;
}

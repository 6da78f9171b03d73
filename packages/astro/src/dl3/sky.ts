/**
 * Sky-coordinate helpers for observation selection, on top of the WCS frames (one ICRS ↔ Galactic rotation
 * for the whole library).
 */
import { angularSeparation, convertFrame, type SkyFrame } from '../wcs/frames.js';

export { angularSeparation, type SkyFrame };

/** ICRS (ra, dec) in degrees → Galactic (l, b) in degrees, l in [0, 360). */
export function icrsToGalactic(ra: number, dec: number): [number, number] {
  return convertFrame('icrs', 'galactic', ra, dec);
}

/** Galactic (l, b) in degrees → ICRS (ra, dec) in degrees, ra in [0, 360). */
export function galacticToIcrs(l: number, b: number): [number, number] {
  return convertFrame('galactic', 'icrs', l, b);
}

/** A position in `frame` converted to ICRS. */
export function toIcrs(frame: SkyFrame, lon: number, lat: number): [number, number] {
  return frame === 'icrs' ? [lon, lat] : galacticToIcrs(lon, lat);
}

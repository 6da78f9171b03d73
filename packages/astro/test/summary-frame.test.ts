// The excess-map summary names the peak's position after the map's frame: ra/dec for ICRS, glon/glat for Galactic
// (a Galactic longitude is not a right ascension). The peak is found by the real estimator on a map built by the real
// WCS geometry, with an excess at the Crab's pixel.
import { describe, expect, it } from 'vitest';
import { excessMap, summarizeExcessMap } from '../src/estimators/index.js';
import { namedSkyPosition, skyAxisNames } from '../src/estimators/summary.js';
import { createWcsGeom, isGeomFailure, type WcsGeom } from '../src/geom/wcs-geom.js';
import { convertFrame, pixelToSky, skyToPixel } from '../src/wcs/index.js';

const CRAB_ICRS = [83.633, 22.014] as const;
// The Crab in Galactic coordinates (astropy: SkyCoord(83.633, 22.014, unit='deg').galactic).
const CRAB_GALACTIC = [184.557, -5.784] as const;

function geom(frame: 'icrs' | 'galactic'): WcsGeom {
  const g = createWcsGeom({
    skydir: { lon: CRAB_ICRS[0], lat: CRAB_ICRS[1], frame: 'icrs' },
    frame,
    binsize: 0.02,
    width: [1.0, 0.8],
  });
  if (isGeomFailure(g)) throw new Error(g.message);
  return g;
}

/** An excess map with flat background and a bright excess in the pixel holding the Crab; its summary. */
function crabPeak(frame: 'icrs' | 'galactic') {
  const g = geom(frame);
  const [lon, lat] = frame === 'icrs' ? CRAB_ICRS : convertFrame('icrs', 'galactic', ...CRAB_ICRS);
  const [px, py] = skyToPixel(g.wcs, lon, lat).map(Math.round) as [number, number];
  const npix = g.nx * g.ny;
  const counts = new Float64Array(npix).fill(1);
  counts[py * g.nx + px] = 60;
  const r = excessMap({
    counts,
    background: new Float64Array(npix).fill(1),
    nx: g.nx,
    ny: g.ny,
    nEnergy: 1,
    energyEdgesReco: [1, 10],
    binsizeDeg: 0.02,
    correlationRadiusDeg: 0.01, // half a pixel: the disk is the pixel itself
  });
  if (!r.ok) throw new Error(r.message);
  const toSky = (x: number, y: number) => {
    const [l, b] = pixelToSky(g.wcs, x, y);
    return { lon: l, lat: b };
  };
  const summary = summarizeExcessMap(r.value, { pixelToSky: toSky });
  const peak = summary.peak;
  if (!peak?.sky) throw new Error('no peak');
  return { g, px, py, peak, named: namedSkyPosition(peak.sky, g.wcs.frame) };
}

describe('the peak position under its frame’s names', () => {
  it('galactic: glon/glat, the Crab’s galactic coordinates (within half a pixel)', () => {
    const { g, px, py, peak, named } = crabPeak('galactic');
    expect(g.wcs.frame).toBe('galactic');
    expect([peak.x, peak.y]).toEqual([px, py]);
    expect(Object.keys(named)).toEqual(['glon', 'glat']);
    const { glon, glat } = named as { glon: number; glat: number };
    expect(Math.abs(glon - CRAB_GALACTIC[0])).toBeLessThan(0.015);
    expect(Math.abs(glat - CRAB_GALACTIC[1])).toBeLessThan(0.015);
    // Not the ICRS position under other names.
    expect(Math.abs(glon - CRAB_ICRS[0])).toBeGreaterThan(90);
  });

  it('icrs: ra/dec, the Crab’s equatorial coordinates (within half a pixel)', () => {
    const { named } = crabPeak('icrs');
    expect(Object.keys(named)).toEqual(['ra', 'dec']);
    const { ra, dec } = named as { ra: number; dec: number };
    expect(Math.abs(ra - CRAB_ICRS[0])).toBeLessThan(0.015);
    expect(Math.abs(dec - CRAB_ICRS[1])).toBeLessThan(0.015);
  });

  it('skyAxisNames', () => {
    expect(skyAxisNames('icrs')).toEqual(['ra', 'dec']);
    expect(skyAxisNames('galactic')).toEqual(['glon', 'glat']);
    expect(() => skyAxisNames('fk5' as 'icrs')).toThrow(RangeError);
  });
});

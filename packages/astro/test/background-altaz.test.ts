// Background models aligned with alt/az (BKG_3D with FOVALIGN = ALTAZ), as gammapy 1.0 evaluates them
// (makers/utils.py make_map_background_irf): the map's pixels and the pointing in astropy's AltAz frame at the run's
// mid time and site, then sky_to_fov. The shipped Crab run 23523 with its BKG header card changed to ALTAZ.
//
// Reference numbers: gammapy 1.0 and astropy (Debian python3-gammapy, /usr/bin/python3, offline: astropy's bundled
// IERS-B). FoV coordinates: for each run, SkyCoord(RA_PNT + dra, DEC_PNT + ddec).transform_to(AltAz(obstime=mid time,
// location=GEOLON/GEOLAT/ALTITUDE)), then gammapy.utils.coordinates.sky_to_fov about the pointing's AltAz. Background:
// MapDatasetMaker(selection=['background']).run(MapDataset.create(geom), DataStore.from_dir(store).obs(23523)) on a
// 4° × 4° map at 0.02°, ten reco bins 1–10 TeV, centred on (83.633, 22.014), for the patched store and the original.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { referenceKernels } from '@pipe/kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataStore } from '../src/dl3/index.js';
import { utcToUt1 } from '../src/dl3/ut1.js';
import { isReductionFailure, loadObservationData, reduceObservation } from '../src/makers/index.js';
import { altAz, altAzFovCoords } from '../src/wcs/index.js';
import { crabGeometry } from './crab-geometry.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const STORE = path.join(repo, 'pipelines/excess_map/data/hess-dl3-dr1');
const RUN_FILE = 'data/hess_dl3_dr1_obs_id_023523.fits.gz';

/** astropy AltAz + sky_to_fov for two of the shipped runs: mid time (MJD TT), pointing, site, its alt/az, and FoV
 * coordinates (lon, lat) of the pointing offset by (1.5, 1.0), (−2.0, 0.5), (0.3, −1.7) degrees in (RA, Dec). */
const ASTROPY = [
  {
    run: 23523,
    tt: 53343.932102824074,
    ra: 83.633333333333,
    dec: 21.514444444444,
    az: 22.558341078881377,
    alt: 41.95080699440014,
    fov: [
      [-0.9020116472282114, -1.4560927505748074],
      [1.9099979163634475, 0.2275361501319535],
      [-0.9045462264724307, 1.466507732253951],
    ],
  },
  {
    run: 23526,
    tt: 53343.96395467593,
    ra: 83.633333333333,
    dec: 22.514444444444,
    az: 8.152411372980081,
    alt: 43.79225867107275,
    fov: [
      [-1.220515255126831, -1.190138391296536],
      [1.8944901010233146, -0.24864030062519488],
      [-0.5166176632826437, 1.6434108389577493],
    ],
  },
] as const;
const SITE = { lon: 16.5002222222222, lat: -23.2717777777778 };
const OFFSETS = [
  [1.5, 1.0],
  [-2.0, 0.5],
  [0.3, -1.7],
] as const;

/** gammapy 1.0's background of run 23523 on the 4° map: per reco bin sums, and a few pixels [e, y, x]. */
const GAMMAPY = {
  altaz: {
    perBin: [
      495.1277057798037, 355.20849252642034, 263.24735524044206, 205.59332823591845, 167.56055046271513,
      137.50334356841353, 112.09229188413632, 90.40042579621753, 72.41420652334662, 57.38506720266294,
    ],
    pixels: [
      [0, 100, 100, 0.01807410815883583],
      [0, 160, 40, 0.0065579493397491945],
      [5, 30, 170, 0.0038961576351946624],
      [9, 190, 20, 0.0],
    ],
  },
  radec: { perBin0: 507.5323208750601, pixel_9_190_20: 0.0012995705641765211 },
} as const;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pipe-altaz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the shipped store with run 23523's file edited by `edit` (FITS cards are 80 bytes: same length). */
function storeWith(name: string, edit: (fits: Buffer) => Buffer): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  for (const f of ['hdu-index.fits.gz', 'obs-index.fits.gz']) cpSync(path.join(STORE, f), path.join(dir, f));
  const raw = gunzipSync(readFileSync(path.join(STORE, RUN_FILE)));
  writeFileSync(path.join(dir, RUN_FILE), gzipSync(edit(raw)));
  return dir;
}

/** Replaces the 80-byte card that starts with `from` (in a header: at a multiple of 80 bytes) by `to`. */
function replaceCard(fits: Buffer, from: string, to: string): Buffer {
  let at = fits.indexOf(from, 0, 'latin1');
  while (at >= 0 && at % 80 !== 0) at = fits.indexOf(from, at + 1, 'latin1');
  if (at < 0) throw new Error(`card not found: ${from}`);
  const out = Buffer.from(fits);
  out.write(to.padEnd(80, ' '), at, 'latin1');
  return out;
}

const altAzCard = (fits: Buffer) => replaceCard(fits, "FOVALIGN= 'RADEC   '", "FOVALIGN= 'ALTAZ   '");

async function reduceRun(store: string) {
  const obs = await loadObservationData((await openDataStore(store)).observation(23523));
  if ('reason' in obs) throw new Error(obs.message);
  return reduceObservation(
    obs,
    crabGeometry(4.0),
    {
      maps: ['counts', 'exposure', 'background'],
      safeMask: { methods: ['aeff-default'] },
      background: { method: 'none' },
    },
    referenceKernels,
  );
}

describe('alt/az frame', () => {
  it("puts the pointing where astropy's AltAz does and gives sky_to_fov's FoV coordinates (UT1 from the bundled IERS table)", () => {
    for (const r of ASTROPY) {
      const utc = r.tt - (32.184 + 32) / 86400; // TAI − UTC was 32 s in December 2004
      const epoch = { tt: r.tt, ut1: utcToUt1(utc) };
      const [az, alt] = altAz(r.ra, r.dec, epoch, SITE);
      // Aberration to first order and four nutation terms: the absolute position within 1″.
      expect(Math.abs(az - r.az)).toBeLessThan(3e-4);
      expect(Math.abs(alt - r.alt)).toBeLessThan(3e-4);
      const fov = altAzFovCoords(
        Float64Array.from(OFFSETS, ([d]) => r.ra + d),
        Float64Array.from(OFFSETS, ([, d]) => r.dec + d),
        { ra: r.ra, dec: r.dec },
        epoch,
        SITE,
      );
      r.fov.forEach(([lon, lat], i) => {
        expect(Math.abs((fov.lon[i] as number) - lon), `run ${r.run} point ${i} lon`).toBeLessThan(2e-5);
        expect(Math.abs((fov.lat[i] as number) - lat), `run ${r.run} point ${i} lat`).toBeLessThan(2e-5);
      });
    }
  });

  it("takes UT1 from astropy's IERS-B values (run 23523: UT1 − UTC = −0.490 s)", () => {
    const utc = 53343.932102824074 - 64.184 / 86400;
    expect(Math.abs((utcToUt1(utc) - 53343.93135428401) * 86400)).toBeLessThan(0.005);
  });
});

describe('a background aligned with alt/az (FOVALIGN = ALTAZ)', () => {
  let altaz: Awaited<ReturnType<typeof reduceRun>>;
  let radec: Awaited<ReturnType<typeof reduceRun>>;
  beforeAll(async () => {
    altaz = await reduceRun(storeWith('altaz', altAzCard));
    radec = await reduceRun(STORE);
  }, 60_000);

  /** Background of reco bin `e` at map pixel (y, x), and the sum of bin `e`, of a reduction. */
  function background(r: typeof altaz) {
    if (isReductionFailure(r)) throw new Error(r.message);
    const { background: b, geom, placement } = r.dataset;
    const n = geom.nx * geom.ny;
    return {
      at: (e: number, y: number, x: number) =>
        b[e * n + (y - placement.y0) * geom.nx + (x - placement.x0)] as number,
      sum: (e: number) => {
        let s = 0;
        for (let p = 0; p < n; p++) s += b[e * n + p] as number;
        return s;
      },
    };
  }

  it("is the background gammapy 1.0 computes in alt/az, and differs from the RA/Dec-aligned one as gammapy's does", () => {
    const got = background(altaz);
    GAMMAPY.altaz.perBin.forEach((want, e) => {
      expect(Math.abs(got.sum(e) - want) / want, `bin ${e}`).toBeLessThan(1e-5);
    });
    for (const [e, y, x, want] of GAMMAPY.altaz.pixels) {
      if (want === 0) expect(got.at(e, y, x), `[${e}, ${y}, ${x}]`).toBe(0);
      else expect(Math.abs(got.at(e, y, x) - want) / want, `[${e}, ${y}, ${x}]`).toBeLessThan(1e-5);
    }
    // The same run with its original card: gammapy's RA/Dec-aligned numbers, 2.5% above in the first bin, and the
    // pixel that is 0 in alt/az is not.
    const other = background(radec);
    expect(Math.abs(other.sum(0) - GAMMAPY.radec.perBin0) / GAMMAPY.radec.perBin0).toBeLessThan(1e-5);
    expect(
      Math.abs(other.at(9, 190, 20) - GAMMAPY.radec.pixel_9_190_20) / GAMMAPY.radec.pixel_9_190_20,
    ).toBeLessThan(1e-5);
    expect(Math.abs(got.sum(0) - other.sum(0)) / other.sum(0)).toBeGreaterThan(0.02);
  });

  it('needs the observatory and the times from the EVENTS header: a missing, blank or heightless site fails the run, naming the keyword and the file', async () => {
    const cases: Array<[string, (fits: Buffer) => Buffer, string]> = [
      ['no-geolon', (f) => replaceCard(f, 'GEOLON  =', 'COMMENT GEOLON removed'), 'GEOLON is missing'],
      ['blank-geolat', (f) => replaceCard(f, 'GEOLAT  =', "GEOLAT  = ''"), 'GEOLAT is "", not a number'],
      [
        'no-altitude',
        (f) => replaceCard(f, 'ALTITUDE=', 'COMMENT ALTITUDE removed'),
        'GEOALT or ALTITUDE is missing (gammapy refuses a site without its height)',
      ],
    ];
    for (const [name, edit, expected] of cases) {
      const store = storeWith(name, (fits) => altAzCard(edit(fits)));
      const r = await reduceRun(store);
      if (!isReductionFailure(r)) throw new Error(`${name}: expected a failure`);
      expect(r.message).toContain('OBS_ID 23523: the background');
      expect(r.message).toContain('is aligned with alt/az (FOVALIGN=ALTAZ)');
      expect(r.message).toContain(`${path.join(store, RUN_FILE)} [EVENTS]: ${expected}`);
    }
  });
});

// An exclusion mask written as a cube with an energy axis (gammapy's `~geom.region_mask(...)` on a geometry that has
// one): gammapy's FoVBackgroundMaker interpolates it onto the run's reco bins, and a bin whose centre the cube's
// energy axis does not reach finds no plane there, so that bin is excluded from the FoV normalisation. pipe read
// the cube as one 2-D mask for every energy, and its norms differed (run 23523: 0.9590 for 0.8924).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceKernels } from '@pipe/kernels';
import { afterAll, expect, it } from 'vitest';
import { openDataStore } from '../src/dl3/index.js';
import { readFitsSync, writeMapFits } from '../src/fits/index.js';
import { isEnergyAxisFailure, logEnergyAxis } from '../src/geom/energy-axis.js';
import {
  isReductionFailure,
  loadObservationData,
  type ReductionConfig,
  readSkyMask,
  reduceObservation,
} from '../src/makers/index.js';
import { crabGeometry } from './crab-geometry.js';
import { SHARED } from './shared-dir.js';

const EXCLUSION = `${SHARED}/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz`;
const dir = mkdtempSync(join(tmpdir(), 'exclusion-cube-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('excludes from the FoV norm the reco bins a cube mask has no plane for, as gammapy does', async () => {
  // The Crab mask as a one-plane cube over 0.5–3 TeV: of the ten 1–10 TeV reco bins, the first five have their
  // centre inside.
  const src = readFitsSync(EXCLUSION).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const wcsHeader = src.header.cards
    .filter((c) => /^(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|RADESYS|EQUINOX|LONPOLE|LATPOLE)/.test(c.key))
    .map((c) => ({ key: c.key, value: c.value }));
  // int64 in the file: BigInt values.
  const data = Uint8Array.from(src.image().data as ArrayLike<number | bigint>, (v) =>
    Number(v) !== 0 ? 1 : 0,
  );
  const file = join(dir, 'cube.fits');
  writeMapFits(file, {
    data,
    shape: [1, ny, nx],
    wcsHeader,
    axis: { kind: 'reco', edges: [0.5, 3], unit: 'TeV' },
  });
  const cube = readSkyMask(file);
  if ('reason' in cube) throw new Error(cube.message);
  expect(cube.energyRange).toEqual({ min: 0.5, max: 3 });
  const flat = readSkyMask(EXCLUSION);
  if ('reason' in flat) throw new Error(flat.message);
  expect(flat.energyRange).toBeUndefined();

  const store = await openDataStore(`${SHARED}/data/hess-dl3-dr1`);
  const rg = crabGeometry();
  // gammapy 1.0 (Debian python3-gammapy): the crab.yaml analysis with stack: false on runs 23523 and 23526, the
  // exclusion mask written as above (Map.from_geom(mask.geom.to_cube([MapAxis.from_energy_bounds("0.5 TeV",
  // "3 TeV", nbin=1)]))), then each dataset's background_model norm; with the 2-D mask: 0.95899…, 1.02723….
  const expected: Record<number, number> = { 23523: 0.8923828703455392, 23526: 1.0382466244566733 };
  for (const [id, norm] of Object.entries(expected)) {
    const obs = await loadObservationData(store.observation(Number(id)));
    if ('reason' in obs) throw new Error(obs.message);
    const config: ReductionConfig = {
      maps: ['counts', 'exposure', 'background'],
      safeMask: { methods: ['aeff-default'] },
      background: { method: 'fov_background', exclusion: cube },
    };
    const r = reduceObservation(obs, rg, config, referenceKernels);
    if (isReductionFailure(r)) throw new Error(r.message);
    expect(Math.abs((r.dataset.runs[0]?.fovNorm as number) / norm - 1), id).toBeLessThan(1e-7);
    // The run's own safe mask keeps the bins: only the norm leaves them out.
    expect(r.dataset.maskSafe.every((v) => v === 1)).toBe(true);
    expect(r.warnings.map((w) => w.message)).toContain(
      'the exclusion mask is a cube whose energy axis (0.5000–3.000 TeV) does not reach the centre of reco bins ' +
        '3.162–3.981, 3.981–5.012, 5.012–6.310, 6.310–7.943, 7.943–10.00 TeV: as in gammapy, those bins are excluded ' +
        'from the FoV normalisation (a 2-D mask applies at every energy)',
    );
  }
}, 60_000);

// The ring's one bin outside such a cube's energy axis: gammapy's background came out 0 in every pixel (crab-ring.yaml
// on runs 23523 and 23526 with the cube above, gammapy 1.0); pipe made a ring background as if the mask were 2-D.
it('refuses a ring background whose reco bin a cube mask has no plane for', async () => {
  const cube = readSkyMask(join(dir, 'cube.fits'));
  if ('reason' in cube) throw new Error(cube.message);
  const store = await openDataStore(`${SHARED}/data/hess-dl3-dr1`);
  const one = crabGeometry();
  const energy = logEnergyAxis('reco', 1, 10, 1);
  if (isEnergyAxisFailure(energy)) throw new Error(energy.message);
  const obs = await loadObservationData(store.observation(23523));
  if ('reason' in obs) throw new Error(obs.message);
  const r = reduceObservation(
    obs,
    { ...one, energy },
    {
      maps: ['counts', 'exposure', 'background'],
      safeMask: { methods: ['aeff-default'] },
      background: { method: 'ring', rIn: 0.5, width: 0.3, exclusion: cube },
    },
    referenceKernels,
  );
  expect(isReductionFailure(r) && [r.reason, r.message, r.param]).toEqual([
    'exclusion-outside',
    'OBS_ID 23523: the exclusion mask is a cube whose energy axis (0.5000–3.000 TeV) does not reach the centre of the reco energy bin: the ring background needs the mask at that energy (gammapy 1.0 finds no plane there and its background comes out 0 everywhere); use a 2-D mask',
    ['datasets', 'background', 'exclusion'],
  ]);
}, 60_000);

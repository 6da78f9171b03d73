// `pipe build excess_map` on the shipped Crab runs with the exclusion mask in another projection: gammapy reads a mask
// in any projection (wcslib), pipe read CAR and TAN only and failed every run on, e.g., an AIT mask.
import { readFitsSync, writeFits } from '@pipe/astro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const MASKS = 'pipelines/excess_map/data/joint-crab/exclusion';
const SHIPPED = `$GAMMAPY_DATA/joint-crab/exclusion/exclusion_mask_crab.fits.gz`;
// gammapy 1.0's per-run FoV norms with the shipped mask (excess-map.test.ts, science spec §10).
const GAMMAPY_NORMS = [0.9589927682, 1.0272310357, 0.912078023, 1.0464022552];

/**
 * The shipped mask (TAN, 250 × 250 at 0.02° about the Crab) as the same image in `projection`: same grid, reference
 * point and frame, so it covers the same region up to the difference between the projections, < 0.1 mask pixel at
 * the mask's 2.5° edge for CAR, AIT and ZEA. Written with pipe's FITS writer.
 */
function writeMask(ws: Workspace, projection: string): string {
  const src = readFitsSync(ws.path(`${MASKS}/exclusion_mask_crab.fits.gz`)).hdu(0);
  const [nx, ny] = src.image().naxes as [number, number];
  const data = Uint8Array.from(src.image().data as ArrayLike<number | bigint>, (v) =>
    Number(v) !== 0 ? 1 : 0,
  );
  const cards = src.header.cards
    .filter((c) => /^(C|WCSAXES|RADESYS)/.test(c.key))
    .map((c) => {
      if (c.key === 'CTYPE1') return { key: c.key, value: `RA---${projection}` };
      if (c.key === 'CTYPE2') return { key: c.key, value: `DEC--${projection}` };
      return { ...c };
    });
  const name = `exclusion_mask_crab_${projection.toLowerCase()}.fits`;
  writeFits(ws.path(`${MASKS}/${name}`), [{ kind: 'image', data, shape: [nx, ny], cards }]);
  return `$GAMMAPY_DATA/joint-crab/exclusion/${name}`;
}

describe('pipe build excess_map with an AIT exclusion mask (Crab, shipped data)', () => {
  let ws: Workspace;
  const config = 'pipelines/excess_map/crab.yaml';
  let crab: string;
  const norms = (): number[] =>
    JSON.parse(ws.read('products/excess_map/summary.json')).per_observation.map(
      (r: { fov_bkg_norm: number }) => r.fov_bkg_norm,
    );
  const buildWith = async (mask: string) => {
    ws.write(config, crab.replace(SHIPPED, mask));
    return ws.build(['excess_map']);
  };
  let ait: number[];
  let car: number[];

  beforeAll(async () => {
    ws = crabWorkspace();
    crab = ws.read(config);
    expect(crab).toContain(SHIPPED);
    const first = await buildWith(writeMask(ws, 'AIT'));
    expect(first.run.code, first.run.stdout + first.run.stderr).toBe(0);
    ait = norms();
    const second = await buildWith(writeMask(ws, 'CAR'));
    expect(second.run.code, second.run.stdout + second.run.stderr).toBe(0);
    // The mask is an input of every run's reduction: a new mask reruns them.
    expect(second.ended['ran']).toContain('datasets[23523]');
    car = norms();
  }, 480_000);
  afterAll(() => ws?.remove('.'));

  it('gives the FoV norms of the equivalent CAR mask, and gammapy 1.0 with the shipped TAN mask', () => {
    expect(ait).toHaveLength(4);
    // Map pixel centres (0.02° CAR about the same point) fall on mask pixel centres; the projections move them by
    // < 0.1 mask pixel, so both masks exclude the same map pixels and the norms are the same sums. The 1e-12 only
    // leaves room for the last bits; one map pixel excluded differently moves a norm by ~1e-4.
    for (const [i, n] of ait.entries()) expect(Math.abs(n / (car[i] as number) - 1)).toBeLessThan(1e-12);
    // gammapy's numbers, to the tolerance excess-map.test.ts holds the shipped mask to.
    for (const [i, n] of GAMMAPY_NORMS.entries())
      expect(Math.abs((ait[i] as number) / n - 1)).toBeLessThan(1e-7);
  });

  it('fails every run on a projection it does not read, naming the file, its HDU, the CTYPE and the setting', async () => {
    const broken = await buildWith(writeMask(ws, 'BON'));
    expect(broken.run.code).toBe(1);
    // Every run's reduction reads the mask; the build stops after the first failures.
    expect(broken.ended['failed']?.length).toBeGreaterThan(0);
    for (const id of broken.ended['failed'] ?? []) expect(id).toMatch(/^datasets\[\d+\]$/);
    expect(broken.ended['ran'] ?? []).not.toContain('excess_map');
    expect(broken.run.stdout + broken.run.stderr).toMatch(
      /exclusion_mask_crab_bon\.fits \[PRIMARY\]: projection RA---BON\/DEC--BON is not supported \(CTYPE1 'RA---BON'/,
    );
    // The config setting that names the mask, with its place (crab.yaml: `exclusion:` on line 18).
    expect(broken.run.stdout + broken.run.stderr).toMatch(
      /datasets\.background\.exclusion: \S+ \[PRIMARY\]: projection RA---BON.*; gammapy 1\.0 reads it, pipe cannot; set at \S*crab\.yaml:18:\d+/,
    );
  });
});

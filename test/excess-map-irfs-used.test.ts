// A run is reduced with the IRFs the analysis uses, as gammapy reads them: a store whose run file lacks its BKG
// HDU still serves an analysis that makes no background map (it failed with "[HDU 'bkg']: no such HDU"), and one
// that makes a background map names the missing HDU. Likewise for a BKG row of the HDU index that names a file
// which does not exist (the selection refused the whole store).

import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, type Workspace } from './rig.js';

const RUN = 'pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023526.fits.gz';

/** The FITS bytes up to the HDU named `extname` (its header starts a 2880-byte block): the HDUs before it. */
function withoutHdusFrom(fits: Buffer, extname: string): Buffer {
  for (let at = 2880; at < fits.length; at += 2880) {
    const header = fits.subarray(at, at + 2880).toString('latin1');
    if (header.startsWith('XTENSION') && new RegExp(`EXTNAME = '${extname}\\s*'`).test(header))
      return fits.subarray(0, at);
  }
  throw new Error(`no HDU ${extname}`);
}

/** The HDU index with run 23526's BKG row naming a file that does not exist (same length: the row stays valid). */
function withBkgRowToMissingFile(index: Buffer): Buffer {
  const name = Buffer.from('hess_dl3_dr1_obs_id_023526.fits.gz', 'latin1');
  // A row: OBS_ID (8 bytes), HDU_TYPE (6), HDU_CLASS (9), FILE_DIR (4), FILE_NAME (34), HDU_NAME (6), SIZE (8).
  for (let at = index.indexOf(name); at >= 0; at = index.indexOf(name, at + 1))
    if (index.subarray(at - 19, at - 16).toString('latin1') === 'bkg') {
      const out = Buffer.from(index);
      out.write('hess_dl3_dr1_obs_id_023526.fits.gX', at, 'latin1');
      return out;
    }
  throw new Error('no bkg row of run 23526');
}

/** The HDU index with run 23526's BKG row moved to run 23527 (not in the obs index): 23526 has no BKG row. */
function withoutBkgRow(index: Buffer): Buffer {
  const name = Buffer.from('hess_dl3_dr1_obs_id_023526.fits.gz', 'latin1');
  for (let at = index.indexOf(name); at >= 0; at = index.indexOf(name, at + 1))
    if (index.subarray(at - 19, at - 16).toString('latin1') === 'bkg') {
      const out = Buffer.from(index);
      out.writeBigInt64BE(23527n, at - 27);
      return out;
    }
  throw new Error('no bkg row of run 23526');
}

/** The Crab config without a background map (and without bkg in required_irf), as nobkg.yaml. */
function writeNoBackgroundConfig(ws: Workspace): void {
  const crab = ws.read('pipelines/excess_map/crab.yaml');
  const start = crab.indexOf('  background: {method: fov_background');
  const end = crab.indexOf('  safe_mask:');
  expect(start).toBeGreaterThan(0);
  ws.write(
    'nobkg.yaml',
    `${crab.slice(0, start)}  background: {method: null}\n${crab.slice(end)}`
      .replace('required_irf: [aeff, edisp, psf, bkg]', 'required_irf: [aeff, edisp, psf]')
      .replace(
        'map_selection: [counts, exposure, background, psf, edisp]',
        'map_selection: [counts, exposure, psf, edisp]',
      ),
  );
}

describe('a run reduced with the IRFs the analysis uses', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
    // The last HDU of a DR1 run file is BKG: cut it off; the HDU index still names it.
    const fits = gunzipSync(readFileSync(ws.path(RUN)));
    writeFileSync(ws.path(RUN), gzipSync(withoutHdusFrom(fits, 'BKG')));
    writeNoBackgroundConfig(ws);
  });
  afterAll(() => ws?.remove('.'));

  it('builds an analysis without a background map from a run whose file has no BKG HDU', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.exists('products/excess_map/counts.fits.gz')).toBe(true);
  });

  it('names the missing HDU when the analysis makes a background map', async () => {
    const r = await ws.run(['build', 'excess_map']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hess_dl3_dr1_obs_id_023526.fits.gz[HDU 'bkg']: no such HDU");
  });
});

describe('an HDU index whose BKG row names a missing file', () => {
  let ws: Workspace;
  const INDEX = 'pipelines/excess_map/data/hess-dl3-dr1/hdu-index.fits.gz';
  beforeAll(() => {
    ws = crabWorkspace();
    writeFileSync(
      ws.path(INDEX),
      gzipSync(withBkgRowToMissingFile(gunzipSync(readFileSync(ws.path(INDEX))))),
    );
    writeNoBackgroundConfig(ws);
  });
  afterAll(() => ws?.remove('.'));

  it('serves an analysis without a background map, warning of the missing file', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /OBS_ID 23526: \S*hess_dl3_dr1_obs_id_023526\.fits\.gX.* not found: its bkg HDU is left out/,
    );
    expect(ws.exists('products/excess_map/counts.fits.gz')).toBe(true);
  });

  it('fails the run, naming the file, when the analysis makes a background map', async () => {
    const before = ws.exists('products/excess_map/counts.fits.gz')
      ? readFileSync(ws.path('products/excess_map/counts.fits.gz'))
      : undefined;
    // bkg is used (map_selection) but not required (required_irf): the selection keeps the run, its reduction fails.
    ws.write(
      'bkg-not-required.yaml',
      ws
        .read('pipelines/excess_map/crab.yaml')
        .replace('required_irf: [aeff, edisp, psf, bkg]', 'required_irf: [aeff, edisp, psf]'),
    );
    const r = await ws.run(['build', 'excess_map', '--config', 'bkg-not-required.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED\s+datasets\[23526\]: .*hess_dl3_dr1_obs_id_023526\.fits\.gX.* not found — needed for bkg/,
    );
    // The setting that asks for the background map is named where it was written (crab.yaml line 16).
    expect(r.stderr).toMatch(
      /needed for bkg \(datasets\.map_selection has background\); set at bkg-not-required\.yaml:16:18/,
    );
    // The failed build leaves the earlier build's products as they were.
    if (before) expect(readFileSync(ws.path('products/excess_map/counts.fits.gz')).equals(before)).toBe(true);
  });
});

describe('an HDU index without a BKG row for a run', () => {
  // gammapy 1.0 keeps the run when required_irf leaves out bkg, and its MapDatasetMaker then fails on the missing
  // background ("'NoneType' object has no attribute 'interp_missing_data'"). pipe made that run's background map all
  // zero without a word, which then masked nothing (test/excess-map-zero-background-run.test.ts).
  let ws: Workspace;
  const INDEX = 'pipelines/excess_map/data/hess-dl3-dr1/hdu-index.fits.gz';
  beforeAll(() => {
    ws = crabWorkspace();
    writeFileSync(ws.path(INDEX), gzipSync(withoutBkgRow(gunzipSync(readFileSync(ws.path(INDEX))))));
    writeNoBackgroundConfig(ws);
  });
  afterAll(() => ws?.remove('.'));

  it('serves an analysis without a background map', async () => {
    const r = await ws.run(['build', 'excess_map', '--config', 'nobkg.yaml']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('fails the run, naming map_selection, when the analysis makes a background map', async () => {
    ws.write(
      'bkg-not-required.yaml',
      ws
        .read('pipelines/excess_map/crab.yaml')
        .replace('required_irf: [aeff, edisp, psf, bkg]', 'required_irf: [aeff, edisp, psf]'),
    );
    const r = await ws.run(['build', 'excess_map', '--config', 'bkg-not-required.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED\s+datasets\[23526\]: .*OBS_ID 23526: map_selection lists background but the run has no BKG \(the HDU index names none\); set at bkg-not-required\.yaml:16:18/,
    );
  });
});

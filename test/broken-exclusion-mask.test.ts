/**
 * An exclusion mask the config names that is no mask (a FITS table, an empty file), as a user meets it:
 * `pipe build excess_map --config mine.yaml --out DIR` after a good build to DIR. The run fails naming the mask file
 * and, like every other value a step blames, where the config sets it (`set at mine.yaml:18:27`); it said only the
 * file before, so a user of several configs had to find which one named it. DIR keeps the last good build's products,
 * and the cache stays clean.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, REPO_ROOT, type Workspace } from './rig.js';

const CRAB = readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/crab.yaml'), 'utf8');
const MASK = '$GAMMAPY_DATA/joint-crab/exclusion/exclusion_mask_crab.fits.gz';

describe('pipe build excess_map --config: an exclusion mask file that is no mask', () => {
  let ws: Workspace;
  let good: Record<string, string>;
  const snapshot = () =>
    Object.fromEntries(
      readdirSync(ws.path('out')).map((f) => [f, readFileSync(ws.path(`out/${f}`), 'latin1')]),
    );
  beforeAll(async () => {
    ws = crabWorkspace();
    const b = await ws.run(['build', 'excess_map', '--out', 'out']);
    expect(b.code, b.stderr).toBe(0);
    good = snapshot();
  }, 120_000);
  afterAll(() => ws?.remove('.'));

  it.each([
    {
      name: 'a FITS table (the obs index) named as the mask',
      file: 'pipelines/excess_map/data/hess-dl3-dr1/obs-index.fits.gz',
      message: 'no image HDU with data (HDUs 0:PRIMARY empty, 1:OBS_INDEX bintable)',
    },
    {
      name: 'an empty file',
      file: 'empty.fits.gz',
      message: 'file is 0 bytes, less than one 2880-byte FITS block',
    },
  ])(
    '$name: the file and the config place are named; products and cache intact',
    async ({ file, message }) => {
      ws.write('empty.fits.gz', '');
      const text = CRAB.replace(MASK, ws.path(file));
      expect(text).not.toBe(CRAB);
      ws.write('mine.yaml', text);
      const line = text.split('\n').findIndex((l) => l.includes(ws.path(file))) + 1;
      const col = (text.split('\n')[line - 1] as string).indexOf(ws.path(file)) + 1;
      const r = await ws.run(['build', 'excess_map', '--config', 'mine.yaml', '--out', 'out']);
      const output = r.stdout + r.stderr;
      expect(r.code, output).toBe(1);
      expect(output).toContain(`${ws.path(file)}: ${message}`);
      expect(output).toContain(`; set at mine.yaml:${line}:${col}`);
      expect(output).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
      expect(snapshot()).toEqual(good);
      const verify = await ws.run(['cache', 'verify']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toContain('no corrupt entry');
    },
    120_000,
  );
});

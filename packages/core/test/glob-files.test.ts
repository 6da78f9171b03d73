// globFiles answers one-segment patterns by listing the folder: it must match exactly what tinyglobby (the walker
// it replaces there) matches, on names that trip glob matchers.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeGlob, globFiles, globItems, literalPath, matchFiles } from '../src/graph/items.js';

let dir: string;
const NAMES = [
  'run_023523.fits.gz',
  'run_023526.fits',
  'hdu-index.fits.gz',
  'obs-index.fits',
  '.hidden.fits',
  'a b.fits',
  'x[1].fits',
  'café.fits',
  'UPPER.FITS',
  'notes.txt',
];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-glob-'));
  for (const n of NAMES) writeFileSync(path.join(dir, n), n);
  mkdirSync(path.join(dir, 'sub.fits')); // a folder whose name matches
  writeFileSync(path.join(dir, 'sub.fits', 'deep.fits'), '');
  symlinkSync(path.join(dir, 'run_023526.fits'), path.join(dir, 'link.fits')); // to a file: matched
  symlinkSync(path.join(dir, 'sub.fits'), path.join(dir, 'linkdir.fits')); // to a folder: not a file
  symlinkSync(path.join(dir, 'gone'), path.join(dir, 'broken.fits')); // dangling
  symlinkSync('loop.fits', path.join(dir, 'loop.fits')); // a loop: stat fails with ELOOP, tinyglobby skips it
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('globFiles', () => {
  const patterns = [
    '*',
    '*.fits',
    '*.fits*',
    'run_*.fits*',
    'hdu-index.fits*',
    '.*',
    '*.{fits,txt}',
    'run_0235[2-3]?.fits*',
    '!(*.txt)',
    '*.FITS',
    'x\\[1\\].fits',
    'nothing-*.fits',
    '[!a-r]*', // a negated class, as in a shell (picomatch reads it so only with posix: true)
    'run_0235[!3]?.fits*',
    '[^a-r]*',
    '!*.txt', // a leading '!' is an exclusion for tinyglobby: alone, it matches nothing
    '!run_*',
    '!!run_*',
  ];
  for (const p of patterns)
    it(`matches what tinyglobby matches for ${p}`, () => {
      const oracle = globSync(p, { cwd: dir, onlyFiles: true, expandDirectories: false }).sort();
      expect(globFiles(dir, p)).toEqual(oracle);
    });

  it('is empty for a folder that does not exist', () => {
    expect(globFiles(path.join(dir, 'missing'), '*.fits')).toEqual([]);
  });

  it('still walks deeper patterns', () => {
    expect(globFiles(dir, '**/*.fits')).toContain('sub.fits/deep.fits');
    expect(matchFiles(`${dir}/*/deep.fits`, '/')).toEqual([
      `${dir}/linkdir.fits/deep.fits`, // tinyglobby follows the link to the folder
      `${dir}/sub.fits/deep.fits`,
    ]);
  });

  it('gives foreach items their ids from the names it lists', () => {
    expect(globItems(`${dir}/run_*.fits*`, '/').map((i) => i.id)).toEqual(['run_023523', 'run_023526']);
  });

  it('takes a root and escaped folders literally: a workspace in "pipe (copy) {b} [1]" finds its inputs', () => {
    const root = path.join(dir, 'pipe (copy) {b} [1]');
    mkdirSync(path.join(root, 'data (2021)'), { recursive: true });
    writeFileSync(path.join(root, 'data (2021)', 'run_1.fits'), 'x');
    // before: '(copy)' an extglob, '{b}' a brace list: nothing matched
    expect(matchFiles('data \\(2021\\)/run_*.fits', root)).toEqual([`${root}/data (2021)/run_1.fits`]);
    expect(matchFiles('data \\(2021\\)/run_1.fits', root)).toEqual([`${root}/data (2021)/run_1.fits`]);
    expect(globItems('data \\(2021\\)/*.fits', root).map((i) => i.id)).toEqual(['run_1']);
    expect(literalPath('a\\(b\\)[{]c[}]')).toBe('a(b){c}');
    expect(escapeGlob('/x (1)/{a}/[b]*')).toBe('/x \\(1\\)/[{]a[}]/\\[b\\]\\*');
  });
});

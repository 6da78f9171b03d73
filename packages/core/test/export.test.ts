import { describe, expect, it } from 'vitest';
import { commonFolder } from '../src/store/export.js';

describe('pipe build --out: names below the outputs’ common folder', () => {
  it('strips the folder every output shares, keeps the ones below it', () => {
    expect(commonFolder(['products/excess_map/counts.fits.gz', 'products/excess_map/flux.png'])).toBe(
      'products/excess_map',
    );
    expect(commonFolder(['products/a/x.fits', 'products/b/y.fits', 'products/b/c/z.fits'])).toBe('products');
    expect(commonFolder(['out/count.txt'])).toBe('out');
    expect(commonFolder(['a.txt', 'out/b.txt'])).toBe('');
    expect(commonFolder(['ab/x', 'abc/y'])).toBe('');
    expect(commonFolder([])).toBe('');
  });
});

/**
 * The warning of a `--force` run that wrote other bytes than the cache entry under its key (store/reproduced.ts):
 * when the entry was made with another zlib than this run's, it says so (a .gz product may differ by that alone).
 */
import { expect, it } from 'vitest';
import { notReproducedText } from '../src/store/reproduced.js';

const outputs = (sha: string) => [{ name: 'map', path: 'products/map.fits.gz', sha256: sha.repeat(64) }];
const entry = (provenance: Record<string, unknown>) => ({ outputs: outputs('a'), provenance });

it('names the zlib the entry was made with when this run has another', () => {
  const text = notReproducedText(
    'maps',
    entry({
      buildId: 'b1',
      step: { name: 'excess_map' },
      versions: { pipe: '0.1.0', node: 'v20.1.0', zlib: '1.2.13' },
    }),
    outputs('b'),
    '1.3.0.1-motley',
  );
  expect(text).toContain(
    'The cache entry was made with zlib 1.2.13 and this run with zlib 1.3.0.1-motley: gzip-compressed products (.gz) may differ in their bytes between zlib versions alone',
  );
});

it('says nothing of zlib when it is the same, unrecorded, or a command made the products', () => {
  const same = notReproducedText(
    'maps',
    entry({ buildId: 'b1', step: { name: 'excess_map' }, versions: { zlib: '1.3.0.1-motley' } }),
    outputs('b'),
    '1.3.0.1-motley',
  );
  const older = notReproducedText(
    'maps',
    entry({ buildId: 'b1', versions: { pipe: '0.1.0' } }),
    outputs('b'),
    '1.3',
  );
  const command = notReproducedText(
    'maps',
    entry({ buildId: 'b1', step: { name: 'command' }, versions: { zlib: '1.2.13' } }),
    outputs('b'),
    '1.3',
  );
  for (const text of [same, older, command]) {
    expect(text).toMatch(/^maps: not reproduced: /);
    expect(text).not.toContain('zlib');
  }
  // The same bytes: nothing to say.
  expect(
    notReproducedText('maps', entry({ versions: { zlib: '1.2.13' } }), outputs('a'), '1.3'),
  ).toBeUndefined();
});

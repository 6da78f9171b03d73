import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareProductDirs } from '@pipe/core';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { pngComparator } from '../src/compare/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A 100×100 gradient, with `change` applied to its RGBA bytes, written as RGBA (colour type 6) or RGB (2). */
function image(change: (data: Buffer) => void = () => {}, colorType: 2 | 6 = 6, width = 100): Buffer {
  const png = new PNG({ width, height: 100 });
  for (let p = 0; p < width * 100; p++) png.data.set([p % 256, (p >> 2) % 256, 128, 255], 4 * p);
  change(png.data);
  return PNG.sync.write(png, { colorType });
}

async function compare(ref: Buffer, neu: Buffer) {
  const [a, b] = [mkdtempSync(join(tmpdir(), 'pipe-png-')), mkdtempSync(join(tmpdir(), 'pipe-png-'))];
  dirs.push(a, b);
  writeFileSync(join(a, 'sqrt_ts.png'), ref);
  writeFileSync(join(b, 'sqrt_ts.png'), neu);
  const r = await compareProductDirs(a, b, { comparators: [pngComparator()] });
  if (!r.ok) throw new Error(r.message);
  return r.report.products[0]!;
}

// Found by a review: quick-looks were compared byte for byte, so a PNG re-encoded with the same pixels, or one whose
// map moved within its tolerance (its colour scale follows the map), failed a regression run the FITS maps passed.
describe('pngComparator', () => {
  it('the same pixels encoded otherwise are the same image', async () => {
    const a = image();
    const b = image(undefined, 2);
    expect(a.equals(b)).toBe(false);
    expect((await compare(a, b)).status).toBe('identical');
  });

  it('a few pixels a colour level off are within tolerance; many, or far, are a difference', async () => {
    const nudge = (count: number, by: number) => (d: Buffer) => {
      // the blue channel (128 everywhere) of `count` distinct pixels
      for (let p = 0; p < count; p++) d[4 * ((p * 7) % 10000) + 2]! += by;
    };
    expect((await compare(image(), image(nudge(50, 2)))).status).toBe('within-tolerance');
    const many = await compare(image(), image(nudge(500, 2)));
    expect(many.status).toBe('different');
    expect(many.details[0]).toMatchObject({ differing: 500, elements: 10000, maxAbsDiff: 2 });
    expect((await compare(image(), image(nudge(3, 100)))).status).toBe('different');
  });

  it('another size is a difference, an unreadable file an error', async () => {
    const resized = await compare(image(), image(undefined, 6, 90));
    expect(resized.status).toBe('different');
    expect(resized.details[0]!.message).toBe('size 100×100 in the reference, 90×100 in the new image');
    const broken = await compare(image(), Buffer.from('not a png'));
    expect(broken.status).toBe('error');
  });
});

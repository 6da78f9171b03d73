import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Task } from '../src/model/types.js';
import { commonFolder, exportOutputs } from '../src/store/export.js';

/** Called as each copy starts (a test's hook), before the real copy. */
let onCopy: ((src: string) => void) | undefined;
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    copyFile: (src: string, dest: string) => {
      onCopy?.(src);
      return fs.copyFile(src, dest);
    },
  };
});

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

/** A workspace with two products (a, b) of target t, and an --out folder holding an earlier copy of a. */
function productsAndEarlierCopy(): { root: string; out: string; task: Task } {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-export-'));
  mkdirSync(path.join(root, 'products'));
  writeFileSync(path.join(root, 'products', 'a.txt'), 'new a');
  writeFileSync(path.join(root, 'products', 'b.txt'), 'new b');
  const out = path.join(root, 'out');
  mkdirSync(out);
  writeFileSync(path.join(out, 'a.txt'), 'old a');
  const task = {
    target: 't',
    outputs: { a: path.join(root, 'products', 'a.txt'), b: path.join(root, 'products', 'b.txt') },
  } as unknown as Task;
  return { root, out, task };
}

describe('pipe build --out: stopped by a signal', () => {
  it('replaces nothing and leaves no partial copy when the signal comes before the copies are in place', async () => {
    const { root, out, task } = productsAndEarlierCopy();
    try {
      const stop = new AbortController();
      stop.abort();
      await expect(
        exportOutputs(root, [task], ['t'], out, undefined, undefined, stop.signal),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(readdirSync(out)).toEqual(['a.txt']);
      expect(readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('old a');
      // Without the signal the same copy goes through: the refusal above is the signal's.
      const done = await exportOutputs(root, [task], ['t'], out);
      expect(done.copied.map((f) => path.basename(f)).sort()).toEqual(['a.txt', 'b.txt']);
      expect(readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('new a');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a signal during the last copy still replaces nothing', async () => {
    const { root, out, task } = productsAndEarlierCopy();
    try {
      const stop = new AbortController();
      const copied: string[] = [];
      onCopy = (src) => {
        copied.push(path.basename(src));
        if (copied.length === 2) stop.abort(); // Ctrl-C while the last file is copied
      };
      await expect(
        exportOutputs(root, [task], ['t'], out, undefined, undefined, stop.signal),
      ).rejects.toMatchObject({ name: 'AbortError', replaced: 0 });
      expect(copied).toHaveLength(2);
      expect(readdirSync(out)).toEqual(['a.txt']);
      expect(readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('old a');
    } finally {
      onCopy = undefined;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

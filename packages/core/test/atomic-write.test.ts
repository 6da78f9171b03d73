/**
 * Atomic writes that fail (a full disk, or a folder where the file goes) leave no temp file behind: on a full disk a
 * build record's or the fingerprint log's partial temp stayed in .pipe for good, holding the space it took.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../src/workspace/atomic.js';

/** A folder holding `x.json` as a non-empty folder: a rename onto it fails after the temp was written. */
function blocked(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-atomic-'));
  mkdirSync(path.join(dir, 'x.json'));
  writeFileSync(path.join(dir, 'x.json', 'keep'), 'k');
  return dir;
}

describe('atomic writes that fail', () => {
  it('writeFileAtomic removes its temp file', async () => {
    const dir = blocked();
    await expect(writeFileAtomic(path.join(dir, 'x.json'), '{"a":1}')).rejects.toMatchObject({
      syscall: 'rename',
    });
    expect(readdirSync(dir)).toEqual(['x.json']);
  });

  it('writeFileAtomicSync removes its temp file', () => {
    const dir = blocked();
    expect(() => writeFileAtomicSync(path.join(dir, 'x.json'), '{"a":1}')).toThrow();
    expect(readdirSync(dir)).toEqual(['x.json']);
  });
});

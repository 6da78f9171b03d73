/** A raw input that is there but unusable (a symlink loop, a folder): the task fails saying which, no crash. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadXxhash } from '../src/fingerprint/file-hash.js';
import { HashMemo, statIfThere } from '../src/state/hash-memo.js';
import { RecordTable } from '../src/state/record-table.js';
import { whyMissing } from '../src/workspace/why-missing.js';

beforeAll(loadXxhash);

function workspace() {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-missing-'));
  writeFileSync(path.join(dir, 'file'), 'x');
  symlinkSync('loop', path.join(dir, 'loop'));
  symlinkSync('b', path.join(dir, 'a'));
  symlinkSync('a', path.join(dir, 'b'));
  symlinkSync('nowhere', path.join(dir, 'dangling'));
  mkdirSync(path.join(dir, 'folder'));
  return dir;
}

describe('an input path with no usable file', () => {
  it('hashes to undefined (a symlink loop made statSync throw ELOOP, a stack trace out of pipe build)', () => {
    const dir = workspace();
    const memo = new HashMemo(new RecordTable());
    for (const name of ['loop', 'a', 'dangling', 'folder', 'absent', 'file/below'])
      expect(memo.hash(path.join(dir, name)), name).toBeUndefined();
    expect(statIfThere(path.join(dir, 'a'))).toBeUndefined();
    expect(memo.hash(path.join(dir, 'file'))).toMatch(/^[0-9a-f]+$/);
  });

  it('says what is there instead', () => {
    const dir = workspace();
    const why = (name: string) => whyMissing(path.join(dir, name));
    expect(why('loop')).toBe('a loop of symbolic links');
    expect(why('a')).toBe('a loop of symbolic links');
    expect(why('dangling')).toBe("a symbolic link to 'nowhere', which does not exist");
    expect(why('folder')).toBe('a folder, not a file');
    expect(why('file/below')).toBe('a part of its path is a file, not a folder');
    expect(why('absent')).toBeUndefined();
    expect(why('file')).toBeUndefined();
  });
});

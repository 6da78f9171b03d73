/**
 * A cache folder that cannot be made, where mkdir answers ENOENT although the parent exists (procfs here; an
 * automounter such as autofs for a path that is no map key on a cluster): the store fails with the reason, at once.
 * Node's own `mkdir -p` loops for ever on that answer. Linux only (it needs /proc).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../src/index.js';
import { makeDirs } from '../src/make-dirs.js';

const hasProc = existsSync('/proc/self');
if (!hasProc) console.log('skipping the unmakeable-folder tests: no /proc on this system');

describe.skipIf(!hasProc)('a cache folder mkdir cannot make (ENOENT under an existing parent)', () => {
  it('the store reports it and carries on being a value, not a hang', async () => {
    const store = new LocalStore({ root: '/proc/pipe-test-no-such-dir/cache' });
    const file = join(mkdtempSync(join(tmpdir(), 'pipe-unmakeable-')), 'blob');
    try {
      writeFileSync(file, 'bytes');
      const put = await store.putBlob(createHash('sha256').update('bytes').digest('hex'), file);
      expect(put.ok).toBe(false);
      if (!put.ok) expect(JSON.stringify(put.failure)).toMatch(/cannot create the store: ENOENT/);
    } finally {
      rmSync(file, { force: true });
    }
  }, 10_000);

  it('makeDirs ends with ENOENT; on an ordinary path it makes every level', async () => {
    await expect(makeDirs('/proc/pipe-test-no-such-dir/a/b')).rejects.toMatchObject({ code: 'ENOENT' });
    const base = mkdtempSync(join(tmpdir(), 'pipe-makedirs-'));
    await makeDirs(join(base, 'x', 'y', 'z'));
    await makeDirs(join(base, 'x', 'y', 'z')); // again: already there
    expect(existsSync(join(base, 'x', 'y', 'z'))).toBe(true);
    rmSync(base, { recursive: true, force: true });
  }, 10_000);
});

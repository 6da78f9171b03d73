/**
 * A store (or any folder pipe writes) on a read-only file system: the error says "read-only file system" (EROFS).
 * Node 20's recursive mkdir answers ENOENT there ("no such file or directory" for a folder whose parent exists);
 * makeDirs makes each level with a plain mkdir, whose error is the kernel's. Needs a read-only mount: root and
 * mount(8) (a bind mount remounted read-only), else skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../src/index.js';
import { makeDirs, makeDirsSync } from '../src/make-dirs.js';

const base = mkdtempSync(join(tmpdir(), 'pipe-ro-store-'));
const source = join(base, 'rw');
const readOnly = join(base, 'ro');

/** Bind-mount `source` at `readOnly`, read-only: the reason it cannot, or undefined. */
function mountReadOnly(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'not root on Linux';
  mkdirSync(source);
  mkdirSync(readOnly);
  try {
    execFileSync('mount', ['--bind', source, readOnly], { stdio: 'pipe' });
  } catch (e) {
    return `mount --bind failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', readOnly], { stdio: 'pipe' });
  } catch (e) {
    execFileSync('umount', [readOnly], { stdio: 'pipe' });
    return `remount read-only failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return undefined;
}

let skipped: string | undefined = 'not tried';
beforeAll(() => {
  skipped = mountReadOnly();
  if (skipped) console.log(`skipping the read-only store tests: ${skipped}`);
});
afterAll(() => {
  if (!skipped) execFileSync('umount', [readOnly], { stdio: 'pipe' });
  rmSync(base, { recursive: true, force: true });
});

describe('a folder on a read-only file system', () => {
  it('node says ENOENT; makeDirs and makeDirsSync say EROFS', async (ctx) => {
    if (skipped) return ctx.skip();
    // The premise: node's own answer is the misleading one (if node mends it, these tests still hold).
    const nodeSays = await mkdir(join(readOnly, 'a', 'b'), { recursive: true }).catch((e) => e.code);
    expect(['ENOENT', 'EROFS']).toContain(nodeSays);
    await expect(makeDirs(join(readOnly, 'a', 'b'))).rejects.toMatchObject({ code: 'EROFS' });
    expect(() => makeDirsSync(join(readOnly, 'a', 'b'))).toThrow(expect.objectContaining({ code: 'EROFS' }));
    // A folder that is there is no error, read-only or not.
    await expect(makeDirs(readOnly)).resolves.toBeUndefined();
    expect(makeDirsSync(readOnly)).toBeUndefined();
  });

  it("an existing store mounted read-only: a blob's write fails naming the read-only file system", async (ctx) => {
    if (skipped) return ctx.skip();
    // A store made while writable, then seen through the read-only mount (a shared cache exported read-only).
    const made = new LocalStore({ root: join(source, 'cache') });
    const file = join(base, 'blob');
    writeFileSync(file, 'first');
    expect((await made.putBlob(createHash('sha256').update('first').digest('hex'), file)).ok).toBe(true);

    const store = new LocalStore({ root: join(readOnly, 'cache') });
    writeFileSync(file, 'second');
    const put = await store.putBlob(createHash('sha256').update('second').digest('hex'), file);
    expect(put.ok).toBe(false);
    if (!put.ok) {
      expect(JSON.stringify(put.failure)).toMatch(/EROFS/);
      expect(JSON.stringify(put.failure)).not.toMatch(/ENOENT/);
    }
  });

  it('makeDirs returns the first folder it made, as node does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-makedirs-first-'));
    try {
      expect(await makeDirs(join(dir, 'x', 'y'))).toBe(join(dir, 'x'));
      expect(makeDirsSync(join(dir, 'x', 'y', 'z'))).toBe(join(dir, 'x', 'y', 'z'));
      writeFileSync(join(dir, 'file'), '');
      await expect(makeDirs(join(dir, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
      await expect(makeDirs(join(dir, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

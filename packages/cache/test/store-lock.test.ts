/** The store's maintenance lock: released when the process holding it is stopped by a signal (Ctrl-C on a gc). */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const LOCK_MODULE = fileURLToPath(new URL('../dist/store-lock.js', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('withStoreLock', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    it(`removes the lock when ${signal} ends the process holding it, which then dies of the signal`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
      dirs.push(dir);
      const lock = join(dir, 'lock');
      // Holds the lock for a minute (a long gc), saying when it has it.
      const script = `import { withStoreLock } from ${JSON.stringify(LOCK_MODULE)};
await withStoreLock(${JSON.stringify(lock)}, async () => {
  process.stdout.write('held\\n');
  await new Promise((r) => setTimeout(r, 60000));
});`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      expect(existsSync(lock)).toBe(true);
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, s) => resolve(s)));
      child.kill(signal);
      expect(await ended).toBe(signal);
      expect(existsSync(lock)).toBe(false);
    });

  it('a lock it could not write (a full disk) is removed, not left empty for every gc to wait on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
    dirs.push(dir);
    const lock = join(dir, 'lock');
    const script = `import { withStoreLock } from ${JSON.stringify(LOCK_MODULE)};
await withStoreLock(${JSON.stringify(lock)}, async () => {}).catch((e) => process.stdout.write(e.code));`;
    // A file-size limit of 0: the lock is created, and writing its holder fails (EFBIG, as ENOSPC would).
    const child = spawn(
      'sh',
      ['-c', 'ulimit -f 0; exec "$0" --input-type=module -e "$1"', process.execPath, script],
      {
        stdio: 'pipe',
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
    });
    await new Promise((resolve) => child.once('close', resolve));
    expect(out).toBe('EFBIG');
    expect(existsSync(lock)).toBe(false);
  });

  it('a lock whose pid now runs another process (its holder killed, the pid reused) is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
    dirs.push(dir);
    const lock = join(dir, 'lock');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      // Its holder started at tick 1 after boot; the process with its pid now started later.
      writeFileSync(lock, `${hostname()} ${other.pid} ${Date.now()} 1\n`);
      const { withStoreLock } = await import(LOCK_MODULE);
      expect(await withStoreLock(lock, async () => 'ran', { timeoutMs: 1000 })).toEqual({
        ok: true,
        value: 'ran',
      });
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('an empty lock (its holder killed before it wrote who it is) is broken once it is not new', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
    dirs.push(dir);
    const lock = join(dir, 'lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const { withStoreLock } = await import(LOCK_MODULE);
    expect(await withStoreLock(lock, async () => 'ran', { timeoutMs: 1000 })).toEqual({
      ok: true,
      value: 'ran',
    });
  });
});

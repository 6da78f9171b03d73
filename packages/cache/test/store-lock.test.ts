/** The store's maintenance lock: released when the process holding it is stopped by a signal (Ctrl-C on a gc). */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
});

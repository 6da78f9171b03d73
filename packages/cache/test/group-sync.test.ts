/**
 * GroupSync: temps handed over open are synced by their descriptor and closed with their round, whatever the
 * round's outcome, so a build that stores thousands of entries holds no descriptor past their fsync.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupSync, writeTemp } from '../src/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-group-sync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const openFds = () => readdirSync('/proc/self/fd').length;

describe.runIf(existsSync('/proc/self/fd'))('GroupSync with open temps', () => {
  it('writes each temp with its mode and closes every descriptor once its round is done', async () => {
    const sync = new GroupSync();
    const before = openFds();
    const temps = await Promise.all(
      Array.from({ length: 300 }, (_, i) => writeTemp(join(dir, `f${i}`), Buffer.from(`entry ${i}`), 0o444)),
    );
    sync.add(undefined, dir);
    for (const t of temps) sync.addOpen(t);
    // Past the bound, descriptors are closed at once (and the files synced by path).
    expect(openFds() - before).toBeLessThanOrEqual(256);
    await sync.flush();
    expect(openFds()).toBe(before);
    for (const [i, t] of temps.entries()) {
      expect(readFileSync(t.path, 'utf8')).toBe(`entry ${i}`);
      expect(statSync(t.path).mode & 0o777).toBe(0o444);
    }
  });

  it('closes the descriptors of a round that fails', async () => {
    const sync = new GroupSync();
    const before = openFds();
    const temp = await writeTemp(join(dir, 'kept'), Buffer.from('x'));
    sync.addOpen(temp);
    sync.add(join(dir, 'missing')); // opening it to sync fails: the round rejects
    await expect(sync.flush()).rejects.toThrow(/ENOENT/);
    expect(openFds()).toBe(before);
  });
});

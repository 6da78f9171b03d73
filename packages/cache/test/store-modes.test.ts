/**
 * The permissions of what a local store creates (store-modes.ts, README "Sharing a cache on one file system"):
 * folders and files alike follow the umask; a store whose folder is group-writable is the group's, whatever the
 * umask of the user who writes. Before, folders followed the umask and blobs (0o444) and manifests (0o644) did not:
 * under umask 077 a private cache held world-readable files, and in a group's shared cache a user with umask 022
 * made fan-out folders (cas/ab/) the others could not add to.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../src/index.js';
import { storeModes } from '../src/store-modes.js';
import { manifestFor, randomKey, sha256Of } from './cache-common.js';

let dir: string;
let umask: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipe-modes-'));
  umask = process.umask();
});
afterEach(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o7777;

/** Store a blob and a manifest naming it, pin it, look it up; the paths of what that made. */
async function use(store: LocalStore, root: string) {
  const content = randomBytes(64);
  const src = join(dir, `src-${randomBytes(4).toString('hex')}`);
  writeFileSync(src, content);
  const sha = sha256Of(content);
  const key = randomKey();
  expect((await store.putBlob(sha, src)).ok).toBe(true);
  const manifest = manifestFor(key, [{ name: 'o', path: 'o.bin', sha256: sha, size: 64, mode: 0o644 }]);
  expect((await store.putManifest(manifest)).ok).toBe(true);
  expect((await store.pin(key, 'reference')).ok).toBe(true);
  expect((await store.getManifest(key)).ok).toBe(true);
  return {
    cas: join(root, 'cas'),
    shard: join(root, 'cas', sha.slice(0, 2)),
    blob: join(root, 'cas', sha.slice(0, 2), sha),
    manifest: join(root, 'ac', `${key}.json`),
    storeJson: join(root, 'store.json'),
    pins: join(root, 'pins-v1.json'),
    access: join(root, 'access-v1.log'),
  };
}

describe('the modes of a store', () => {
  it('are the umask’s, and the group’s too when the store’s folder is group-writable', () => {
    expect(storeModes(0o40755, 0o022)).toEqual({
      dir: 0o755,
      file: 0o644,
      blob: 0o444,
      groupShared: false,
      widened: false,
    });
    expect(storeModes(0o40700, 0o077)).toEqual({
      dir: 0o700,
      file: 0o600,
      blob: 0o400,
      groupShared: false,
      widened: false,
    });
    expect(storeModes(undefined, 0o022)).toMatchObject({ dir: 0o755, groupShared: false, widened: false });
    expect(storeModes(0o42775, 0o022)).toEqual({
      dir: 0o775,
      file: 0o664,
      blob: 0o444,
      groupShared: true,
      widened: true,
    });
    expect(storeModes(0o42775, 0o002)).toEqual({
      dir: 0o775,
      file: 0o664,
      blob: 0o444,
      groupShared: true,
      widened: false,
    });
    // Others get what the umask gives them; the owner keeps read and write.
    expect(storeModes(0o42770, 0o077)).toEqual({
      dir: 0o770,
      file: 0o660,
      blob: 0o440,
      groupShared: true,
      widened: true,
    });
    expect(storeModes(0o40700, 0o277)).toMatchObject({ dir: 0o700, file: 0o600, blob: 0o400, widened: true });
  });
});

describe('a store under umask 077 (a private cache)', () => {
  it('keeps its files as private as its folders', async () => {
    process.umask(0o077);
    const root = join(dir, 'store');
    const made = await use(new LocalStore({ root }), root);
    expect(mode(root)).toBe(0o700);
    expect(mode(made.cas)).toBe(0o700);
    expect(mode(made.shard)).toBe(0o700);
    expect(mode(made.blob)).toBe(0o400);
    expect(mode(made.manifest)).toBe(0o600);
    expect(mode(made.storeJson)).toBe(0o600);
    expect(mode(made.pins)).toBe(0o600);
    expect(mode(made.access)).toBe(0o600);
  });
});

describe("a group's shared store (its folder group-writable, setgid) written under umask 022", () => {
  it('gives the group what its members need to add, evict and record: folders rwx, files rw, blobs r', async () => {
    process.umask(0o022);
    const root = join(dir, 'shared');
    mkdirSync(root);
    chmodSync(root, 0o2775);
    const made = await use(new LocalStore({ root }), root);
    // The kernel passes the setgid bit to new folders (they stay the folder's group); pipe keeps it.
    expect(mode(made.cas)).toBe(0o2775);
    expect(mode(made.shard)).toBe(0o2775);
    expect(mode(made.blob)).toBe(0o444);
    expect(mode(made.manifest)).toBe(0o664);
    expect(mode(made.storeJson)).toBe(0o664);
    expect(mode(made.pins)).toBe(0o664);
    expect(mode(made.access)).toBe(0o664);
    // gc rewrites the access log: still the group's.
    const gc = await new LocalStore({ root }).gc({ maxBytes: 0, graceMs: 0 });
    expect(gc.ok).toBe(true);
    expect(mode(made.access)).toBe(0o664);
  });
});

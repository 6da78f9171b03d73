/**
 * A download the remote sends whole, which this machine cannot store (a full disk, a read-only or broken local cache
 * folder): the local cache's trouble, said once, not the remote's — the remote stays in use (helper-128: a full disk
 * was reported as the remote failing, and switched it off for the rest of the build). A cache folder whose blob
 * shard is a file stands in for the disk here (root is not refused writes by permissions).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BazelHttpCache, type CacheWarning, LocalStore, TieredCache } from '../src/index.js';
import { type FakeServer, startFakeServer } from './fake-server.js';

const blobs = [randomBytes(1024), randomBytes(2048)];
const shas = blobs.map((b) => createHash('sha256').update(b).digest('hex'));
let server: FakeServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-local-disk-'));
  server = await startFakeServer((req, res) => {
    const i = shas.findIndex((s) => req.url?.endsWith(`/cas/${s}`));
    if (req.method === 'GET' && i >= 0) {
      res.writeHead(200, { 'content-length': blobs[i]!.length }).end(blobs[i]);
      return;
    }
    res.writeHead(404).end();
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it('a blob this machine cannot store: one local-cache warning, the remote stays in use', async () => {
  const local = new LocalStore({ root: join(dir, 'local') });
  // Where each blob's shard folder goes, a file: every write of a downloaded blob fails here, as on a full disk.
  for (const sha of shas) {
    await mkdir(dirname(dirname(local.blobPath(sha))), { recursive: true });
    await writeFile(dirname(local.blobPath(sha)), 'not a folder');
  }
  const warnings: CacheWarning[] = [];
  const cache = new TieredCache({
    local,
    remote: new BazelHttpCache({ url: server.url, retries: 1, backoffMs: 10 }),
    mode: 'read',
    onWarning: (w) => warnings.push(w),
  });
  for (const [i, sha] of shas.entries()) {
    const got = await cache.materialize(sha, join(dir, `out-${i}`), 0o644);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.failure).toMatchObject({ type: 'unavailable', cause: 'local-disk' });
  }
  expect(warnings.map((w) => w.message)).toEqual([
    expect.stringMatching(
      /^local cache: could not store what the remote cache sent \(E\w+: is the disk full\?\); the remote cache stays in use$/,
    ),
  ]);
  expect(cache.remoteDisabled).toBeUndefined();
});

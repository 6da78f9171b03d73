/**
 * A remote that stalls half-way through a blob (a hung proxy, a server out of worker threads): the transfer fails
 * as stalled once no byte has moved for the request timeout (PIPE_REMOTE_CACHE_TIMEOUT), not after undici's
 * 5-minute body timeout per attempt, and nothing is left under the destination's name. The server is a fake at the
 * network seam: real sockets, a body cut off and left open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BazelHttpCache, type CacheWarning, LocalStore, TieredCache } from '../src/index.js';
import { type FakeServer, forceGc, startFakeServer } from './fake-server.js';

const blob = randomBytes(256 * 1024);
const sha256 = createHash('sha256').update(blob).digest('hex');
let server: FakeServer;
let base: string;
let dir: string;
/** GETs of the blob the server has answered (with half of it). */
let blobGets = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-stall-'));
  server = await startFakeServer((req, res) => {
    if (req.method === 'GET' && req.url?.endsWith(`/cas/${sha256}`)) {
      blobGets++;
      // Headers and half the body, then silence with the connection open.
      res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
      res.write(blob.subarray(0, blob.length / 2));
      return;
    }
    if (req.method === 'PUT') {
      req.resume(); // reads the upload, never answers
      return;
    }
    res.writeHead(404).end();
  });
  base = server.url;
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const remote = () => new BazelHttpCache({ url: base, timeoutMs: 300, retries: 1, backoffMs: 10 });

describe('a remote that stalls mid-transfer', () => {
  it('a download fails as stalled within the request timeout per attempt; nothing is placed', async () => {
    const dest = join(dir, 'out', 'blob');
    const t0 = Date.now();
    const gets = blobGets;
    const got = await remote().fetchBlob(sha256, dest);
    expect(Date.now() - t0).toBeLessThan(5_000);
    // Asked once, though the remote may retry: a hung server would hold the build as long again per retry (a
    // dropped connection is retried; a timeout is not, as for the headers).
    expect(blobGets - gets).toBe(1);
    expect(got.ok).toBe(false);
    if (!got.ok) {
      expect(got.failure.type).toBe('unavailable');
      expect(JSON.stringify(got.failure)).toContain('stalled: no data for 0.3 s');
    }
    expect(existsSync(dest)).toBe(false);
    expect(await readdir(join(dir, 'out'))).toEqual([]); // no temp file left either
  }, 20_000);

  it('an upload the server never answers fails within the request timeout per attempt', async () => {
    const src = join(dir, 'src');
    await writeFile(src, blob);
    const t0 = Date.now();
    const put = await remote().putBlob(sha256, src);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(put.ok).toBe(false);
  }, 20_000);

  it('a tiered cache calls the blob out of reach (the remote failed), not missing (a corrupt entry)', async () => {
    const warnings: CacheWarning[] = [];
    const cache = new TieredCache({
      local: new LocalStore({ root: join(dir, 'local') }),
      remote: remote(),
      mode: 'read',
      onWarning: (w) => warnings.push(w),
    });
    const dest = join(dir, 'restored');
    const got = await cache.materialize(sha256, dest, 0o644);
    // ok(false) would make the build call the entry corrupt ("blob … is missing") and warn about it again.
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.failure.type).toBe('unavailable');
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/failed \(unavailable: .*stalled.*\); continuing with the local cache only$/),
    ]);
    expect(existsSync(dest)).toBe(false);
  }, 20_000);

  it('a stalled body fails even when the garbage collector runs while it waits', async () => {
    // undici holds a fetch's Response weakly; once collected, aborting its signal left a stalled read pending forever.
    const gc = forceGc();
    const collecting = setInterval(gc, 20);
    try {
      for (let round = 0; round < 3; round++) {
        const got = await Promise.race([
          remote().fetchBlob(sha256, join(dir, 'gc', `blob${round}`)),
          new Promise<'hung'>((r) => setTimeout(() => r('hung'), 6_000)),
        ]);
        expect(got).not.toBe('hung');
        expect(JSON.stringify(got)).toContain('stalled: no data for 0.3 s');
      }
    } finally {
      clearInterval(collecting);
    }
  }, 30_000);

  it("the session's interrupt ends a download whose body stalls, even when the garbage collector runs", async () => {
    const gc = forceGc();
    const collecting = setInterval(gc, 20);
    try {
      const interrupt = new AbortController();
      // A long request timeout: only the interrupt can end this download.
      const remote = new BazelHttpCache({
        url: base,
        timeoutMs: 60_000,
        retries: 0,
        signal: interrupt.signal,
      });
      const pending = remote.fetchBlob(sha256, join(dir, 'interrupted', 'blob'));
      setTimeout(() => interrupt.abort(), 300);
      const got = await Promise.race([
        pending,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 6_000)),
      ]);
      expect(got).not.toBe('hung');
      expect(got !== 'hung' && got.ok).toBe(false);
      expect(existsSync(join(dir, 'interrupted', 'blob'))).toBe(false);
    } finally {
      clearInterval(collecting);
    }
  }, 30_000);
});

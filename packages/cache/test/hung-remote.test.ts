/**
 * A remote that accepts connections and never answers (a hung proxy, a server stopped with SIGSTOP): a request
 * times out after the request timeout even when garbage collection runs meanwhile, and the session's interrupt
 * (Ctrl-C, SIGTERM) cuts a request short at once instead of after timeout × attempts. The server is a fake at the
 * network seam: a real socket that reads and never writes.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BazelHttpCache, doctor } from '../src/index.js';
import { forceGc } from './fake-server.js';

let server: Server;
let url: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const key = 'a'.repeat(64);

describe('a remote that never answers', () => {
  it('times out after the request timeout, even when the garbage collector runs while it waits', async () => {
    const interrupt = new AbortController();
    const remote = new BazelHttpCache({ url, timeoutMs: 400, retries: 0, signal: interrupt.signal });
    const gc = forceGc();
    const collecting = setInterval(gc, 50);
    const t0 = Date.now();
    try {
      const got = await Promise.race([
        remote.getManifest(key),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000)),
      ]);
      expect(got).not.toBe('hung');
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(got !== 'hung' && !got.ok && got.failure.type).toBe('unavailable');
      expect(JSON.stringify(got)).toContain('timed out');
    } finally {
      clearInterval(collecting);
    }
  }, 20_000);

  // Found by a review: a hung cache held a build 3 × 30 s (91 s) before its first line of output.
  it('a request that timed out is not retried (retries are for dropped connections and 5xx)', async () => {
    const remote = new BazelHttpCache({ url, timeoutMs: 300, retries: 2, backoffMs: 1 });
    const t0 = Date.now();
    const got = await remote.getManifest(key);
    expect(Date.now() - t0).toBeLessThan(800); // one timeout, not three
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.failure.detail).toMatch(/: timed out \(after 0\.3 s; not retried\)$/);
  });

  it("the session's interrupt ends a request in flight at once, and later ones without trying", async () => {
    const interrupt = new AbortController();
    const remote = new BazelHttpCache({ url, timeoutMs: 30_000, retries: 2, signal: interrupt.signal });
    const pending = remote.getManifest(key);
    setTimeout(() => interrupt.abort(), 200);
    const t0 = Date.now();
    const got = await pending;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(got.ok).toBe(false);
    if (!got.ok)
      expect(got.failure).toMatchObject({
        type: 'unavailable',
        detail: expect.stringMatching(/: interrupted$/),
      });
    const later = await remote.hasBlob('b'.repeat(64));
    expect(later.ok).toBe(false);
    if (!later.ok) expect(later.failure.detail).toMatch(/: interrupted$/);
  }, 20_000);
});

// Found by a review: a server that answers 500, or hangs, was met with "is it running, and is PIPE_REMOTE_CACHE
// right?", though it runs and the URL is right.
describe('pipe cache doctor on a server that runs but fails', () => {
  it('a hung server: the hint says it did not answer in time, not that it may not run', async () => {
    const report = await doctor(new BazelHttpCache({ url, timeoutMs: 200, retries: 0 }));
    expect(report.ok).toBe(false);
    expect(report.verdict).toMatch(
      /timed out \(after 0\.2 s; not retried\) — the server took the connection but did not answer in time/,
    );
  });

  it('a server answering 500: the hint points at its log', async () => {
    const failing = createHttpServer((_req, res) => {
      res.writeHead(500).end('boom');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const address = failing.address();
    try {
      const port = typeof address === 'object' && address ? address.port : 0;
      const report = await doctor(new BazelHttpCache({ url: `http://127.0.0.1:${port}/`, retries: 0 }));
      expect(report.verdict).toMatch(/HTTP 500 .*— the server answered with an error: its log says why$/);
      expect(report.verdict).not.toMatch(/ {2}/);
    } finally {
      await new Promise((r) => failing.close(r));
    }
  });
});

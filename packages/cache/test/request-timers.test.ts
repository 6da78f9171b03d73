/**
 * Every request's timers end with its exchange: a `pipe watch` session making thousands of requests must not hold a
 * deadline timer (30 s, or 10 min for a blob) per recent request. A real local HTTP server; the timers are found by
 * their (distinctive) delays through spies on the global timer functions, the seam the transport uses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpTransport } from '../src/http-transport.js';
import { BazelHttpCache } from '../src/index.js';
import { RequestTimers } from '../src/request-timers.js';
import { type FakeServer, startFakeServer } from './fake-server.js';

const TIMEOUT_MS = 43_210;
const BLOB_TIMEOUT_MS = 987_650;
const blob = randomBytes(64 * 1024);
const sha256 = createHash('sha256').update(blob).digest('hex');
let server: FakeServer;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-timers-'));
  server = await startFakeServer((req, res) => {
    if (req.url?.endsWith(`/cas/${sha256}`) && req.method === 'GET') {
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
      return;
    }
    if (req.url?.endsWith(`/cas/${sha256}`) && req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': blob.length }).end();
      return;
    }
    if (req.method === 'PUT') {
      req.resume();
      req.on('end', () => res.writeHead(201, { 'content-type': 'text/plain' }).end('created'));
      return;
    }
    if (req.url?.includes('/ac/broken')) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('try later');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  });
  base = server.url;
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The transport's timers (by their delays) that were set and not cleared since the spies were set. */
function watchTimers(): () => number {
  const ours = new Set<unknown>();
  const set = vi.spyOn(globalThis, 'setTimeout');
  const clear = vi.spyOn(globalThis, 'clearTimeout');
  return () => {
    set.mock.calls.forEach((call, i) => {
      if (call[1] === TIMEOUT_MS || call[1] === BLOB_TIMEOUT_MS) ours.add(set.mock.results[i]?.value);
    });
    for (const [handle] of clear.mock.calls) ours.delete(handle);
    return ours.size;
  };
}

const remote = () =>
  new BazelHttpCache({
    url: base,
    timeoutMs: TIMEOUT_MS,
    blobTimeoutMs: BLOB_TIMEOUT_MS,
    retries: 1,
    backoffMs: 1,
  });

describe('request timers', () => {
  it('are cleared when a small request completes: a manifest missing (404), and a 5xx after its retries', async () => {
    const pending = watchTimers();
    const cache = remote();
    expect(await cache.getManifest('a'.repeat(64))).toEqual({ ok: true, value: undefined });
    expect((await cache.getManifest('broken')).ok).toBe(false);
    expect(await cache.hasBlob(sha256)).toEqual({ ok: true, value: true });
    expect(pending()).toBe(0);
  });

  it('are cleared when a blob download is read to its end, and when an upload is answered', async () => {
    const pending = watchTimers();
    const cache = remote();
    const dest = join(dir, 'blob');
    expect(await cache.fetchBlob(sha256, dest)).toEqual({ ok: true, value: true });
    const src = join(dir, 'src');
    await writeFile(src, blob);
    expect(await cache.putBlob(sha256, src)).toEqual({ ok: true, value: undefined });
    expect(pending()).toBe(0);
  });

  it('an upload chunk seen after the exchange ended arms no watchdog', () => {
    // An upload's flush may run after its answer arrived (and ended the timers).
    const pending = watchTimers();
    const timers = new RequestTimers(BLOB_TIMEOUT_MS, TIMEOUT_MS);
    timers.end();
    timers.touch();
    expect(pending()).toBe(0);
  });

  it('the spies see the timers: a response nobody reads keeps its deadline', async () => {
    // The seam the other tests rely on: a request whose body is left unread is not over, and its timer shows.
    const pending = watchTimers();
    const response = await fetchUnread();
    expect(pending()).toBe(1);
    await response.body?.cancel();
    expect(pending()).toBe(0);
  });
});

/** A 404 through the transport, its body left unread. */
async function fetchUnread(): Promise<Response> {
  const http = new HttpTransport({ baseUrl: new URL(base), secrets: [], timeoutMs: TIMEOUT_MS });
  const sent = await http.send({ method: 'GET', path: 'nothing' });
  if (!sent.ok) throw new Error(sent.failure.detail);
  return sent.response;
}

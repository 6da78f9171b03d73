/**
 * A remote that refuses one blob (a body limit: 413) while it takes everything else: the manifest that names that
 * blob is not uploaded either, so no client ever finds an entry whose bytes are missing (and recomputes it, warns,
 * and tries the same upload again); entries whose blobs went up are uploaded as usual. The server is an in-memory
 * fake of the Bazel HTTP cache at the network seam.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BazelHttpCache, type CacheWarning, LocalStore, type Manifest, TieredCache } from '../src/index.js';
import { type FakeServer, startFakeServer } from './fake-server.js';

const LIMIT = 64;
const stored = new Map<string, Buffer>();
let server: FakeServer;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'pipe-refused-'));

beforeAll(async () => {
  server = await startFakeServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'PUT') {
        const body = Buffer.concat(chunks);
        if (path.includes('/cas/') && body.length > LIMIT) return res.writeHead(413).end('too large');
        stored.set(path, body);
        return res.writeHead(201).end();
      }
      const hit = stored.get(path);
      if (!hit) return res.writeHead(404).end();
      res.writeHead(200, { 'content-length': hit.length });
      res.end(req.method === 'HEAD' ? undefined : hit);
    });
  });
  url = server.url;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function blob(name: string, bytes: string): { path: string; sha256: string; size: number } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

function manifest(key: string, b: { sha256: string; size: number }, file: string): Manifest {
  return {
    version: 1,
    key,
    taskId: key.slice(0, 4),
    outputs: [{ name: 'out', path: `out/${file}`, sha256: b.sha256, size: b.size, mode: 0o644 }],
    provenance: {},
    createdAt: new Date(0).toISOString(),
  };
}

describe('a blob the remote refuses', () => {
  it('keeps the manifest that names it off the remote; the others go up', async () => {
    const warnings: CacheWarning[] = [];
    const cache = new TieredCache({
      local: new LocalStore({ root: join(dir, 'local') }),
      remote: new BazelHttpCache({ url, token: 't' }),
      mode: 'readwrite',
      onWarning: (w) => warnings.push(w),
    });
    const big = blob('big', 'x'.repeat(LIMIT * 4));
    const small = blob('small', 'ok');
    const bigKey = 'b'.repeat(64);
    const smallKey = 'c'.repeat(64);
    expect((await cache.putBlob(big.sha256, big.path)).ok).toBe(true); // stored locally; the refusal is a warning
    expect((await cache.putManifest(manifest(bigKey, big, 'big'))).ok).toBe(true);
    expect((await cache.putBlob(small.sha256, small.path)).ok).toBe(true);
    expect((await cache.putManifest(manifest(smallKey, small, 'small'))).ok).toBe(true);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/rejected \(HTTP 413\).*; ignored$/),
    ]);
    expect([...stored.keys()].sort()).toEqual([`/ac/${smallKey}`, `/cas/${small.sha256}`]);
    // Locally both entries are whole.
    expect((await cache.local.getManifest(bigKey)).ok).toBe(true);
  });
});

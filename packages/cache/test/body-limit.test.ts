/**
 * A remote that cuts the connection while a large upload is sent (turbo's body limit does so about one time in two
 * instead of answering 413): the entry is refused for its size — one warning, the blob not shared, no retry of the
 * whole body — not an outage that would switch the remote off for the rest of the build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BazelHttpCache, type CacheWarning, LocalStore, TieredCache } from '../src/index.js';
import { type FakeServer, startFakeServer } from './fake-server.js';

const LIMIT = 1 << 20;
let server: FakeServer;
let dir: string;
let puts = 0;
/** Large PUTs still to cut off; -1: every one. */
let cutsLeft = -1;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-body-limit-'));
  server = await startFakeServer((req, res) => {
    if (req.method === 'PUT') {
      puts++;
      if (Number(req.headers['content-length']) > LIMIT && cutsLeft !== 0) {
        if (cutsLeft > 0) cutsLeft--;
        req.socket.destroy(); // no answer: the connection goes, the body half sent
        return;
      }
      req.resume();
      req.on('end', () => res.writeHead(200).end());
      return;
    }
    res.writeHead(404).end();
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function blobFile(bytes: number): Promise<{ sha: string; path: string }> {
  const data = randomBytes(bytes);
  const path = join(dir, `blob-${bytes}-${puts}`);
  await writeFile(path, data);
  return { sha: createHash('sha256').update(data).digest('hex'), path };
}

/** A tiered cache (local store in `folder`) over the test server, which cuts `cuts` uploads off (-1: all large ones). */
function tieredCut(cuts: number, folder: string) {
  puts = 0;
  cutsLeft = cuts;
  const warnings: CacheWarning[] = [];
  const tiered = new TieredCache({
    local: new LocalStore({ root: join(dir, folder) }),
    remote: new BazelHttpCache({ url: server.url, retries: 2, backoffMs: 10 }),
    mode: 'readwrite',
    onWarning: (w) => warnings.push(w),
  });
  return { tiered, warnings };
}

it('a large upload cut off twice is refused for its size (not sent a third time); the remote stays in use', async () => {
  const { tiered, warnings } = tieredCut(-1, 'local');
  const big = await blobFile(8 * LIMIT);
  expect(await tiered.putBlob(big.sha, big.path)).toEqual({ ok: true, value: undefined });
  expect(puts).toBe(2); // once may be a dropped connection; not sent a third time
  expect(warnings.map((w) => w.failure.type)).toEqual(['rejected']);
  expect(warnings[0]?.message).toMatch(/closed the connection while 8 MiB were sent .*too large/);
  expect(tiered.remoteDisabled).toBeUndefined();
  // The next, small entry still goes to the remote.
  const small = await blobFile(1024);
  expect(await tiered.putBlob(small.sha, small.path)).toEqual({ ok: true, value: undefined });
  expect(puts).toBe(3);
});

it('a large upload cut off once (a dropped connection) is sent again, and shared', async () => {
  const { tiered, warnings } = tieredCut(1, 'local2');
  const big = await blobFile(4 * LIMIT);
  expect(await tiered.putBlob(big.sha, big.path)).toEqual({ ok: true, value: undefined });
  expect(puts).toBe(2);
  expect(warnings).toEqual([]);
});

// A body limit below most entries refuses one after another: a few are said, then that the rest will not be, rather
// than a line per entry on every build of every runner.
it('many entries refused the same way: three warnings, then one line saying the rest are not said', async () => {
  const { tiered, warnings } = tieredCut(-1, 'local3');
  for (let i = 0; i < 6; i++) {
    const big = await blobFile(2 * LIMIT + i);
    expect(await tiered.putBlob(big.sha, big.path)).toEqual({ ok: true, value: undefined });
  }
  expect(warnings).toHaveLength(4);
  expect(warnings.slice(0, 3).map((w) => w.message)).toEqual(
    Array.from({ length: 3 }, () => expect.stringMatching(/too large/)),
  );
  expect(warnings[3]?.message).toMatch(
    /further entries failing the same way \(rejected HTTP \d+\) are ignored without a warning .*pipe cache doctor/,
  );
  expect(tiered.remoteDisabled).toBeUndefined();
});

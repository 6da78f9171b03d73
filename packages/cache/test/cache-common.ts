/**
 * One suite for every CacheBackend (the local store, nginx as a Bazel HTTP cache, turborepo-remote-cache),
 * after wireit's cache-common: the same behaviour is asserted against each, with the real servers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheBackend,
  type CacheWarning,
  canonicalJson,
  encodeManifest,
  hashFile,
  LocalStore,
  type Manifest,
  TieredCache,
} from '../src/index.js';

export interface BackendRig {
  label: string;
  /** A backend with valid credentials. */
  backend(): CacheBackend;
  /** Overwrite a stored blob's bytes on the server's (or store's) disk, keeping its length. */
  corruptStoredBlob(sha256: string): Promise<void>;
  /** Store raw manifest bytes under `key`, bypassing the backend's own checks. */
  plantManifest(key: string, bytes: Buffer): Promise<void>;
  /** Remote rigs only: */
  remote?: {
    /** The same server with a wrong token. */
    unauthorized(): CacheBackend;
    /** The same server without credentials (where the protocol allows none). */
    anonymous?(): CacheBackend;
    /** Every stored entry name (to prove that nothing was written). */
    storedNames(): Promise<string[]>;
    /** Request lines of the server's access log, if it has one. */
    accessLog?(): Promise<string[]>;
    /** A private instance of the server that the test may kill. */
    privateInstance(): Promise<{ backend: CacheBackend; kill(): Promise<void> }>;
  };
}

export const sha256Of = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const randomKey = () => randomBytes(32).toString('hex');

export function manifestFor(key: string, outputs: Manifest['outputs']): Manifest {
  return {
    version: 1,
    key,
    taskId: 'counts[run=23523]',
    outputs,
    provenance: { step: 'counts', params: { bins: 10 } },
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

/** A manifest envelope with a correct checksum around arbitrary (possibly unsafe) content. */
export function envelopeOf(manifest: unknown): Buffer {
  const body = canonicalJson(manifest);
  return Buffer.from(
    canonicalJson({ format: 'pipe-manifest', version: 1, sha256: sha256Of(Buffer.from(body)), manifest }),
  );
}

const LARGE = 64 * 1024 * 1024;

/** The engine's gc() without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** `remote`: also run the tiered-cache tests that need a server (an unauthorised client, a killed server). */
export function cacheCommonSuite(getRig: () => BackendRig | string, options: { remote: boolean }) {
  let dir: string;
  let rig: BackendRig | undefined;
  let skipReason: string | undefined;
  let largePath: string;
  let largeSha: string;

  const requireRig = (ctx: { skip: (note?: string) => void }): BackendRig => {
    if (!rig) ctx.skip(skipReason);
    return rig as BackendRig;
  };
  const writeBlob = async (content: string | Buffer) => {
    const bytes = Buffer.from(content);
    const path = join(dir, `src-${randomBytes(4).toString('hex')}`);
    await writeFile(path, bytes);
    return { path, sha: sha256Of(bytes), bytes };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipe-cache-suite-'));
    const r = getRig();
    if (typeof r === 'string') {
      skipReason = r;
      console.warn(r);
    } else rig = r;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores and returns a manifest; an unknown key is a miss', async (ctx) => {
    const b = requireRig(ctx).backend();
    const key = randomKey();
    const m = manifestFor(key, [
      { name: 'counts', path: 'out/counts.fits', sha256: sha256Of(Buffer.from('x')), size: 1, mode: 0o644 },
    ]);
    expect(await b.putManifest(m)).toEqual({ ok: true, value: undefined });
    expect(await b.getManifest(key)).toEqual({ ok: true, value: m });
    expect(await b.getManifest(randomKey())).toEqual({ ok: true, value: undefined });
  });

  it('stores, finds and fetches a blob; a missing blob is a miss and creates nothing', async (ctx) => {
    const b = requireRig(ctx).backend();
    const blob = await writeBlob(`counts ${randomKey()}`);
    expect(await b.hasBlob(blob.sha)).toEqual({ ok: true, value: false });
    expect(await b.putBlob(blob.sha, blob.path)).toEqual({ ok: true, value: undefined });
    expect(await b.hasBlob(blob.sha)).toEqual({ ok: true, value: true });
    const dest = join(dir, 'fetched', 'a.bin');
    expect(await b.fetchBlob(blob.sha, dest)).toEqual({ ok: true, value: true });
    expect(await readFile(dest)).toEqual(blob.bytes);
    const missingDest = join(dir, 'fetched', 'missing.bin');
    expect(await b.fetchBlob(sha256Of(randomBytes(8)), missingDest)).toEqual({ ok: true, value: false });
    expect(existsSync(missingDest)).toBe(false);
  });

  it('refuses to store a file under a hash it does not have', async (ctx) => {
    const b = requireRig(ctx).backend();
    const blob = await writeBlob(`one ${randomKey()}`);
    const wrong = sha256Of(randomBytes(8));
    const put = await b.putBlob(wrong, blob.path);
    expect(put.ok === false && put.failure.type).toBe('corrupt');
    expect(await b.hasBlob(wrong)).toEqual({ ok: true, value: false });
  });

  it('detects a tampered blob and does not use it', async (ctx) => {
    const r = requireRig(ctx);
    const b = r.backend();
    const blob = await writeBlob(`exposure ${randomKey()}`);
    await b.putBlob(blob.sha, blob.path);
    await r.corruptStoredBlob(blob.sha);
    const dest = join(dir, 'tampered.bin');
    const got = await b.fetchBlob(blob.sha, dest);
    expect(got.ok === false && got.failure.type).toBe('corrupt');
    expect(existsSync(dest)).toBe(false);
    expect((await readdir(dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('detects a tampered manifest and treats it as missing', async (ctx) => {
    const r = requireRig(ctx);
    const key = randomKey();
    const good = encodeManifest(manifestFor(key, []));
    const bad = Buffer.from(good.toString().replace('counts[run=23523]', 'counts[run=23524]'));
    await r.plantManifest(key, bad);
    const got = await r.backend().getManifest(key);
    expect(got.ok === false && got.failure.type).toBe('corrupt');
    await r.plantManifest(key, good.subarray(0, good.length - 20)); // truncated
    const truncated = await r.backend().getManifest(key);
    expect(truncated.ok === false && truncated.failure.type).toBe('corrupt');
  });

  it("refuses a manifest with a '../' path, on write and on read", async (ctx) => {
    const r = requireRig(ctx);
    const key = randomKey();
    const evil = manifestFor(key, [
      { name: 'x', path: 'out/../../etc/cron.d/x', sha256: sha256Of(Buffer.from('x')), size: 1, mode: 0o644 },
    ]);
    const put = await r.backend().putManifest(evil);
    expect(
      put.ok === false &&
        put.failure.type === 'invalid-manifest' &&
        put.failure.problems.map((p) => p.reason),
    ).toEqual(['parent-segment']);
    await r.plantManifest(key, envelopeOf(evil));
    const got = await r.backend().getManifest(key);
    expect(got.ok === false && got.failure.type === 'invalid-manifest' && got.failure.problems[0]?.at).toBe(
      'outputs[0].path',
    );
  });

  it('streams a 64 MiB blob both ways without holding it in memory', async (ctx) => {
    const b = requireRig(ctx).backend();
    if (!largePath) {
      largePath = join(dir, 'large.bin');
      const hash = createHash('sha256');
      const out = createWriteStream(largePath);
      for (let i = 0; i < LARGE / (1 << 20); i++) {
        const chunk = randomBytes(1 << 20);
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((res) => out.once('drain', () => res()));
      }
      await new Promise<void>((res) => out.end(() => res()));
      largeSha = hash.digest('hex');
    }
    // Collect garbage before each sample: freed stream chunks are not "held", but V8 lets up to ~64 MiB
    // of dead external buffers accumulate before it collects them on its own.
    const gc = exposeGc();
    gc();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 50);
    try {
      expect(await b.putBlob(largeSha, largePath)).toEqual({ ok: true, value: undefined });
      const dest = join(dir, 'large-back.bin');
      expect(await b.fetchBlob(largeSha, dest)).toEqual({ ok: true, value: true });
    } finally {
      clearInterval(sampler);
    }
    expect(peak - baseline).toBeLessThan(LARGE * 0.6);
    expect(await hashFile(join(dir, 'large-back.bin'))).toEqual({ sha256: largeSha, size: LARGE });
  });

  if (!options.remote) return;
  describe('remote behaviour (tiered)', () => {
    const warnings: CacheWarning[] = [];
    const localStore = () => new LocalStore({ root: join(dir, `local-${randomBytes(4).toString('hex')}`) });

    it('downloads a remote hit into the local store, verified', async (ctx) => {
      const r = requireRig(ctx);
      if (!r.remote) throw new Error('a remote rig needs `remote`');
      const blob = await writeBlob(`background ${randomKey()}`);
      const key = randomKey();
      const remote = r.backend();
      await remote.putBlob(blob.sha, blob.path);
      await remote.putManifest(
        manifestFor(key, [
          { name: 'bg', path: 'bg.fits', sha256: blob.sha, size: blob.bytes.length, mode: 0o644 },
        ]),
      );
      const local = localStore();
      const tiered = new TieredCache({ local, remote, mode: 'read' });
      const m = await tiered.getManifest(key);
      expect(m.ok && m.value?.outputs[0]?.sha256).toBe(blob.sha);
      expect((await local.getManifest(key)).ok).toBe(true);
      expect(await tiered.fetchBlob(blob.sha, join(dir, 'bg.fits'))).toEqual({ ok: true, value: true });
      expect(await local.hasBlob(blob.sha)).toEqual({ ok: true, value: true });
    });

    it('an unauthorised write is refused; the tiered cache warns once, stops writing and still reads', async (ctx) => {
      const r = requireRig(ctx);
      if (!r.remote) throw new Error('a remote rig needs `remote`');
      const blob = await writeBlob(`significance ${randomKey()}`);
      const put = await r.remote.unauthorized().putBlob(blob.sha, blob.path);
      expect(put.ok === false && put.failure.type).toBe('unauthorized');
      expect(put.ok === false && JSON.stringify(put.failure)).not.toContain('wrong-token-');
      expect(put.ok === false && put.failure.detail).toContain('the credentials given were refused');
      const anonymous = r.remote.anonymous?.();
      if (anonymous) {
        const denied = await anonymous.putBlob(blob.sha, blob.path);
        expect(denied.ok === false && denied.failure.detail).toContain(
          'no credentials were sent: PIPE_REMOTE_CACHE_TOKEN is not set',
        );
      }

      warnings.length = 0;
      const local = localStore();
      const tiered = new TieredCache({
        local,
        remote: r.remote.unauthorized(),
        mode: 'readwrite',
        onWarning: (w) => warnings.push(w),
      });
      for (let i = 0; i < 3; i++) {
        const b2 = await writeBlob(`excess ${i} ${randomKey()}`);
        expect(await tiered.putBlob(b2.sha, b2.path)).toEqual({ ok: true, value: undefined });
        expect(await local.hasBlob(b2.sha)).toEqual({ ok: true, value: true });
      }
      expect(warnings.map((w) => w.failure.type)).toEqual(['unauthorized']);
      // A fork's CI without the token: its reads may still be allowed, and are still tried.
      expect(warnings[0]?.message).toMatch(/refused a write .*reading from it only/);
      expect(tiered.remoteDisabled).toBeUndefined();
      expect(await r.backend().hasBlob(blob.sha)).toEqual({ ok: true, value: false });

      const required = new TieredCache({
        local,
        remote: r.remote.unauthorized(),
        mode: 'readwrite',
        required: true,
      });
      const b3 = await writeBlob(`required ${randomKey()}`);
      const strict = await required.putBlob(b3.sha, b3.path);
      expect(strict.ok === false && strict.failure.type).toBe('unauthorized');
    });

    it('a read-only tiered cache never uploads anything', async (ctx) => {
      const r = requireRig(ctx);
      if (!r.remote) throw new Error('a remote rig needs `remote`');
      const logBefore = (await r.remote.accessLog?.())?.length ?? 0;
      const tiered = new TieredCache({ local: localStore(), remote: r.backend(), mode: 'read' });
      const blob = await writeBlob(`read-only ${randomKey()}`);
      const key = randomKey();
      expect(await tiered.putBlob(blob.sha, blob.path)).toEqual({ ok: true, value: undefined });
      expect(
        await tiered.putManifest(
          manifestFor(key, [
            { name: 'o', path: 'o', sha256: blob.sha, size: blob.bytes.length, mode: 0o644 },
          ]),
        ),
      ).toEqual({ ok: true, value: undefined });
      expect(await tiered.getManifest(key)).toMatchObject({ ok: true, value: { key } });
      const after = await r.remote.storedNames();
      expect(after.filter((n) => n.includes(blob.sha) || n.includes(key))).toEqual([]);
      const log = await r.remote.accessLog?.();
      if (log)
        expect(
          log
            .slice(logBefore)
            .filter((l) => /"(PUT|DELETE) /.test(l) && (l.includes(blob.sha) || l.includes(key))),
        ).toEqual([]);
    });

    it('a server killed mid-use: one warning, then local only', async (ctx) => {
      const r = requireRig(ctx);
      if (!r.remote) throw new Error('a remote rig needs `remote`');
      const server = await r.remote.privateInstance();
      warnings.length = 0;
      const local = localStore();
      const tiered = new TieredCache({
        local,
        remote: server.backend,
        mode: 'readwrite',
        onWarning: (w) => warnings.push(w),
      });
      const first = await writeBlob(`first ${randomKey()}`);
      expect(await tiered.putBlob(first.sha, first.path)).toEqual({ ok: true, value: undefined });
      expect(await server.backend.hasBlob(first.sha)).toEqual({ ok: true, value: true });
      await server.kill();
      for (let i = 0; i < 3; i++) {
        const b2 = await writeBlob(`after ${i} ${randomKey()}`);
        expect(await tiered.putBlob(b2.sha, b2.path)).toEqual({ ok: true, value: undefined });
        expect(await tiered.getManifest(randomKey())).toEqual({ ok: true, value: undefined });
      }
      expect(warnings.map((w) => w.failure.type)).toEqual(['unavailable']);
      expect(tiered.remoteDisabled?.type).toBe('unavailable');
      expect(await tiered.fetchBlob(first.sha, join(dir, 'first.bin'))).toEqual({ ok: true, value: true });
    });
  });
}

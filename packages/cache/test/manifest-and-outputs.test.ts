import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BazelHttpCache,
  decodeManifest,
  encodeManifest,
  LocalStore,
  remoteFromEnv,
  restoreOutputs,
  storeOutputs,
  TieredCache,
  TurboRemoteCache,
  validateManifest,
} from '../src/index.js';
import { envelopeOf, manifestFor, randomKey, sha256Of } from './cache-common.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-outputs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('validateManifest', () => {
  const withPath = (path: string) =>
    manifestFor('k1', [{ name: 'o', path, sha256: sha256Of(Buffer.from('x')), size: 1, mode: 0o644 }]);
  it.each([
    ['maps/counts.fits', []],
    ['../secret', ['parent-segment']],
    ['a/../../b', ['parent-segment']],
    ['/etc/passwd', ['absolute-path']],
    ['C:/x', ['absolute-path']],
    ['a//b', ['not-normalised']],
    ['./a', ['not-normalised']],
    ['a/', ['not-normalised']],
    ['a\\..\\b', ['not-normalised']],
    ['', ['empty-path']],
  ])('path %j → %j', (path, reasons) => {
    const r = validateManifest(withPath(path));
    expect(r.ok ? [] : r.problems.map((p) => p.reason)).toEqual(reasons);
  });

  it('reports every problem of a malformed manifest with where it is', () => {
    const r = validateManifest({
      version: 2,
      key: '../k',
      taskId: 1,
      outputs: [
        { name: 'a', path: 'x', sha256: 'ABC', size: -1, mode: 0o10000 },
        { name: 'b', path: 'x', sha256: sha256Of(Buffer.from('')), size: 0, mode: 0o644 },
      ],
      provenance: null,
      createdAt: 'now',
    });
    expect(r.ok ? [] : r.problems.map((p) => `${p.at}:${p.reason}`)).toEqual([
      'version:unsupported-version',
      'key:bad-key',
      'taskId:wrong-type',
      'provenance:wrong-type',
      'outputs[0].sha256:bad-sha256',
      'outputs[0].size:bad-size',
      'outputs[0].mode:bad-mode',
      'outputs[1].path:duplicate-path',
    ]);
    expect(validateManifest(withPath('a'), 'other-key')).toMatchObject({
      ok: false,
      problems: [{ reason: 'key-mismatch' }],
    });
  });
});

describe('encodeManifest', () => {
  it('writes the canonical JSON of the checksummed envelope, byte for byte, and reads it back', () => {
    const manifest = {
      ...manifestFor('k1', [
        { name: 'o', path: 'a/o.txt', sha256: sha256Of(Buffer.from('x')), size: 1, mode: 0o644 },
      ]),
      items: [{ id: 'b', z: 1, a: [2, { y: 1, x: 2 }] }],
    };
    const encoded = encodeManifest(manifest);
    expect(encoded.toString()).toBe(`${envelopeOf(manifest).toString()}\n`);
    const decoded = decodeManifest(encoded, 'k1', 'ac/k1');
    expect(decoded.ok && decoded.manifest).toEqual(manifest);
  });
});

describe('storeOutputs / restoreOutputs', () => {
  it('round-trips outputs with their modes into another workspace', async () => {
    const ws = join(dir, 'ws');
    await mkdir(join(ws, 'maps'), { recursive: true });
    await writeFile(join(ws, 'maps', 'counts.fits'), 'SIMPLE  =                    T');
    await writeFile(join(ws, 'run.sh'), '#!/bin/sh', { mode: 0o755 });
    const cache = new TieredCache({ local: new LocalStore({ root: join(dir, 'store') }), mode: 'off' });
    const key = randomKey();
    const stored = await storeOutputs(cache, ws, {
      key,
      taskId: 't',
      outputs: [
        { name: 'counts', path: 'maps/counts.fits' },
        { name: 'run', path: 'run.sh' },
      ],
      provenance: { step: 's' },
    });
    expect(stored.ok).toBe(true);
    const got = await cache.getManifest(key);
    const manifest = got.ok ? got.value : undefined;
    expect(manifest?.outputs.map((o) => [o.path, o.mode, o.size])).toEqual([
      ['maps/counts.fits', 0o644, 30],
      ['run.sh', 0o755, 9],
    ]);
    const other = join(dir, 'other');
    await mkdir(other);
    const restored = await restoreOutputs(cache, other, manifest as NonNullable<typeof manifest>);
    expect(restored.ok).toBe(true);
    expect(await readFile(join(other, 'maps', 'counts.fits'), 'utf8')).toBe('SIMPLE  =                    T');
    expect((await stat(join(other, 'run.sh'))).mode & 0o777).toBe(0o755);
  });

  it('refuses to restore through a symlink that leaves the workspace, writing nothing', async () => {
    const ws = join(dir, 'ws');
    const outside = join(dir, 'outside');
    await mkdir(ws);
    await mkdir(outside);
    await symlink(outside, join(ws, 'out'));
    const local = new LocalStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'src'), 'payload');
    const sha = sha256Of(Buffer.from('payload'));
    await local.putBlob(sha, join(dir, 'src'));
    const fine = { name: 'a', path: 'a.txt', sha256: sha, size: 7, mode: 0o644 };
    const escaping = { name: 'x', path: 'out/deep/x.txt', sha256: sha, size: 7, mode: 0o644 };
    const r = await restoreOutputs(local, ws, manifestFor('k', [fine, escaping]));
    expect(r.ok === false && r.failure).toMatchObject({ type: 'unsafe-path', path: 'out/deep/x.txt' });
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(ws)).toEqual(['out']); // nothing restored before the check failed
  });

  it('refuses to store a symlink or a missing output', async () => {
    const ws = join(dir, 'ws');
    await mkdir(ws);
    await symlink('/etc/passwd', join(ws, 'link'));
    const local = new LocalStore({ root: join(dir, 'store') });
    const link = await storeOutputs(local, ws, {
      key: 'k',
      taskId: 't',
      outputs: [{ name: 'l', path: 'link' }],
      provenance: {},
    });
    expect(link.ok === false && link.failure).toMatchObject({ type: 'not-a-file', detail: 'a symlink' });
    const missing = await storeOutputs(local, ws, {
      key: 'k',
      taskId: 't',
      outputs: [{ name: 'm', path: 'nope' }],
      provenance: {},
    });
    expect(missing.ok === false && missing.failure.type).toBe('not-a-file');
  });
});

describe('remoteFromEnv and secrets', () => {
  it('reads the four variables', () => {
    expect(remoteFromEnv({})).toBeUndefined();
    const bazel = remoteFromEnv({ PIPE_REMOTE_CACHE: 'http://127.0.0.1:18080/team-a' });
    expect(bazel instanceof BazelHttpCache && bazel.url).toBe('http://127.0.0.1:18080/team-a/');
    const turbo = remoteFromEnv({
      PIPE_REMOTE_CACHE: 'http://h:1',
      PIPE_REMOTE_CACHE_PROTOCOL: 'turbo',
      PIPE_REMOTE_CACHE_TEAM: 'ci',
      PIPE_REMOTE_CACHE_TOKEN: 't',
    });
    expect(turbo).toBeInstanceOf(TurboRemoteCache);
    expect(
      remoteFromEnv({
        PIPE_REMOTE_CACHE: 'http://h:1',
        PIPE_REMOTE_CACHE_PROTOCOL: 'turbo',
        PIPE_REMOTE_CACHE_TOKEN: 't',
      }),
    ).toMatchObject({ type: 'config-error', variable: 'PIPE_REMOTE_CACHE_TEAM' });
    expect(
      remoteFromEnv({ PIPE_REMOTE_CACHE: 'http://h:1', PIPE_REMOTE_CACHE_PROTOCOL: 'grpc' }),
    ).toMatchObject({ type: 'config-error', variable: 'PIPE_REMOTE_CACHE_PROTOCOL' });
    expect(remoteFromEnv({ PIPE_REMOTE_CACHE: 'ftp://h' })).toMatchObject({
      type: 'config-error',
      variable: 'PIPE_REMOTE_CACHE',
    });
  });

  it('never puts a token or password into a failure or a name', async () => {
    // Port 18999 of the project's range is left unused by the scripts: nothing answers there.
    const withPassword = remoteFromEnv({ PIPE_REMOTE_CACHE: 'http://ci:hunter2-secret@127.0.0.1:18999/p' });
    const withToken = new BazelHttpCache({
      url: 'http://127.0.0.1:18999',
      token: 'tok-secret-123',
      retries: 0,
    });
    for (const remote of [withPassword, withToken]) {
      if (!(remote instanceof BazelHttpCache)) throw new Error('expected a backend');
      const text = JSON.stringify([
        remote.name,
        remote.url,
        await remote.getManifest('k'),
        await remote.hasBlob(sha256Of(Buffer.from('x'))),
      ]);
      expect(text).toContain('ECONNREFUSED');
      expect(text).not.toMatch(/hunter2|tok-secret|Y2k6aHVudGVy/);
    }
  });
});

import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { BazelHttpCache, LocalStore, TurboRemoteCache } from '../src/index.js';
import { type BackendRig, cacheCommonSuite } from './cache-common.js';
import { type CacheServersEnv, freePort, serversDown, serversUp, sharedServers } from './servers.js';

/** Overwrite the first bytes of a file in place (same length), as a bad disk or a bad actor would. */
async function scribble(path: string): Promise<void> {
  await chmod(path, 0o644);
  const fh = await open(path, 'r+');
  try {
    await fh.write(Buffer.from('XXXXXXXX'), 0, 8, 0);
  } finally {
    await fh.close();
  }
}

async function listRecursive(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String);
}

let servers: CacheServersEnv | undefined;
let skip: string | undefined;
const privateDirs: string[] = [];
let localRoot: string;

beforeAll(async () => {
  localRoot = await mkdtemp(join(tmpdir(), 'pipe-local-rig-'));
  const found = await sharedServers(inject('pipeCacheServers'));
  servers = found.env;
  skip = found.skip;
}, 180_000);

afterAll(async () => {
  for (const d of privateDirs) {
    await serversDown({ CACHE_CI_DIR: d }).catch(() => undefined);
    await rm(d, { recursive: true, force: true });
  }
  await rm(localRoot, { recursive: true, force: true });
});

/** Start a private instance of one server in a directory of its own (so killing it harms no other test). */
async function privateServer(kind: 'nginx' | 'turbo'): Promise<CacheServersEnv & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pipe-cache-private-'));
  privateDirs.push(dir);
  const port = String(await freePort());
  const sharedPkg = join(process.env.CACHE_CI_DIR ?? '/tmp/pipe-cache-ci', 'turbo-pkg');
  const env = await serversUp({
    CACHE_CI_DIR: dir,
    CACHE_SERVERS: kind,
    NGINX_CACHE_PORT: port,
    TURBO_CACHE_PORT: port,
    TURBO_PKG_DIR: sharedPkg,
  });
  return { ...env, dir };
}

const fast = { retries: 1, backoffMs: 10, timeoutMs: 5_000 };

describe('LocalStore', () => {
  cacheCommonSuite(
    () => {
      const root = join(localRoot, 'store');
      const store = new LocalStore({ root });
      return {
        label: 'local',
        backend: () => store,
        corruptStoredBlob: (sha) => scribble(store.blobPath(sha)),
        plantManifest: async (key, bytes) => {
          const { writeFile, mkdir } = await import('node:fs/promises');
          await mkdir(join(root, 'ac'), { recursive: true });
          await writeFile(join(root, 'ac', `${key}.json`), bytes);
        },
      } satisfies BackendRig;
    },
    { remote: false },
  );
});

describe('BazelHttpCache against nginx WebDAV', () => {
  cacheCommonSuite(
    () => {
      if (!servers) return skip ?? 'no servers';
      const env = servers as Required<CacheServersEnv>;
      const make = (token: string, url = env.PIPE_TEST_BAZEL_CACHE_URL) =>
        new BazelHttpCache({ url, token, ...fast });
      return {
        label: 'bazel',
        backend: () => make(env.PIPE_TEST_BAZEL_CACHE_TOKEN),
        corruptStoredBlob: (sha) => scribble(join(env.PIPE_TEST_BAZEL_CACHE_DIR, 'cas', sha)),
        plantManifest: async (key, bytes) => {
          const res = await fetch(`${env.PIPE_TEST_BAZEL_CACHE_URL}/ac/${key}`, {
            method: 'PUT',
            body: bytes,
            headers: { authorization: `Bearer ${env.PIPE_TEST_BAZEL_CACHE_TOKEN}` },
          });
          if (res.status >= 300) throw new Error(`plant: HTTP ${res.status}`);
        },
        remote: {
          unauthorized: () => make(`wrong-token-${randomBytes(4).toString('hex')}`),
          anonymous: () => new BazelHttpCache({ url: env.PIPE_TEST_BAZEL_CACHE_URL, ...fast }),
          storedNames: () => listRecursive(env.PIPE_TEST_BAZEL_CACHE_DIR),
          accessLog: async () => (await readFile(env.PIPE_TEST_BAZEL_CACHE_LOG, 'utf8')).split('\n'),
          privateInstance: async () => {
            const p = await privateServer('nginx');
            return {
              backend: new BazelHttpCache({
                url: p.PIPE_TEST_BAZEL_CACHE_URL as string,
                token: p.PIPE_TEST_BAZEL_CACHE_TOKEN as string,
                ...fast,
              }),
              kill: () => serversDown({ CACHE_CI_DIR: p.dir, CACHE_SERVERS: 'nginx' }),
            };
          },
        },
      } satisfies BackendRig;
    },
    { remote: true },
  );
});

describe('TurboRemoteCache against turborepo-remote-cache', () => {
  cacheCommonSuite(
    () => {
      if (!servers) return skip ?? 'no servers';
      const env = servers as Required<CacheServersEnv>;
      const team = env.PIPE_TEST_TURBO_CACHE_TEAM;
      const make = (token: string, url = env.PIPE_TEST_TURBO_CACHE_URL) =>
        new TurboRemoteCache({ url, token, team, ...fast });
      return {
        label: 'turbo',
        backend: () => make(env.PIPE_TEST_TURBO_CACHE_TOKEN),
        corruptStoredBlob: (sha) => scribble(join(env.PIPE_TEST_TURBO_CACHE_DIR, team, sha)),
        plantManifest: async (key, bytes) => {
          const res = await fetch(`${env.PIPE_TEST_TURBO_CACHE_URL}/v8/artifacts/ac-${key}?teamId=${team}`, {
            method: 'PUT',
            body: bytes,
            headers: {
              authorization: `Bearer ${env.PIPE_TEST_TURBO_CACHE_TOKEN}`,
              'content-type': 'application/octet-stream',
            },
          });
          if (res.status >= 300) throw new Error(`plant: HTTP ${res.status}`);
        },
        remote: {
          unauthorized: () => make(`wrong-token-${randomBytes(4).toString('hex')}`),
          storedNames: () => listRecursive(env.PIPE_TEST_TURBO_CACHE_DIR),
          privateInstance: async () => {
            const p = await privateServer('turbo');
            return {
              backend: new TurboRemoteCache({
                url: p.PIPE_TEST_TURBO_CACHE_URL as string,
                token: p.PIPE_TEST_TURBO_CACHE_TOKEN as string,
                team,
                ...fast,
              }),
              kill: () => serversDown({ CACHE_CI_DIR: p.dir, CACHE_SERVERS: 'turbo' }),
            };
          },
        },
      } satisfies BackendRig;
    },
    { remote: true },
  );
});

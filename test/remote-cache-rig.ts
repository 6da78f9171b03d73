/**
 * Shared pieces of the remote-cache end-to-end tests: the real servers (from the vitest globalSetup or
 * the environment; skipped with a printed reason when they cannot run, except under CI=true), a
 * private namespace per test on the shared servers (a URL prefix on nginx, a team on
 * turborepo-remote-cache), and Crab workspaces copied from the repository.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BazelHttpCache, type RemoteCache, TurboRemoteCache } from '@pipe/cache';
import { loadState } from '@pipe/core';
import { inject } from 'vitest';
import { type CacheServersEnv, sharedServers } from '../packages/cache/test/servers.js';
import { PIPE_BIN, type PipeRun, parseEvents, type Workspace } from './rig.js';

export const REPO = path.resolve(path.dirname(PIPE_BIN), '../../..');

export type ServerKind = 'bazel' | 'turbo';

/** The shared servers, or why the tests are skipped (printed once). */
export async function servers(): Promise<{ env?: CacheServersEnv; skip?: string }> {
  const found = await sharedServers(inject('pipeCacheServers'));
  if (found.skip) console.warn(`remote cache e2e: ${found.skip}`);
  return found;
}

/** A namespace of its own on a shared server: what a `pipe` process needs, and a client for the test. */
export interface RemoteNamespace {
  kind: ServerKind;
  env: Record<string, string>;
  /** A client with write credentials (to inspect and tamper with entries). */
  client: RemoteCache;
  /** Where the server keeps a blob or manifest of this namespace on disk. */
  blobFile(sha256: string): string;
  manifestFile(key: string): string;
  /** Every file the server holds for this namespace. */
  files(): string[];
  /** The token, to check that it is never printed or stored. */
  token: string;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

export function namespace(kind: ServerKind, s: CacheServersEnv): RemoteNamespace {
  const id = `t${randomBytes(6).toString('hex')}`;
  if (kind === 'bazel') {
    const url = `${s.PIPE_TEST_BAZEL_CACHE_URL}/${id}`;
    const token = s.PIPE_TEST_BAZEL_CACHE_TOKEN!;
    const dir = path.join(s.PIPE_TEST_BAZEL_CACHE_DIR!, id);
    return {
      kind,
      env: { PIPE_REMOTE_CACHE: url, PIPE_REMOTE_CACHE_TOKEN: token, PIPE_REMOTE_CACHE_PROTOCOL: 'bazel' },
      client: new BazelHttpCache({ url, token }),
      blobFile: (sha) => path.join(dir, 'cas', sha),
      manifestFile: (key) => path.join(dir, 'ac', key),
      files: () => listFiles(dir),
      token,
    };
  }
  const url = s.PIPE_TEST_TURBO_CACHE_URL!;
  const token = s.PIPE_TEST_TURBO_CACHE_TOKEN!;
  const dir = path.join(s.PIPE_TEST_TURBO_CACHE_DIR!, id);
  return {
    kind,
    env: {
      PIPE_REMOTE_CACHE: url,
      PIPE_REMOTE_CACHE_TOKEN: token,
      PIPE_REMOTE_CACHE_PROTOCOL: 'turbo',
      PIPE_REMOTE_CACHE_TEAM: id,
    },
    client: new TurboRemoteCache({ url, token, team: id }),
    blobFile: (sha) => path.join(dir, sha),
    manifestFile: (key) => path.join(dir, `ac-${key}`),
    files: () => listFiles(dir),
    token,
  };
}

/** A fresh workspace holding the repository's pipe.yaml and pipelines/ (the Crab excess_map pipeline). */
export { crabWorkspace } from './rig.js';

/**
 * The Crab build runs with the TypeScript reference kernels: always available and deterministic, so
 * the test does not depend on the state of the native addon (the backend enters the key either way).
 */
export const CRAB = ['excess_map', '--kernels', 'js'];

export interface Built {
  run: PipeRun;
  ended: Record<string, string[]>;
  warnings: string[];
}

/** `pipe build --json` with the remote's environment; task ids by end state and the warning lines. */
export async function buildWith(ws: Workspace, args: string[], env: Record<string, string>): Promise<Built> {
  const run = await ws.run(['build', ...args, '--json'], {
    PIPE_REMOTE_CACHE: '',
    PIPE_REMOTE_CACHE_TOKEN: '',
    ...env,
  });
  const ended: Record<string, string[]> = {};
  for (const e of parseEvents(run.stdout)) {
    if (e.event !== 'task-end') continue;
    const list = ended[e.state!] ?? [];
    list.push(e.id!);
    ended[e.state!] = list;
  }
  for (const list of Object.values(ended)) list.sort();
  const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  return { run, ended, warnings };
}

/** Task records of a workspace's state file. */
export function stateTasks(ws: Workspace): Record<
  string,
  {
    key: string;
    outputs: Record<string, { path: string; sha256: string }>;
    items?: Array<{ id: string; files: string[] }>;
  }
> {
  // The state is its base file plus its journal (packages/core/src/state/state-journal.ts).
  return loadState(ws.path('.pipe/state.json')).data.tasks.toObject() as ReturnType<typeof stateTasks>;
}

/** Every product file of a workspace (relative paths under build/ and products/). */
export function productFiles(ws: Workspace): string[] {
  return ['build', 'products']
    .flatMap((d) => listFiles(ws.path(d)).map((f) => path.relative(ws.root, f)))
    .sort();
}

/** Files under a directory whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  return listFiles(dir).filter((f) => readFileSync(f).includes(needle));
}

export const tmpDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));

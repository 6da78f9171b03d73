import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '../../..');
const upScript = join(repoRoot, 'scripts/cache-servers-up.sh');
const downScript = join(repoRoot, 'scripts/cache-servers-down.sh');

/** What the tests need to know about the running servers (from the up script's exports). */
export interface CacheServersEnv {
  PIPE_TEST_BAZEL_CACHE_URL?: string;
  PIPE_TEST_BAZEL_CACHE_TOKEN?: string;
  PIPE_TEST_BAZEL_CACHE_BASIC?: string;
  PIPE_TEST_BAZEL_CACHE_DIR?: string;
  PIPE_TEST_BAZEL_CACHE_LOG?: string;
  PIPE_TEST_TURBO_CACHE_URL?: string;
  PIPE_TEST_TURBO_CACHE_TOKEN?: string;
  PIPE_TEST_TURBO_CACHE_TEAM?: string;
  PIPE_TEST_TURBO_CACHE_DIR?: string;
}

export type ServersOrSkip = { env: CacheServersEnv; skip?: undefined } | { env?: undefined; skip: string };

const onPath = (bin: string) => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, bin)));

/** Parse `export NAME=value` lines (values as printed by bash's %q for our plain strings). */
export function parseExports(stdout: string): CacheServersEnv {
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^export (PIPE_TEST_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1] as string] = (m[2] as string).replace(/^'(.*)'$/, '$1');
  }
  return env as CacheServersEnv;
}

/** Which servers this machine can start, or why not. */
export function missingTools(servers: string[]): string | undefined {
  const missing: string[] = [];
  if (servers.includes('nginx') && !onPath('nginx') && !existsSync('/usr/sbin/nginx'))
    missing.push('nginx (Debian nginx-extras)');
  if (servers.includes('turbo') && !onPath('npm')) missing.push('npm');
  if (!onPath('curl')) missing.push('curl');
  return missing.length ? `not installed: ${missing.join(', ')}` : undefined;
}

/** Run the up script (idempotent) with extra knobs; returns the exports. */
export async function serversUp(knobs: Record<string, string> = {}, check = false): Promise<CacheServersEnv> {
  const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, ...knobs };
  const { stdout } = await run('bash', [upScript, ...(check ? ['--check'] : [])], { env, timeout: 180_000 });
  return parseExports(stdout);
}

export async function serversDown(knobs: Record<string, string> = {}): Promise<void> {
  await run('bash', [downScript], { env: { ...process.env, ...knobs }, timeout: 60_000 });
}

/** A free TCP port in 18100-18999 (the project's range), for a private server instance. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 18100 + Math.floor(Math.random() * 900);
    const free = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 18100-18999');
}

/**
 * The shared servers: from the environment (CI's eval of the up script, or the globalSetup), else started
 * here with the repository's script; skipped with a reason when nginx/npm are missing, except under CI=true.
 */
export async function sharedServers(provided: CacheServersEnv | undefined): Promise<ServersOrSkip> {
  const fromEnv = parseExports(
    Object.entries(process.env)
      .map(([k, v]) => `export ${k}=${v ?? ''}`)
      .join('\n'),
  );
  if (
    fromEnv.PIPE_TEST_BAZEL_CACHE_URL &&
    fromEnv.PIPE_TEST_TURBO_CACHE_URL &&
    fromEnv.PIPE_TEST_BAZEL_CACHE_DIR
  )
    return { env: fromEnv };
  if (provided?.PIPE_TEST_BAZEL_CACHE_URL) return { env: provided };
  const missing = missingTools(['nginx', 'turbo']);
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`cache servers required under CI=true: ${missing}`);
    return { skip: `cache server tests skipped: ${missing}` };
  }
  return { env: await serversUp() };
}

/**
 * The remote cache from the command line, the environment and the pipeline's `remote_cache:`: which server,
 * which protocol, which mode, and what happens when it fails. Flags win over the environment, which wins
 * over the pipeline file:
 *
 *   --remote-cache <mode>          read | write | readwrite | off   (env PIPE_REMOTE_CACHE_MODE; default readwrite)
 *   --remote-cache-url <url>       env PIPE_REMOTE_CACHE
 *   --remote-cache-protocol <p>    bazel | turbo                    (env PIPE_REMOTE_CACHE_PROTOCOL; default bazel)
 *   --remote-cache-team <team>     turbo only                       (env PIPE_REMOTE_CACHE_TEAM)
 *   --remote-cache-required        a failing remote fails the build (default: one warning, then local only)
 *   token: env PIPE_REMOTE_CACHE_TOKEN only (never a flag: it would show in `ps` and shell history)
 *   env PIPE_REMOTE_CACHE_TIMEOUT  seconds per small request (default 30)
 *
 * Also `pipe cache doctor`: the configured remote tested end to end, with a one-line verdict.
 */
import { existsSync } from 'node:fs';
import {
  BazelHttpCache,
  type CacheFailure,
  type CacheWarning,
  describeFailure,
  doctor,
  isRemoteDown,
  LocalStore,
  pushEntries,
  type RemoteCache,
  type RemoteMode,
  remoteFromEnv,
  TieredCache,
  TurboRemoteCache,
} from '@pipe/cache';
import type { Pipeline } from '@pipe/core';
import {
  cacheDirOption,
  findPipelineFile,
  type GlobalOptions,
  loadForCommand,
  workingDir,
} from '../context.js';
import { EXIT_BUILD_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { interruptSignal } from '../interrupt.js';
import { buildRecordFromCli } from './workspace.js';

export const REMOTE_MODES: readonly RemoteMode[] = ['read', 'write', 'readwrite', 'off'];

export interface RemoteCliOptions {
  remoteCache?: string;
  remoteCacheUrl?: string;
  remoteCacheProtocol?: string;
  remoteCacheTeam?: string;
  remoteCacheRequired?: boolean;
  json?: boolean;
}

export type RemoteResolution =
  | { ok: true; remote: RemoteCache | undefined; mode: RemoteMode; required: boolean }
  /** `badMode`: the mode itself is not one (a doctor refuses it too, as a build would). */
  | { ok: false; message: string; badMode?: true };

/** The configured remote and mode; a configuration error names the flag or variable to fix. */
export function resolveRemote(
  opts: RemoteCliOptions,
  env: NodeJS.ProcessEnv = process.env,
  pipeline: Pipeline['remoteCache'] = {},
): RemoteResolution {
  const modeText = (opts.remoteCache ?? env.PIPE_REMOTE_CACHE_MODE ?? pipeline.mode ?? 'readwrite')
    .trim()
    .toLowerCase();
  if (!REMOTE_MODES.includes(modeText as RemoteMode)) {
    const from = opts.remoteCache !== undefined ? '--remote-cache' : 'PIPE_REMOTE_CACHE_MODE';
    return {
      ok: false,
      message: `pipe: ${from}: '${modeText}' is not one of ${REMOTE_MODES.join(', ')}`,
      badMode: true,
    };
  }
  const mode = modeText as RemoteMode;
  const required = opts.remoteCacheRequired ?? false;
  const merged: Record<string, string | undefined> = {
    PIPE_REMOTE_CACHE: opts.remoteCacheUrl ?? env.PIPE_REMOTE_CACHE ?? pipeline.url,
    PIPE_REMOTE_CACHE_PROTOCOL:
      opts.remoteCacheProtocol ?? env.PIPE_REMOTE_CACHE_PROTOCOL ?? pipeline.protocol,
    PIPE_REMOTE_CACHE_TEAM: opts.remoteCacheTeam ?? env.PIPE_REMOTE_CACHE_TEAM ?? pipeline.team,
    PIPE_REMOTE_CACHE_TOKEN: env.PIPE_REMOTE_CACHE_TOKEN,
  };
  if (mode === 'off') return { ok: true, remote: undefined, mode, required: false };
  const found = remoteFromEnv(merged, { signal: interruptSignal });
  if (found === undefined) {
    if (required)
      return {
        ok: false,
        message: 'pipe: --remote-cache-required, but no remote cache is configured (set PIPE_REMOTE_CACHE)',
      };
    return { ok: true, remote: undefined, mode, required };
  }
  if ('type' in found) {
    const flag: Record<string, string> = {
      PIPE_REMOTE_CACHE: '--remote-cache-url',
      PIPE_REMOTE_CACHE_PROTOCOL: '--remote-cache-protocol',
      PIPE_REMOTE_CACHE_TEAM: '--remote-cache-team',
    };
    return {
      ok: false,
      message: `pipe: remote cache: ${found.variable}${flag[found.variable] ? ` (or ${flag[found.variable]})` : ''}: ${found.detail}`,
    };
  }
  const timeout = timeoutMs(env.PIPE_REMOTE_CACHE_TIMEOUT);
  if (timeout === 'bad')
    return { ok: false, message: 'pipe: PIPE_REMOTE_CACHE_TIMEOUT must be a positive number of seconds' };
  return {
    ok: true,
    remote: timeout === undefined ? found : withTimeout(found, merged, timeout),
    mode,
    required,
  };
}

function timeoutMs(text: string | undefined): number | undefined | 'bad' {
  if (!text?.trim()) return undefined;
  const s = Number(text);
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : 'bad';
}

/** The same remote, rebuilt with a shorter request timeout (remoteFromEnv validated the rest). */
function withTimeout(remote: RemoteCache, env: Record<string, string | undefined>, ms: number): RemoteCache {
  const url = env.PIPE_REMOTE_CACHE!.trim();
  const token = env.PIPE_REMOTE_CACHE_TOKEN?.trim() || undefined;
  // Only the timeout changes: the retries stay the backends' default.
  const auth = { url, ...(token ? { token } : {}), timeoutMs: ms, signal: interruptSignal };
  return remote.protocol === 'turbo'
    ? new TurboRemoteCache({ ...auth, token: token!, team: env.PIPE_REMOTE_CACHE_TEAM!.trim() })
    : new BazelHttpCache(auth);
}

/** A session's remote: the tiered cache to hand the engine, and what went wrong with the remote, if anything. */
export interface RemoteSetup {
  cache: TieredCache;
  remote: RemoteCache;
  mode: RemoteMode;
  required: boolean;
  /** Set when the remote failed as a whole; with `required` the build must then fail. */
  failure(): CacheFailure | undefined;
  /** Called once when the remote fails as a whole (e.g. to stop a build that requires it). */
  onDown?: (failure: CacheFailure) => void;
}

/**
 * A tiered cache over the local store at `cacheDir` and the configured remote, or undefined when no
 * remote is used. Warnings go to `warn` (one line each; never a secret).
 */
export function remoteSetup(
  resolved: RemoteResolution & { ok: true },
  cacheDir: string,
  warn: (line: string) => void,
  /** A long session's: try a remote that failed again after this long (see TieredCacheOptions.retryAfterMs). */
  retryAfterMs?: number,
  /** A long session's: told when a remote that failed answers again. */
  onRecovered?: (message: string) => void,
): RemoteSetup | undefined {
  const { remote, mode, required } = resolved;
  if (!remote || mode === 'off') return undefined;
  let down: CacheFailure | undefined;
  const setup: RemoteSetup = {
    cache: undefined as unknown as TieredCache,
    remote,
    mode,
    required,
    failure: () => down,
  };
  const onWarning = (w: CacheWarning) => {
    // Stopping (Ctrl-C, SIGTERM) cut the remote's requests short on purpose: not news about the remote.
    if (interruptSignal.aborted) return;
    let hint = '';
    if (isRemoteDown(w.failure) && w.backend === remote.name && !down) {
      down = w.failure;
      if (required) {
        warn(
          `error: remote cache ${remote.url} failed (${describeFailure(w.failure)}) and --remote-cache-required is set: the build completes locally, then fails`,
        );
        setup.onDown?.(w.failure);
        return;
      }
      // What is stored from now on stays local, and a later build that finds it up to date uploads nothing.
      if (w.failure.type === 'unavailable' && (mode === 'write' || mode === 'readwrite'))
        hint = " (`pipe cache push` sends this build's results to it once it answers again)";
    }
    warn(`warning: ${w.message}${hint}`);
  };
  // The tiered cache itself never fails a build; `required` is enforced here, by stopping it.
  setup.cache = new TieredCache({
    local: new LocalStore({ root: cacheDir }),
    remote,
    mode,
    required: false,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(onRecovered ? { onRecovered } : {}),
    onWarning,
  });
  return setup;
}

/**
 * The remote cache a command on `pipeline` uses: flags, environment, then the pipeline's `remote_cache:`, over the
 * workspace's local store (or --cache-dir). A message for a bad setting.
 */
export function pipelineRemote(
  opts: RemoteCliOptions,
  pipeline: Pick<Pipeline, 'root' | 'remoteCache'>,
  cacheDir: string | undefined,
  warn: (line: string) => void,
  workspaceLayout: (root: string, cacheDir?: string) => { cacheDir: string },
  override: { required?: boolean; retryAfterMs?: number; onRecovered?: (message: string) => void } = {},
): { ok: true; remote: RemoteSetup | undefined } | { ok: false; message: string } {
  const resolved = resolveRemote(opts, process.env, pipeline.remoteCache);
  if (!resolved.ok) return resolved;
  const localDir = workspaceLayout(pipeline.root, cacheDir).cacheDir;
  const { retryAfterMs, onRecovered, ...rest } = override;
  return {
    ok: true,
    remote: remoteSetup({ ...resolved, ...rest }, localDir, warn, retryAfterMs, onRecovered),
  };
}

/** Why doctor and push have nothing to work on, and what to set. */
const NO_REMOTE =
  'no remote cache configured: give --remote-cache-url URL, or set PIPE_REMOTE_CACHE (and PIPE_REMOTE_CACHE_TOKEN, PIPE_REMOTE_CACHE_PROTOCOL, PIPE_REMOTE_CACHE_TEAM as needed), or remote_cache: {url} in pipe.yaml';

/** `pipe cache doctor`: test the configured remote (reach, read, write, read back, overwrite, delete). */
export async function doctorCommand(opts: RemoteCliOptions & GlobalOptions): Promise<number> {
  // The pipeline's own `remote_cache:` counts, as for a build (the environment and flags override it).
  const pipeline = await pipelineRemoteCache(opts);
  const wanted = resolveRemote(opts, process.env, pipeline);
  // A mode a build would refuse (PIPE_REMOTE_CACHE_MODE=rw) is refused here too, not tested as readwrite.
  if (!wanted.ok && wanted.badMode) {
    process.stderr.write(`${wanted.message}\n`);
    return EXIT_USAGE;
  }
  // The doctor tests the server even when the configured mode is 'off'; a read-only mode only needs reads.
  const resolved = resolveRemote({ ...opts, remoteCache: 'readwrite' }, process.env, pipeline);
  if (!resolved.ok) {
    process.stderr.write(`${resolved.message}\n`);
    return EXIT_USAGE;
  }
  if (!resolved.remote) {
    process.stderr.write(`pipe: ${NO_REMOTE}\n`);
    return EXIT_USAGE;
  }
  const report = await doctor(resolved.remote);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ url: resolved.remote.url, protocol: resolved.remote.protocol, ...report })}\n`,
    );
  } else {
    process.stdout.write(`${report.verdict}\n`);
    for (const s of report.steps)
      process.stdout.write(`  ${s.status.padEnd(7)} ${s.step.padEnd(9)} ${s.detail} (${s.ms} ms)\n`);
  }
  const enoughForMode = report.readOnly && wanted.ok && wanted.mode === 'read';
  return report.ok || enoughForMode ? EXIT_OK : EXIT_BUILD_FAILED;
}

/** The workspace pipeline's `remote_cache:` setting, when there is a pipeline that loads (else none). */
async function pipelineRemoteCache(opts: GlobalOptions): Promise<Pipeline['remoteCache']> {
  const cwd = workingDir(opts);
  if (!findPipelineFile(cwd, opts.file)) return {};
  const loaded = await loadForCommand(opts);
  return loaded.ok ? (loaded.pipeline.remoteCache ?? {}) : {};
}

/**
 * `pipe cache push [build]`: the cache entries of a build (default: the last) that the remote lacks, sent to it from
 * the local store. What a build stored while the remote was down stays local (a later build finds its tasks up to
 * date and stores nothing): this shares it once the remote answers again. Exit 0 when every entry the local store
 * holds is on the remote, 1 when the remote failed, 2 for a bad setting or build.
 */
export async function pushCommand(
  id: string | undefined,
  opts: RemoteCliOptions & GlobalOptions & { cacheDir?: string },
): Promise<number> {
  const ws = buildRecordFromCli(opts, id);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  const resolved = resolveRemote(opts, process.env, await pipelineRemoteCache(opts));
  if (!resolved.ok) {
    process.stderr.write(`${resolved.message}\n`);
    return EXIT_USAGE;
  }
  if (!resolved.remote) {
    process.stderr.write(`pipe: cache push: ${NO_REMOTE}\n`);
    return EXIT_USAGE;
  }
  if (resolved.mode !== 'write' && resolved.mode !== 'readwrite') {
    process.stderr.write(
      `pipe: cache push writes to the remote cache, and its mode is ${resolved.mode} (--remote-cache, PIPE_REMOTE_CACHE_MODE)\n`,
    );
    return EXIT_USAGE;
  }
  const record = ws.record;
  // Tasks that failed (or were skipped, cancelled, not started) stored nothing: no entry to push, nor one to call evicted.
  const keys = Object.values(record.tasks).flatMap((t) =>
    t.key && (t.state === 'ran' || t.state === 'restored' || t.state === 'up-to-date') ? [t.key] : [],
  );
  // The cache the build used (PIPE_CACHE_DIR, --cache-dir then), unless one is named now.
  const cacheDir =
    cacheDirOption(opts) === undefined && record.cacheDir && existsSync(record.cacheDir)
      ? record.cacheDir
      : ws.layout.cacheDir;
  const report = await pushEntries(new LocalStore({ root: cacheDir }), resolved.remote, keys);
  const url = resolved.remote.url;
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({
        build: record.id,
        url,
        ...report,
        skipped: report.skipped.map((s) => ({ key: s.key, message: describeFailure(s.failure) })),
        ...(report.failure
          ? { failure: { key: report.failure.key, message: describeFailure(report.failure.failure) } }
          : {}),
      })}\n`,
    );
  else {
    const mb = (report.bytes / 1e6).toFixed(1);
    const lines = [
      report.pushed.length > 0
        ? `pushed ${report.pushed.length} entr${report.pushed.length === 1 ? 'y' : 'ies'} of build ${record.id} to ${url} (${report.blobs} blob${report.blobs === 1 ? '' : 's'}, ${mb} MB); ${report.present.length} already there`
        : `nothing pushed: ${report.present.length} entr${report.present.length === 1 ? 'y' : 'ies'} of build ${record.id} already on ${url}`,
    ];
    if (report.notLocal.length > 0)
      lines.push(
        `${report.notLocal.length} entr${report.notLocal.length === 1 ? 'y is' : 'ies are'} not (whole) in the local cache (evicted, or stored in another cache): not pushed`,
      );
    for (const s of report.skipped)
      lines.push(`pipe: cache push: entry ${s.key.slice(0, 12)} not sent: ${describeFailure(s.failure)}`);
    if (report.failure)
      lines.push(
        `pipe: cache push: remote cache ${url} failed at entry ${report.failure.key.slice(0, 12)}: ${describeFailure(report.failure.failure)}; the entries before it were sent`,
      );
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  return report.failure || report.skipped.length > 0 ? EXIT_BUILD_FAILED : EXIT_OK;
}

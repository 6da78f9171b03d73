import { BazelHttpCache } from './bazel-http.js';
import type { RemoteCache } from './http-backend.js';
import { TurboRemoteCache } from './turbo-remote.js';

/** A remote-cache configuration that cannot be used; `variable` names the environment variable to fix. */
export interface RemoteConfigError {
  type: 'config-error';
  variable: string;
  detail: string;
}

/**
 * The remote cache configured by the environment, or undefined when none is:
 *   PIPE_REMOTE_CACHE            URL (http/https; userinfo = basic auth; a path = prefix)
 *   PIPE_REMOTE_CACHE_PROTOCOL   bazel (default) | turbo
 *   PIPE_REMOTE_CACHE_TEAM       the team (turbo only; required there)
 *   PIPE_REMOTE_CACHE_TOKEN      bearer token (optional for bazel: reads may be anonymous)
 * No message of the result contains the token or a password.
 */
export function remoteFromEnv(
  env: Record<string, string | undefined> = process.env,
  options: { signal?: AbortSignal } = {},
): RemoteCache | RemoteConfigError | undefined {
  const raw = env.PIPE_REMOTE_CACHE?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { type: 'config-error', variable: 'PIPE_REMOTE_CACHE', detail: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      type: 'config-error',
      variable: 'PIPE_REMOTE_CACHE',
      detail: `unsupported scheme '${url.protocol}' (http or https)`,
    };
  }
  const protocol = (env.PIPE_REMOTE_CACHE_PROTOCOL?.trim() || 'bazel').toLowerCase();
  const token = env.PIPE_REMOTE_CACHE_TOKEN?.trim() || undefined;
  const auth = { url, ...(token ? { token } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  switch (protocol) {
    case 'bazel':
      return new BazelHttpCache(auth);
    case 'turbo': {
      const team = env.PIPE_REMOTE_CACHE_TEAM?.trim();
      if (!team)
        return {
          type: 'config-error',
          variable: 'PIPE_REMOTE_CACHE_TEAM',
          detail: 'required with PIPE_REMOTE_CACHE_PROTOCOL=turbo',
        };
      if (!token) {
        return {
          type: 'config-error',
          variable: 'PIPE_REMOTE_CACHE_TOKEN',
          detail: 'a Turborepo remote cache needs a bearer token',
        };
      }
      return new TurboRemoteCache({ ...auth, team });
    }
    default:
      return {
        type: 'config-error',
        variable: 'PIPE_REMOTE_CACHE_PROTOCOL',
        detail: `'${protocol}' is not bazel or turbo`,
      };
  }
}

import type { HttpTransportOptions } from './http-transport.js';

/** Where a remote is and how to authenticate; the token is never kept in a message. */
export interface RemoteAuthOptions {
  /** Base URL; userinfo (`http://user:pass@host/`) means basic auth. A path is a prefix for all entries. */
  url: string | URL;
  /** Bearer token (takes precedence over URL userinfo). */
  token?: string;
  timeoutMs?: number;
  blobTimeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  /** The session's interrupt: aborts requests in flight (see HttpTransportOptions.signal). */
  signal?: AbortSignal;
}

/** Split credentials out of the URL into an Authorization header and a list of secrets to redact. */
export function transportOptions(options: RemoteAuthOptions): HttpTransportOptions {
  const url = new URL(options.url);
  const user = decodeURIComponent(url.username);
  const encodedPass = url.password; // as written in the URL (p%40ss), a secret too
  const pass = decodeURIComponent(encodedPass);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/'; // so relative entry paths keep the prefix
  const secrets = [options.token ?? '', pass, encodedPass].filter((s) => s.length > 0);
  let authorization: string | undefined;
  if (options.token) {
    authorization = `Bearer ${options.token}`;
  } else if (user || pass) {
    const basic = Buffer.from(`${user}:${pass}`).toString('base64');
    authorization = `Basic ${basic}`;
    secrets.push(basic);
  }
  const out: HttpTransportOptions = { baseUrl: url, secrets };
  if (authorization) out.authorization = authorization;
  if (options.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs;
  if (options.blobTimeoutMs !== undefined) out.blobTimeoutMs = options.blobTimeoutMs;
  if (options.retries !== undefined) out.retries = options.retries;
  if (options.backoffMs !== undefined) out.backoffMs = options.backoffMs;
  if (options.signal) out.signal = options.signal;
  return out;
}

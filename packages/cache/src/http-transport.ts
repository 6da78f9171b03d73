import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { trustDeferredExtraCa } from './deferred-ca.js';
import { RequestTimers } from './request-timers.js';
import type { CacheFailure } from './types.js';

/** How a remote is reached: everything the HTTP layer needs, with credentials kept out of the URL. */
export interface HttpTransportOptions {
  /** Base URL without userinfo (e.g. http://host:8080/prefix/). */
  baseUrl: URL;
  /** Full `Authorization` header value, if any. */
  authorization?: string;
  /** Every secret string that must never appear in a failure or warning (tokens, passwords, encodings). */
  secrets: string[];
  /** Timeout of small requests (HEAD, manifests) in ms. Default 30 s. */
  timeoutMs?: number;
  /**
   * Timeout of a whole blob transfer in ms. Default 10 min. Within it, a blob transfer that moves no byte for
   * `timeoutMs` (a server that stalls half-way through a body) fails as stalled.
   */
  blobTimeoutMs?: number;
  /** Retries after a network error or 5xx (never after a 4xx). Default 2. */
  retries?: number;
  /** First backoff in ms, doubled per retry (with jitter). Default 100. */
  backoffMs?: number;
  /**
   * The session's interrupt (Ctrl-C, SIGTERM): aborts the requests in flight and fails later ones at once, so that
   * a hung server does not hold a stopping build for timeout × attempts.
   */
  signal?: AbortSignal;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  /** Path relative to the base URL, with its query string. */
  path: string;
  headers?: Record<string, string>;
  /** A fresh body per attempt (streams cannot be replayed). */
  body?: () => { stream: ReadableStream<Uint8Array> | Uint8Array; length: number };
  /** Use the blob timeout instead of the small-request one. */
  large?: boolean;
}

/** Bodies from this size on whose upload the server cut off are taken as refused for their size (see send). */
const LARGE_BODY_BYTES = 1 << 20;

export type HttpResult = { ok: true; response: Response } | { ok: false; failure: CacheFailure };

/**
 * fetch (undici) with per-request timeouts, bounded retries with exponential backoff on network errors and
 * 5xx, and redaction: no failure text ever contains a credential.
 */
export class HttpTransport {
  readonly timeoutMs: number;
  readonly blobTimeoutMs: number;
  readonly retries: number;
  private readonly backoffMs: number;
  private readonly secretsPattern: RegExp | undefined;

  constructor(readonly options: HttpTransportOptions) {
    // This thread's fetch trusts the certificates node was started without (bin/pipe), for https URLs only; a no-op
    // when nothing was deferred or fetch is wrapped already.
    trustDeferredExtraCa();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.blobTimeoutMs = options.blobTimeoutMs ?? 600_000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 100;
    this.secretsPattern = secretsPattern(options.secrets);
    // Every request listens on the session's interrupt while it runs: a build uploading dozens of blobs at once is
    // no listener leak (node warned past 10).
    if (options.signal) setMaxListeners(0, options.signal);
  }

  /** The URL of `path` for messages (no userinfo, no query). */
  describe(path: string): string {
    const u = new URL(path, this.options.baseUrl);
    return `${u.origin}${u.pathname}`;
  }

  /** Replace every secret in `text` by `***` (see secretsPattern). */
  redact(text: string): string {
    return this.secretsPattern ? text.replace(this.secretsPattern, '***') : text;
  }

  /**
   * Send a request; a response with any status below 500 is returned for the caller to interpret.
   * After the last retry, a network error, timeout or 5xx becomes an `unavailable` failure.
   */
  async send(req: HttpRequest): Promise<HttpResult> {
    let lastDetail = '';
    let cause: 'interrupted' | 'timeout' | 'server-error' | 'network' = 'network';
    let attempts = 0;
    /** A large body's upload was cut off once already (see below). */
    let cutOnce = false;
    const interrupt = this.options.signal;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0)
        await delay(this.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()), undefined, {
          ...(interrupt ? { signal: interrupt } : {}),
        }).catch(() => undefined);
      if (interrupt?.aborted) {
        lastDetail = 'interrupted';
        cause = 'interrupted';
        break;
      }
      const headers: Record<string, string> = { ...req.headers };
      if (this.options.authorization) headers.authorization = this.options.authorization;
      // A blob may take minutes, but not minutes without a byte: the idle watchdog fails a stalled one.
      const timers = new RequestTimers(
        req.large ? this.blobTimeoutMs : this.timeoutMs,
        req.large ? this.timeoutMs : undefined,
        interrupt,
      );
      const init: RequestInit & { duplex?: 'half' } = {
        method: req.method,
        headers,
        signal: timers.signal,
        redirect: 'error',
      };
      let bodyBytes = 0;
      if (req.body) {
        const body = req.body();
        bodyBytes = body.length;
        init.body = (
          req.large && body.stream instanceof ReadableStream ? timers.watchUpload(body.stream) : body.stream
        ) as NonNullable<RequestInit['body']>;
        headers['content-length'] = String(body.length);
        init.duplex = 'half';
      }
      attempts++;
      try {
        const response = await fetch(new URL(req.path, this.options.baseUrl), init);
        // The caller reads the body: its end ends the timers.
        if (response.status < 500) return { ok: true, response: timers.watchResponse(response) };
        lastDetail = `HTTP ${response.status} ${await this.excerpt(response)}`.trimEnd();
        cause = 'server-error';
      } catch (e) {
        lastDetail = interrupt?.aborted ? 'interrupted' : networkDetail(e);
        cause = interrupt?.aborted ? 'interrupted' : lastDetail === 'timed out' ? 'timeout' : 'network';
        // A server that closes the connection twice while a large body is sent is refusing its size (turbo's body
        // limit answers 413 only sometimes): this entry is not shared, the remote is not down, and sending it a third
        // time (hundreds of MB) would change nothing. Once may be a dropped connection: sent again.
        const code = (e as { cause?: { code?: string } }).cause?.code;
        const cut =
          cause === 'network' && bodyBytes >= LARGE_BODY_BYTES && (code === 'EPIPE' || code === 'ECONNRESET');
        if (cut && !cutOnce) cutOnce = true;
        else if (cut) {
          timers.end();
          return {
            ok: false,
            failure: {
              type: 'rejected',
              status: 413,
              detail: this.redact(
                `${req.method} ${this.describe(req.path)}: the server closed the connection while ${(bodyBytes / 2 ** 20).toFixed(0)} MiB were sent (${code}): too large for it, as a 413 would say`,
              ),
            },
          };
        }
      }
      timers.end();
      // A server that did not answer within the timeout will not answer the next attempt sooner: retries are for a
      // dropped connection or a 5xx, and a hung cache held a build 3 × 30 s before it said anything.
      if (cause === 'timeout') break;
    }
    const tried =
      cause === 'interrupted'
        ? ''
        : cause === 'timeout'
          ? ` (after ${this.timeoutMs / 1000} s; not retried)`
          : ` (after ${attempts} attempt${attempts === 1 ? '' : 's'})`;
    return {
      ok: false,
      failure: {
        type: 'unavailable',
        detail: this.redact(`${req.method} ${this.describe(req.path)}: ${lastDetail}${tried}`),
        ...(cause === 'timeout' || cause === 'server-error' ? { cause } : {}),
      },
    };
  }

  /** The first 200 characters of a (small, error) response body, redacted; the body is consumed. */
  async excerpt(response: Response): Promise<string> {
    try {
      return this.summarize(await response.text());
    } catch {
      return '';
    }
  }

  /** A body in at most 200 characters, redacted: an HTML page by its title. */
  summarize(body: string): string {
    let text = body.trim();
    // A server's HTML error page (nginx: <html><head><title>403 Forbidden</title>…): its title says it.
    if (/^<(!doctype|html)/i.test(text))
      text = /<title>([^<]*)<\/title>/i.exec(text)?.[1] ?? text.replace(/<[^>]*>/g, ' ');
    text = text.replace(/\s+/g, ' ').trim();
    return this.redact(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  }
}

/** Secrets this long are redacted wherever they occur: by chance, no ordinary text holds one. */
const MIN_SUBSTRING_SECRET = 8;

/**
 * One pattern for all secrets, longest first (a secret that holds another goes whole). A secret of 8 characters
 * or more matches anywhere, even inside a word (`token=abc…`, a URL); a shorter one (a password like `ci`) only
 * where no letter, digit or `_` touches it: as a substring it would cut every word that holds it, and a
 * one-character one every such character of the message. Empty and blank secrets match nothing.
 */
export function secretsPattern(secrets: readonly string[]): RegExp | undefined {
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const alternatives = [...new Set(secrets.filter((s) => s.trim() !== ''))]
    .sort((a, b) => b.length - a.length)
    .map((s) =>
      s.length >= MIN_SUBSTRING_SECRET ? literal(s) : `(?<![A-Za-z0-9_])${literal(s)}(?![A-Za-z0-9_])`,
    );
  return alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : undefined;
}

/** A response that is a web page (a sign-in page, a proxy's notice), not a cache entry. */
export function isHtml(response: Response): boolean {
  return /^\s*text\/html\b/i.test(response.headers.get('content-type') ?? '');
}

/** Discard a response body so its connection can be reused. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // already closed
  }
}

/** A short description of a fetch error: its cause's code (ECONNREFUSED, ...) or the abort reason. */
export function networkDetail(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError')
    return err.message?.startsWith('stalled') ? err.message : 'timed out';
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message ?? 'error'} (${cause})` : (err.message ?? String(e));
}

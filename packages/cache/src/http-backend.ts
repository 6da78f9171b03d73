import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { hashFile, isMissing, writeStreamAtomic } from './atomic-file.js';
import {
  discard,
  HttpTransport,
  type HttpTransportOptions,
  isHtml,
  networkDetail,
} from './http-transport.js';
import { decodeManifest, encodeManifest, isSafeKey, isSha256, validateManifest } from './manifest.js';
import { type CacheBackend, type CacheFailure, type CacheOutcome, fail, type Manifest, ok } from './types.js';

/** Manifests larger than this are refused on read (a manifest is a small JSON document). */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** A remote cache: a CacheBackend with what `doctor` and the tiered cache need besides. */
export interface RemoteCache extends CacheBackend {
  readonly protocol: 'bazel' | 'turbo';
  /** The server's URL for messages (no credentials). */
  readonly url: string;
  /** A cheap request that shows the server is there (no write). */
  ping(): Promise<CacheOutcome<void>>;
  /** Remove a blob, where the protocol has a delete (Bazel/WebDAV yes, Turborepo no). */
  deleteBlob?(sha256: string): Promise<CacheOutcome<boolean>>;
}

export type EntryKind = 'ac' | 'cas';

/**
 * The shared HTTP logic of remote backends: streamed uploads (with the file's hash checked first, so a
 * corrupted local file never poisons the remote), streamed downloads hashed on the way into a temp file
 * that is renamed only when the hash matches. Subclasses say where entries live and what statuses mean.
 */
export abstract class HttpCacheBackend implements RemoteCache {
  abstract readonly protocol: 'bazel' | 'turbo';
  readonly name: string;
  readonly url: string;
  protected readonly http: HttpTransport;

  constructor(options: HttpTransportOptions) {
    this.http = new HttpTransport(options);
    this.url = this.http.describe('./');
    this.name = `remote:${this.url}`;
  }

  /** Path (relative to the base URL, with query) of an entry. */
  protected abstract entryPath(kind: EntryKind, id: string): string;
  /** Extra headers of uploads. */
  protected uploadHeaders(): Record<string, string> {
    return { 'content-type': 'application/octet-stream' };
  }
  abstract ping(): Promise<CacheOutcome<void>>;

  /** Turn a 4xx answer into a failure (404 is handled before). */
  protected async clientError(response: Response, what: string): Promise<CacheFailure> {
    const body = await this.http.excerpt(response);
    const detail = `${what}: HTTP ${response.status}${body ? ` ${body}` : ''}`;
    // Which of the two it is decides what a user fixes: credentials to add, or the ones given.
    if (response.status === 401 || response.status === 403)
      return {
        type: 'unauthorized',
        detail: `${detail} (${this.http.options.authorization ? 'the credentials given were refused' : 'no credentials were sent: PIPE_REMOTE_CACHE_TOKEN is not set, nor user:password in the URL'})`,
      };
    return { type: 'rejected', status: response.status, detail };
  }

  /**
   * A server that answers cache requests with a web page (an SSO sign-in page, a proxy's notice) is no cache at all:
   * the remote as a whole fails (one warning, then local only), not each entry as corrupt.
   */
  private webPage(what: string, title: string): CacheFailure {
    return {
      type: 'unavailable',
      detail: `${what}: an HTML page${title ? ` ("${title}")` : ''} instead of a cache entry: a sign-in page or a proxy in the way?`,
    };
  }

  async getManifest(key: string): Promise<CacheOutcome<Manifest | undefined>> {
    if (!isSafeKey(key)) return fail({ type: 'rejected', status: 0, detail: `unsafe key '${key}'` });
    const path = this.entryPath('ac', key);
    const sent = await this.http.send({ method: 'GET', path });
    if (!sent.ok) return fail(sent.failure);
    const res = sent.response;
    if (res.status === 404) {
      await discard(res);
      return ok(undefined);
    }
    if (res.status !== 200) return fail(await this.clientError(res, `GET ${this.http.describe(path)}`));
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_MANIFEST_BYTES) {
      await discard(res);
      return fail({
        type: 'corrupt',
        what: `ac/${key}`,
        detail: `${length} bytes is too large for a manifest`,
      });
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (e) {
      return fail({
        type: 'unavailable',
        detail: this.http.redact(`GET ${this.http.describe(path)}: ${networkDetail(e)}`),
      });
    }
    const decoded = decodeManifest(bytes, key, `${this.url} ac/${key}`);
    if (!decoded.ok && isHtml(res))
      return fail(
        this.webPage(`GET ${this.http.describe(path)}`, this.http.summarize(bytes.toString('utf8'))),
      );
    return decoded.ok ? ok(decoded.manifest) : fail(decoded.failure);
  }

  async putManifest(manifest: Manifest): Promise<CacheOutcome<void>> {
    const checked = validateManifest(manifest);
    if (!checked.ok)
      return fail({
        type: 'invalid-manifest',
        what: `ac/${String(manifest.key)}`,
        problems: checked.problems,
      });
    const bytes = encodeManifest(manifest);
    return this.upload(
      this.entryPath('ac', manifest.key),
      () => ({ stream: bytes, length: bytes.length }),
      false,
    );
  }

  async hasBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    if (!isSha256(sha256)) return ok(false);
    const path = this.entryPath('cas', sha256);
    const sent = await this.http.send({ method: 'HEAD', path });
    if (!sent.ok) return fail(sent.failure);
    await discard(sent.response);
    if (sent.response.status === 200) return ok(true);
    if (sent.response.status === 404) return ok(false);
    return fail(await this.clientError(sent.response, `HEAD ${this.http.describe(path)}`));
  }

  async fetchBlob(sha256: string, destPath: string): Promise<CacheOutcome<boolean>> {
    if (!isSha256(sha256)) return ok(false);
    const path = this.entryPath('cas', sha256);
    let lastFailure: CacheFailure | undefined;
    // A body cut off half-way is retried like a refused connection (send() retries only the headers).
    for (let attempt = 0; attempt <= this.http.retries; attempt++) {
      const sent = await this.http.send({ method: 'GET', path, large: true });
      if (!sent.ok) return fail(sent.failure);
      const res = sent.response;
      if (res.status === 404) {
        await discard(res);
        return ok(false);
      }
      if (res.status !== 200 || !res.body)
        return fail(await this.clientError(res, `GET ${this.http.describe(path)}`));
      try {
        const written = await writeStreamAtomic(destPath, res.body as AsyncIterable<Uint8Array>, {
          expectedSha256: sha256,
          mode: 0o444,
        });
        if (written.ok) return ok(true);
        if (isHtml(res)) return fail(this.webPage(`GET ${this.http.describe(path)}`, ''));
        return fail({
          type: 'corrupt',
          what: `${this.url} cas/${sha256}`,
          detail: `downloaded bytes hash to ${written.actual.sha256}`,
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && !code.startsWith('UND_')) {
          // This machine's disk (full, read-only), not the remote: the caller keeps the remote in use.
          return fail({ type: 'unavailable', detail: `writing ${destPath}: ${code}`, cause: 'local-disk' });
        }
        const detail = networkDetail(e);
        lastFailure = {
          type: 'unavailable',
          detail: this.http.redact(`GET ${this.http.describe(path)}: body: ${detail}`),
        };
        // A body that stalled (no byte for the timeout) or outlasted the blob timeout is a hung server, not a dropped
        // connection: asking again would hold the build for the same time once more (send() does not retry a timeout
        // either).
        if (detail === 'timed out' || detail.startsWith('stalled')) break;
      }
    }
    return fail(lastFailure as CacheFailure);
  }

  async putBlob(sha256: string, srcPath: string): Promise<CacheOutcome<void>> {
    if (!isSha256(sha256)) return fail({ type: 'rejected', status: 0, detail: `not a sha256: '${sha256}'` });
    let size: number;
    try {
      const actual = await hashFile(srcPath);
      if (actual.sha256 !== sha256)
        return fail({ type: 'corrupt', what: srcPath, detail: `hashes to ${actual.sha256}, not ${sha256}` });
      size = (await stat(srcPath)).size;
    } catch (e) {
      return fail({
        type: 'unavailable',
        detail: `reading ${srcPath}: ${isMissing(e) ? 'missing' : (e as Error).message}`,
        cause: 'local-disk',
      });
    }
    const body = () => ({
      stream: Readable.toWeb(
        createReadStream(srcPath, { highWaterMark: 1 << 20 }),
      ) as ReadableStream<Uint8Array>,
      length: size,
    });
    return this.upload(this.entryPath('cas', sha256), body, true);
  }

  private async upload(
    path: string,
    body: () => { stream: ReadableStream<Uint8Array> | Uint8Array; length: number },
    large: boolean,
  ): Promise<CacheOutcome<void>> {
    const sent = await this.http.send({ method: 'PUT', path, headers: this.uploadHeaders(), body, large });
    if (!sent.ok) return fail(sent.failure);
    const res = sent.response;
    if (res.status >= 200 && res.status < 300) {
      await discard(res);
      return ok(undefined);
    }
    return fail(await this.clientError(res, `PUT ${this.http.describe(path)}`));
  }
}

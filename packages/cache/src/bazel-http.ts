import { type EntryKind, HttpCacheBackend } from './http-backend.js';
import { discard } from './http-transport.js';
import { type RemoteAuthOptions, transportOptions } from './remote-auth.js';
import { type CacheOutcome, fail, ok } from './types.js';

/**
 * A Bazel-style HTTP cache (nginx WebDAV, bazel-remote, ...): `GET/HEAD/PUT <base>/cas/<sha256>` and
 * `<base>/ac/<key>`, with an optional path prefix in the URL. Credentials: a bearer token, or basic auth
 * from the URL's userinfo (moved into a header: fetch refuses URLs with credentials).
 * Note: bazel-remote validates `ac/` entries as ActionResult protobufs unless run with
 * `--disable_http_ac_validation`; our manifests are JSON envelopes.
 */
export class BazelHttpCache extends HttpCacheBackend {
  readonly protocol = 'bazel' as const;

  constructor(options: RemoteAuthOptions) {
    super(transportOptions(options));
  }

  protected entryPath(kind: EntryKind, id: string): string {
    return `${kind}/${id}`;
  }

  /** Reachability: a HEAD of an entry that cannot exist answers 404 (or 401 when reads need auth). */
  async ping(): Promise<CacheOutcome<void>> {
    const path = `cas/${'0'.repeat(64)}`;
    const sent = await this.http.send({ method: 'HEAD', path });
    if (!sent.ok) return fail(sent.failure);
    await discard(sent.response);
    if (sent.response.status === 404 || sent.response.status === 200) return ok(undefined);
    return fail(await this.clientError(sent.response, `HEAD ${this.http.describe(path)}`));
  }

  /** DELETE a blob (WebDAV servers allow it to writers); false if it was not there. */
  async deleteBlob(sha256: string): Promise<CacheOutcome<boolean>> {
    const path = this.entryPath('cas', sha256);
    const sent = await this.http.send({ method: 'DELETE', path });
    if (!sent.ok) return fail(sent.failure);
    await discard(sent.response);
    if (sent.response.status >= 200 && sent.response.status < 300) return ok(true);
    if (sent.response.status === 404) return ok(false);
    return fail(await this.clientError(sent.response, `DELETE ${this.http.describe(path)}`));
  }
}

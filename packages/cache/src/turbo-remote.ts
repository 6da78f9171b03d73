import { type EntryKind, HttpCacheBackend } from './http-backend.js';
import { type RemoteAuthOptions, transportOptions } from './remote-auth.js';
import { type CacheFailure, type CacheOutcome, fail, ok } from './types.js';

export interface TurboRemoteCacheOptions extends RemoteAuthOptions {
  /** The team (namespace) of the artifacts; sent as `?teamId=`. */
  team: string;
}

/**
 * A Turborepo remote cache (`/v8/artifacts/:hash?teamId=`, bearer token, octet-stream bodies), e.g.
 * turborepo-remote-cache. Manifests and blobs are both artifacts: `ac-<key>` and `<sha256>`.
 * The server answers 400 (not 401) when the Authorization header is missing; that is an auth failure here.
 */
export class TurboRemoteCache extends HttpCacheBackend {
  readonly protocol = 'turbo' as const;
  private readonly team: string;

  constructor(options: TurboRemoteCacheOptions) {
    super(transportOptions(options));
    this.team = options.team;
  }

  protected entryPath(kind: EntryKind, id: string): string {
    const artifact = kind === 'ac' ? `ac-${id}` : id;
    return `v8/artifacts/${artifact}?teamId=${encodeURIComponent(this.team)}`;
  }

  protected override async clientError(response: Response, what: string): Promise<CacheFailure> {
    const failure = await super.clientError(response, what);
    if (failure.type === 'rejected' && failure.status === 400 && /authorization/i.test(failure.detail)) {
      return { type: 'unauthorized', detail: failure.detail };
    }
    return failure;
  }

  /** `GET /v8/artifacts/status` (unauthenticated on turborepo-remote-cache). */
  async ping(): Promise<CacheOutcome<void>> {
    const path = 'v8/artifacts/status';
    const sent = await this.http.send({ method: 'GET', path });
    if (!sent.ok) return fail(sent.failure);
    if (sent.response.status !== 200)
      return fail(await this.clientError(sent.response, `GET ${this.http.describe(path)}`));
    const body = await this.http.excerpt(sent.response);
    if (!/"status"\s*:\s*"enabled"/.test(body)) {
      return fail({
        type: 'unavailable',
        detail: `${this.http.describe(path)}: remote caching is not enabled (${body})`,
      });
    }
    return ok(undefined);
  }
}

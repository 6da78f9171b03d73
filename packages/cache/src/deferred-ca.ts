/**
 * The certificates node was started without. Node 20 reads NODE_EXTRA_CA_CERTS at every start and builds OpenSSL 3's
 * whole root store with it (~35 ms, more than a no-op build), so the `pipe` command (packages/cli bin/pipe) starts
 * node without it and records the file: under a global symbol on the main thread (bin/pipe.js), in workerData on
 * the step threads (core's execute/early-thread.ts and worker-pool.ts). `fetch` is then wrapped, in each thread that
 * knows the file: a request to an https URL without a dispatcher of its own goes through an agent that trusts node's
 * bundled roots plus that file (what node would have trusted), built at the first such request. The remote cache
 * and in-process steps that use `fetch` are covered; a step speaking TLS through `https` or `tls` directly is not (no
 * Node 20 API adds to the process's root store): the launcher's PIPE_DEFER_EXTRA_CA_CERTS=0 keeps node's own loading.
 */
import { readFileSync } from 'node:fs';

/** Set by bin/pipe.js on the main thread: the NODE_EXTRA_CA_CERTS file node did not load. */
const DEFERRED = Symbol.for('pipe.deferredExtraCaCerts');
/** Set once fetch is wrapped in this thread. */
const WRAPPED = Symbol.for('pipe.deferredExtraCaFetch');
/** Where fetch (undici, bundled with node) keeps its dispatcher: undici's own interop point between its copies. */
const FETCH_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

type Slots = Record<symbol, unknown>;

/** The NODE_EXTRA_CA_CERTS file this process started without, as bin/pipe.js recorded it on the main thread. */
export function deferredExtraCaFile(): string | undefined {
  const file = (globalThis as Slots)[DEFERRED];
  return typeof file === 'string' && file !== '' ? file : undefined;
}

/**
 * Make this thread's fetch trust `file` for https requests (see the module's comment); nothing without a file or
 * when done already. Cheap: the certificates are read at the first https request.
 */
export function trustDeferredExtraCa(file: string | undefined = deferredExtraCaFile()): void {
  const slots = globalThis as Slots;
  if (!file || slots[WRAPPED]) return;
  slots[WRAPPED] = true;
  const original = globalThis.fetch;
  let agent: Promise<unknown> | undefined;
  const wrapped = (input: Parameters<typeof fetch>[0], init?: RequestInit & { dispatcher?: unknown }) => {
    if (init?.dispatcher !== undefined || !isHttps(input)) return original(input, init);
    agent ??= trustingAgent(file, original).catch((e: unknown) => {
      process.emitWarning(
        `pipe: could not trust the certificates of NODE_EXTRA_CA_CERTS (${file}): ${String(e)}`,
      );
      return undefined;
    });
    // `dispatcher` is undici's own option of fetch, missing from the DOM's RequestInit type.
    return agent.then((dispatcher) =>
      original(input, (dispatcher ? { ...init, dispatcher } : init) as RequestInit),
    );
  };
  globalThis.fetch = wrapped as typeof fetch;
}

function isHttps(input: Parameters<typeof fetch>[0]): boolean {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return /^https:/i.test(url);
}

/** An agent of fetch's own class whose connections trust node's bundled roots plus `file`; undefined if unreadable. */
async function trustingAgent(file: string, original: typeof fetch): Promise<unknown> {
  let extra: string;
  try {
    extra = readFileSync(file, 'utf8');
  } catch (e) {
    // What node says at start about a file it cannot read; it goes on with its bundled roots, and so do we.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return undefined;
  }
  // fetch creates its dispatcher with its first request; a data: URL makes one without touching the network.
  await original('data:,');
  const current = (globalThis as Slots)[FETCH_DISPATCHER] as
    | { constructor: new (options: object) => unknown }
    | undefined;
  if (!current) throw new Error("fetch's dispatcher was not found");
  // node:tls is imported here, not at the top: a static import reads its root certificates with the CLI's bundle.
  const { createSecureContext, rootCertificates } = await import('node:tls');
  // One context for every connection (a `ca` list would be parsed again per connection).
  const secureContext = createSecureContext({ ca: [...rootCertificates, extra] });
  return new current.constructor({ connect: { secureContext } });
}

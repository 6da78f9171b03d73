/**
 * The certificates node was started without. Node 20 reads NODE_EXTRA_CA_CERTS at every start and builds OpenSSL 3's
 * whole root store with it (~35 ms, more than a no-op build), so the `pipe` command (packages/cli bin/pipe) starts
 * node without it and records the file under a global symbol. The first request to an https remote then installs
 * fetch's dispatcher with node's bundled roots plus that file: the trust node itself would have had, paid for only by
 * a process that speaks TLS.
 */
import { readFileSync } from 'node:fs';

/** Set by bin/pipe.js: the NODE_EXTRA_CA_CERTS file node did not load. */
const DEFERRED = Symbol.for('pipe.deferredExtraCaCerts');
/** Where fetch (undici, bundled with node) keeps its dispatcher: undici's own interop point between its copies. */
const FETCH_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

let installing: Promise<void> | undefined;

/** Resolves once fetch trusts the deferred certificates (at once when there are none). Never rejects. */
export function trustDeferredExtraCa(): Promise<void> {
  const file = (globalThis as Record<symbol, unknown>)[DEFERRED];
  if (typeof file !== 'string' || file === '') return Promise.resolve();
  installing ??= install(file).catch((e: unknown) => {
    process.emitWarning(
      `pipe: could not trust the certificates of NODE_EXTRA_CA_CERTS (${file}): ${String(e)}`,
    );
  });
  return installing;
}

async function install(file: string): Promise<void> {
  let extra: string;
  try {
    extra = readFileSync(file, 'utf8');
  } catch (e) {
    // What node says at start about a file it cannot read; it goes on with its bundled roots, and so do we.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return;
  }
  // fetch creates its dispatcher with its first request; a data: URL makes one without touching the network.
  await fetch('data:,');
  const slot = globalThis as Record<symbol, unknown>;
  const current = slot[FETCH_DISPATCHER] as { constructor: new (options: object) => unknown } | undefined;
  if (!current) throw new Error("fetch's dispatcher was not found");
  // node:tls is imported here, not at the top: a static import reads its root certificates with the CLI's bundle.
  const { createSecureContext, rootCertificates } = await import('node:tls');
  // One context for every connection (a `ca` list would be parsed again per connection).
  const secureContext = createSecureContext({ ca: [...rootCertificates, extra] });
  slot[FETCH_DISPATCHER] = new current.constructor({ connect: { secureContext } });
}

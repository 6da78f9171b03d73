/**
 * A digest of an environment variable's value, so that what is cached or snapshotted compares values without
 * storing them (a value may be a token: PIPE_REMOTE_CACHE_TOKEN, a target's `env:`). Two 53-bit string hashes
 * (cyrb53): a change detector, not a cipher. Dependency-free: the CLI's fast path imports it without the engine
 * (and without node:crypto, which would cost it more than it checks).
 */
export function valueDigest(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const h = (seed: number) => {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
  };
  return h(1) + h(2);
}

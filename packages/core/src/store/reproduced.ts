/**
 * A task run again under a key the cache already holds (`pipe build --force`) is a reproduction of that entry: the
 * same step, code, parameters and input bytes. Other output bytes mean the step is not deterministic, or reads
 * something its key does not hold (an input or a variable it does not declare) — results the cache would serve to
 * every workspace sharing it as if they were the same. Said, not refused: the cache keeps this run's bytes.
 */
import type { Manifest, ManifestOutput } from '@pipe/cache';

/** How many differing outputs the warning names before it counts the rest. */
const NAMED = 3;

/**
 * The warning for task `id` whose run wrote `outputs` under the key of `earlier` (the entry the cache held before
 * it), or undefined when every output has the bytes the entry holds. `zlib`: the version of Node's zlib this run
 * had, named when the entry's provenance records another (a step of pipe's writes .gz products through it).
 */
export function notReproducedText(
  id: string,
  earlier: Pick<Manifest, 'outputs' | 'provenance'>,
  outputs: readonly ManifestOutput[],
  zlib: string = process.versions.zlib ?? '',
): string | undefined {
  const before = new Map(earlier.outputs.map((o) => [o.name, o.sha256]));
  const differ = outputs.filter((o) => before.has(o.name) && before.get(o.name) !== o.sha256);
  if (differ.length === 0) return undefined;
  const named = differ
    .slice(0, NAMED)
    .map((o) => `${o.path} sha256 ${before.get(o.name)!.slice(0, 12)} → ${o.sha256.slice(0, 12)}`)
    .join(', ');
  const more = differ.length > NAMED ? ` and ${differ.length - NAMED} more` : '';
  const build = earlier.provenance['buildId'];
  const made = typeof build === 'string' ? ` made in build ${build}` : '';
  return `${id}: not reproduced: run again under the same key, it wrote other bytes than the cache entry${made}: ${named}${more}. ${otherZlib(earlier.provenance, zlib) ?? ''}Its step is not deterministic, or reads something its key does not hold (an input or a variable it does not declare); the cache now holds this run's bytes`;
}

/**
 * A sentence naming the zlib the entry was made with when it is not `zlib`: another zlib may compress the same data
 * into other bytes, so a gzip-compressed product that differs may be that alone. Undefined when the entry's
 * provenance records no zlib (made before pipe kept it) or the same, or its step is a command (whose programs bring
 * their own zlib, if any).
 */
function otherZlib(provenance: Manifest['provenance'], zlib: string): string | undefined {
  const versions = provenance['versions'] as { zlib?: unknown } | undefined;
  const then = typeof versions === 'object' && versions !== null ? versions.zlib : undefined;
  const step = (provenance['step'] as { name?: unknown } | undefined)?.name;
  if (typeof then !== 'string' || then === zlib || zlib === '' || step === 'command') return undefined;
  return `The cache entry was made with zlib ${then} and this run with zlib ${zlib}: gzip-compressed products (.gz) may differ in their bytes between zlib versions alone, their data the same. `;
}

// The native backend: the reference kernel set with every kernel the Rust addon exports replaced by
// it. Most addon functions have the reference's signature and are used as they are; binning needs a
// small wrapper (events the fast path cannot decide are handed back to the reference).
import type { Kernels } from '../reference/index.js';
import { compiledKernelNames } from '../registry.js';
import { loadNativeAddon, type NativeAddon } from './addon.js';
import { binEventsNative } from './bin-events.js';

type AnyKernel = (...args: never[]) => unknown;

const WRAPPERS: Record<string, (addon: NativeAddon, reference: Kernels) => AnyKernel | undefined> = {
  binEvents: (addon, reference) => binEventsNative(addon, reference) as AnyKernel | undefined,
};

/** The kernel set with native kernels where the addon has them; the caller checked availability. */
export function loadNativeKernels(reference: Kernels): Kernels {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(load.reason);
  const kernels: Record<string, unknown> = { ...reference };
  for (const name of compiledKernelNames()) {
    if (!(name in reference)) continue;
    const wrap = WRAPPERS[name];
    const fn = wrap ? wrap(load.addon, reference) : load.addon[name];
    if (typeof fn === 'function') kernels[name] = fn;
  }
  return kernels as unknown as Kernels;
}

// Finds and loads the napi-rs addon built for this platform (build/native/pipe-kernels.<platform>-<arch>[-abi].node).
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nativeAddonDir } from '../paths.js';

/** The functions the Rust addon exports (same signatures as the reference kernels, plus helpers). */
export type NativeAddon = Record<string, (...args: never[]) => unknown>;

/** The addon, or why there is none. */
export type NativeLoad =
  | { ok: true; addon: NativeAddon; path: string }
  /** `broken`: the addon file that is there but does not load (a build for another Node ABI, a truncated file). */
  | { ok: false; reason: string; broken?: string };

/** The one-line hint for a machine where the addon is not built (or does not load). */
export const NATIVE_BUILD_HINT =
  'build the native kernels with `npm run build:native -w @pipe/kernels` (needs Rust: cargo from rustup.rs)';

let cached: NativeLoad | undefined;

/** The addon file built for this platform, or undefined when there is none. */
export function nativeAddonFile(): string | undefined {
  const dir = nativeAddonDir();
  const prefix = `pipe-kernels.${process.platform}-${process.arch}`;
  const file = existsSync(dir)
    ? readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.node'))
    : undefined;
  return file ? join(dir, file) : undefined;
}

/** Loads the addon once per process (a .node file cannot be unloaded anyway). */
export function loadNativeAddon(): NativeLoad {
  if (cached) return cached;
  const dir = nativeAddonDir();
  const path = nativeAddonFile();
  if (!path) {
    cached = {
      ok: false,
      reason: `no native addon for ${process.platform}-${process.arch} in ${dir}`,
    };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { ok: true, addon: require(path) as NativeAddon, path };
  } catch (error) {
    cached = {
      ok: false,
      // Node's message starts with the path again: said once.
      reason: `native addon ${path} failed to load: ${(error as Error).message.replace(`${path}: `, '')}`,
      broken: path,
    };
  }
  return cached;
}

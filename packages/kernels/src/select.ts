// Backend choice: native when the addon is built for this platform, else WASM, else the TypeScript
// reference. An explicit request wins, then PIPE_KERNELS, then that order. A backend that was asked
// for and cannot run is an error value naming the reason (and, for native, how to build it).
import { loadNativeAddon, NATIVE_BUILD_HINT } from './native/addon.js';
import { wasmMissing } from './wasm/compile.js';

export type BackendName = 'native' | 'wasm' | 'js';

export const BACKENDS: readonly BackendName[] = ['native', 'wasm', 'js'];

/** A requested backend that cannot be used here. */
export interface BackendUnavailable {
  kind: 'backend-unavailable';
  requested: string;
  reason: string;
  /** One line on what to do about it (e.g. how to build the native addon). */
  hint?: string;
}

/** Availability of one backend on this machine. */
export interface BackendStatus {
  backend: BackendName;
  available: boolean;
  reason?: string;
}

/** Which backends can run here, and why not for the others. */
export function probeBackends(): BackendStatus[] {
  const native = loadNativeAddon();
  const missing = wasmMissing();
  return [
    native.ok
      ? { backend: 'native', available: true }
      : { backend: 'native', available: false, reason: native.reason },
    missing.length === 0
      ? { backend: 'wasm', available: true }
      : {
          backend: 'wasm',
          available: false,
          reason: `WASM modules not built (${missing.join(', ')}): run \`npm run build -w @pipe/kernels\``,
        },
    { backend: 'js', available: true },
  ];
}

/**
 * The backend to use: `requested` if given, else the PIPE_KERNELS environment variable, else the
 * fastest available. Resolves to a BackendUnavailable value when an explicit choice cannot run or
 * names no backend.
 */
export async function selectBackend(requested?: string): Promise<BackendName | BackendUnavailable> {
  const wanted = wantedBackend(requested);
  const statuses = probeBackends();
  if (wanted === undefined) {
    return (statuses.find((s) => s.available) as BackendStatus).backend;
  }
  const status = statuses.find((s) => s.backend === wanted);
  const source = requested !== undefined ? 'requested' : 'PIPE_KERNELS';
  if (!status) {
    return {
      kind: 'backend-unavailable',
      requested: wanted,
      reason: `unknown kernel backend "${wanted}" (${source}); expected one of ${BACKENDS.join(', ')} or auto`,
    };
  }
  if (!status.available) {
    return {
      kind: 'backend-unavailable',
      requested: wanted,
      reason: `kernel backend "${wanted}" (${source}) is not available: ${status.reason ?? 'unknown reason'}`,
      ...(wanted === 'native' ? { hint: NATIVE_BUILD_HINT } : {}),
    };
  }
  return status.backend;
}

/** The backend asked for (the request, else PIPE_KERNELS); undefined for the automatic choice. */
function wantedBackend(requested: string | undefined): string | undefined {
  const wanted = requested ?? (process.env.PIPE_KERNELS || undefined);
  return wanted === 'auto' ? undefined : wanted;
}

/**
 * What to tell the user when `chosen` was picked automatically (nothing asked for, see selectBackend) while this
 * platform's native addon is there but does not load (built for another Node, truncated): else the build would run
 * slower without a word. A backend asked for is what the user said: no note.
 */
export function autoFallbackNote(chosen: string, requested?: string): string | undefined {
  if (wantedBackend(requested) !== undefined) return undefined;
  const native = loadNativeAddon();
  if (chosen === 'native' || native.ok || native.broken === undefined) return undefined;
  return `the kernels run as ${chosen}: ${native.reason}; ${NATIVE_BUILD_HINT}, or remove it`;
}

/** True for the error value of selectBackend. */
export function isBackendUnavailable(v: unknown): v is BackendUnavailable {
  return typeof v === 'object' && v !== null && (v as BackendUnavailable).kind === 'backend-unavailable';
}

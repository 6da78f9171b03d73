/**
 * Step identities: what of a target's step enters its tasks' keys — name, version, code hash and
 * the identity of every kernel it uses under the chosen backend. Computed once per target per build.
 * Command steps have a fixed identity; their argv enters the record instead.
 */
import type { StepDefinition } from '../model/step.js';
import type { Pipeline } from '../model/types.js';
import { codeHash, type IdentitiesSeen } from './code-hash.js';
import { chooseKernels, type KernelFiles } from './kernel-memo.js';
import type { KernelId, StepIdentity } from './record.js';

/** The kernels package as the engine sees it (a seam: `@pipe/kernels` implements it). */
export interface KernelSeam {
  /** The backend to use ('native' | 'wasm' | 'js'), or an error message when the requested one cannot run. */
  selectBackend(requested?: string): Promise<string | { error: string }>;
  kernelIdentity(name: string, backend: string): KernelId;
  /**
   * The files (and folders) whose change can change selectBackend's choice or the identities of `names`: what a
   * memo of them (kernel-memo.ts) is stamped with. A seam without it is not memoised.
   */
  identityFiles?(names: readonly string[]): { files: string[]; dirs: string[] };
  /** Why the code `backend` runs for `names` is older than their sources (see @pipe/kernels), or undefined. */
  staleBuild?(names: readonly string[], backend: string): string | undefined;
  /**
   * A note for the user on `backend` chosen for `requested` when that was the automatic choice (the native addon there
   * but broken), or undefined.
   */
  fallbackNote?(backend: string, requested?: string): string | undefined;
}

/** The real seam: `@pipe/kernels/seam` (not the kernels themselves), imported only when a step uses kernels. */
export async function loadKernelSeam(): Promise<KernelSeam> {
  const mod = (await import('@pipe/kernels/seam')) as unknown as {
    selectBackend(requested?: string): Promise<string | { kind: string; reason: string; hint?: string }>;
    kernelIdentity(name: string, backend: string): KernelId;
    identityFiles(names: readonly string[]): { files: string[]; dirs: string[] };
    staleKernelBuild(names: readonly string[], backend: string): string | undefined;
    autoFallbackNote(backend: string, requested?: string): string | undefined;
  };
  return {
    async selectBackend(requested) {
      const chosen = await mod.selectBackend(requested);
      return typeof chosen === 'string'
        ? chosen
        : { error: chosen.hint ? `${chosen.reason}\n${chosen.hint}` : chosen.reason };
    },
    kernelIdentity: (name, backend) => mod.kernelIdentity(name, backend),
    identityFiles: (names) => mod.identityFiles(names),
    staleBuild: (names, backend) => mod.staleKernelBuild(names, backend),
    fallbackNote: (backend, requested) => mod.autoFallbackNote(backend, requested),
  };
}

export const COMMAND_IDENTITY: StepIdentity = { name: 'command', version: '1', code: '', kernels: [] };

/**
 * What of a step definition its identity needs besides the code hash and the kernels' own identities: the
 * pipeline cache keeps it by module (builds/pipeline-cache.ts; the module and its source closure are stamped
 * there), so that a build of a cached pipeline need not import its steps on the main thread to key their tasks.
 */
export interface StepFacts {
  name: string;
  version: string;
  /** The kernels the step uses, by name (their identity depends on the backend chosen at run time). */
  kernels: string[];
}

/** The facts of each step module of `byTarget` (identities resolved by resolveStepIdentities). */
export function stepFactsOf(
  pipeline: Pipeline,
  byTarget: ReadonlyMap<string, StepIdentity>,
): Array<[string, StepFacts]> {
  const facts = new Map<string, StepFacts>();
  for (const [name, identity] of byTarget) {
    const module = pipeline.targets.get(name)?.stepModule;
    if (module === undefined || facts.has(module)) continue;
    facts.set(module, {
      name: identity.name,
      version: identity.version,
      kernels: identity.kernels.map((k) => k.name),
    });
  }
  return [...facts];
}

export interface StepIdentityOptions {
  /** Import a step module (the registry's `load`, which caches). */
  loadStep(modulePath: string): Promise<StepDefinition>;
  /** Facts known of step modules (from the pipeline cache): those are not imported. */
  known?: ReadonlyMap<string, StepFacts>;
  /** Created on first use. */
  kernels: () => Promise<KernelSeam>;
  /** Requested kernel backend (--kernels); resolved once, only if some step uses kernels. */
  requestedBackend?: string;
  /** Where the backend and kernel identities are memoised by file stamps (kernel-memo.ts); none: not memoised. */
  kernelMemo?: string;
}

export interface StepIdentities {
  byTarget: Map<string, StepIdentity>;
  /** The kernel backend in use ('none' when no step uses kernels). */
  backend: string;
  /** What the backend choice and the kernels' identities were read from, when the seam says (kernel-memo.ts). */
  kernelFiles?: KernelFiles;
  /** Worth telling the user about the backend choice (see KernelSeam.fallbackNote). */
  kernelNote?: string;
}

export type StepIdentityResult = { ok: true; value: StepIdentities } | { ok: false; error: string };

/** Identities of the steps of `targets`. */
export async function resolveStepIdentities(
  pipeline: Pipeline,
  targets: Iterable<string>,
  options: StepIdentityOptions,
): Promise<StepIdentityResult> {
  // The step of each target (its facts, else the module imported), then the kernels they use, chosen at once.
  const defs = new Map<string, Pick<StepDefinition, 'name' | 'version' | 'kernels'>>();
  const byTargetModule: Array<[string, string | undefined]> = [];
  for (const name of targets) {
    const target = pipeline.targets.get(name);
    if (!target) continue;
    byTargetModule.push([name, target.stepModule]);
    if (!target.stepModule || defs.has(target.stepModule)) continue;
    const known = options.known?.get(target.stepModule);
    if (known) defs.set(target.stepModule, known);
    else {
      try {
        defs.set(target.stepModule, await options.loadStep(target.stepModule));
      } catch (error) {
        return { ok: false, error: `target '${name}': ${(error as Error).message}` };
      }
    }
  }
  const kernelNames = [...new Set([...defs.values()].flatMap((d) => d.kernels ?? []))];
  let backend: string | undefined;
  let kernelIds = new Map<string, KernelId>();
  let kernelFiles: KernelFiles | undefined;
  let kernelNote: string | undefined;
  if (kernelNames.length > 0) {
    const chosen = await chooseKernels(
      kernelNames,
      options.requestedBackend,
      options.kernels,
      options.kernelMemo,
    );
    if (!chosen.ok) return { ok: false, error: chosen.error };
    backend = chosen.backend;
    kernelIds = chosen.ids;
    kernelFiles = chosen.files;
    kernelNote = chosen.note;
  }
  const byTarget = new Map<string, StepIdentity>();
  const byModule = new Map<string, StepIdentity>();
  // The modules' remembered hashes are checked together: a file they share is statted once.
  const seen: IdentitiesSeen = new Map();
  for (const [name, module] of byTargetModule) {
    if (!module) {
      byTarget.set(name, COMMAND_IDENTITY);
      continue;
    }
    let identity = byModule.get(module);
    if (!identity) {
      const def = defs.get(module)!;
      const kernels = [...(def.kernels ?? [])].sort().map((k) => kernelIds.get(k)!);
      const code = codeHash(module, seen);
      if (code.stale) return { ok: false, error: `target '${name}': step ${module} is stale: ${code.stale}` };
      identity = { name: def.name, version: def.version, code: code.hash, kernels };
      byModule.set(module, identity);
    }
    byTarget.set(name, identity);
  }
  return {
    ok: true,
    value: {
      byTarget,
      backend: backend ?? 'none',
      ...(kernelFiles ? { kernelFiles } : {}),
      ...(kernelNote ? { kernelNote } : {}),
    },
  };
}

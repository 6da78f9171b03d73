/**
 * Step identities: what of a target's step enters its tasks' keys — name, version, code hash and
 * the identity of every kernel it uses under the chosen backend. Computed once per target per build.
 * Command steps have a fixed identity; their argv enters the record instead.
 */
import type { StepDefinition } from '../model/step.js';
import type { Pipeline } from '../model/types.js';
import { codeHash } from './code-hash.js';
import type { KernelId, StepIdentity } from './record.js';

/** The kernels package as the engine sees it (a seam: `@pipe/kernels` implements it). */
export interface KernelSeam {
  /** The backend to use ('native' | 'wasm' | 'js'), or an error message when the requested one cannot run. */
  selectBackend(requested?: string): Promise<string | { error: string }>;
  kernelIdentity(name: string, backend: string): KernelId;
}

/** The real seam: `@pipe/kernels/seam` (not the kernels themselves), imported only when a step uses kernels. */
export async function loadKernelSeam(): Promise<KernelSeam> {
  const mod = (await import('@pipe/kernels/seam')) as unknown as {
    selectBackend(requested?: string): Promise<string | { kind: string; reason: string; hint?: string }>;
    kernelIdentity(name: string, backend: string): KernelId;
  };
  return {
    async selectBackend(requested) {
      const chosen = await mod.selectBackend(requested);
      return typeof chosen === 'string'
        ? chosen
        : { error: chosen.hint ? `${chosen.reason}\n${chosen.hint}` : chosen.reason };
    },
    kernelIdentity: (name, backend) => mod.kernelIdentity(name, backend),
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
}

export interface StepIdentities {
  byTarget: Map<string, StepIdentity>;
  /** The kernel backend in use ('none' when no step uses kernels). */
  backend: string;
}

export type StepIdentityResult = { ok: true; value: StepIdentities } | { ok: false; error: string };

/** Identities of the steps of `targets`. */
export async function resolveStepIdentities(
  pipeline: Pipeline,
  targets: Iterable<string>,
  options: StepIdentityOptions,
): Promise<StepIdentityResult> {
  const byTarget = new Map<string, StepIdentity>();
  const byModule = new Map<string, StepIdentity>();
  let backend: string | undefined;
  let seam: KernelSeam | undefined;
  for (const name of targets) {
    const target = pipeline.targets.get(name);
    if (!target) continue;
    if (!target.stepModule) {
      byTarget.set(name, COMMAND_IDENTITY);
      continue;
    }
    let identity = byModule.get(target.stepModule);
    if (!identity) {
      let def: Pick<StepDefinition, 'name' | 'version' | 'kernels'>;
      const known = options.known?.get(target.stepModule);
      if (known) def = known;
      else {
        try {
          def = await options.loadStep(target.stepModule);
        } catch (error) {
          return { ok: false, error: `target '${name}': ${(error as Error).message}` };
        }
      }
      const kernels: KernelId[] = [];
      if (def.kernels && def.kernels.length > 0) {
        seam ??= await options.kernels();
        if (backend === undefined) {
          const chosen = await seam.selectBackend(options.requestedBackend);
          if (typeof chosen !== 'string') return { ok: false, error: chosen.error };
          backend = chosen;
        }
        for (const k of [...def.kernels].sort()) kernels.push(seam.kernelIdentity(k, backend));
      }
      identity = { name: def.name, version: def.version, code: codeHash(target.stepModule).hash, kernels };
      byModule.set(target.stepModule, identity);
    }
    byTarget.set(name, identity);
  }
  return { ok: true, value: { byTarget, backend: backend ?? 'none' } };
}

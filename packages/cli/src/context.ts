/** What every command needs: the pipeline file, the step registry, the loaded pipeline. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Pipeline, StepRegistry } from '@pipe/core';
import { EXIT_USAGE } from './exit-codes.js';

export interface GlobalOptions {
  file?: string;
  cwd?: string;
  config?: string;
  param?: string[];
  cacheDir?: string;
  json?: boolean;
}

export const PIPELINE_FILE = 'pipe.yaml';

/** `-f FILE`, else pipe.yaml in the working directory or its parents. */
export function findPipelineFile(cwd: string, file?: string): string | undefined {
  if (file) return path.resolve(cwd, file);
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, PIPELINE_FILE);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function workingDir(opts: GlobalOptions): string {
  return path.resolve(opts.cwd ?? process.cwd());
}

/** `--param k=v` list → record; malformed entries are returned as errors. */
export function parseParams(list: string[] | undefined): { ok: true; params: Record<string, string> } | { ok: false; error: string } {
  const params: Record<string, string> = {};
  for (const entry of list ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) return { ok: false, error: `--param expects key=value, got '${entry}'` };
    params[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ok: true, params };
}

/** The domain package registers its steps, if it is installed and exports registerSteps. */
async function registerDomainSteps(registry: StepRegistry): Promise<void> {
  try {
    const astro = (await import('@pipe/astro')) as { registerSteps?: (r: StepRegistry) => void };
    astro.registerSteps?.(registry);
  } catch {
    // @pipe/astro not built or not installed: only module-path and command steps are available.
  }
}

export type Loaded =
  | { ok: true; pipeline: Pipeline; registry: StepRegistry; warnings: string }
  | { ok: false; code: number; message: string };

/**
 * Load the pipeline. Domain steps (@pipe/astro) are imported only when the pipeline names a step
 * that is not registered, so command-only pipelines start fast.
 */
export async function loadForCommand(opts: GlobalOptions): Promise<Loaded> {
  const cwd = workingDir(opts);
  const file = findPipelineFile(cwd, opts.file);
  if (!file) return { ok: false, code: EXIT_USAGE, message: `pipe: no ${PIPELINE_FILE} in ${cwd} or its parents (use -f FILE)` };
  if (!existsSync(file)) return { ok: false, code: EXIT_USAGE, message: `pipe: ${file} does not exist` };
  const params = parseParams(opts.param);
  if (!params.ok) return { ok: false, code: EXIT_USAGE, message: `pipe: ${params.error}` };
  const core = await import('@pipe/core');
  const registry = core.createStepRegistry();
  const load = () =>
    core.loadPipeline(file, {
      registry,
      cwd,
      ...(opts.config ? { configFile: opts.config } : {}),
      paramOverrides: params.params,
    });
  let result = await load();
  if (!result.ok && result.diagnostics.some((d) => d.code === 'unknown-step')) {
    await registerDomainSteps(registry);
    result = await load();
  }
  if (!result.ok) return { ok: false, code: EXIT_USAGE, message: core.renderDiagnostics(result.diagnostics) };
  const warnings = result.warnings.length > 0 ? core.renderDiagnostics(result.warnings) : '';
  return { ok: true, pipeline: result.pipeline, registry, warnings };
}

/** --cache-dir, else PIPE_CACHE_DIR, else the workspace default. */
export function cacheDirOption(opts: GlobalOptions): string | undefined {
  return opts.cacheDir ?? (process.env.PIPE_CACHE_DIR || undefined);
}

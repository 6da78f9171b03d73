/**
 * The step registry: maps step names (e.g. 'astro.reduce_observation') to the modules that
 * default-export their StepDefinition, and config schema names to modules that validate whole
 * parameter files. Modules are imported lazily, once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { importErrorMessage } from '../execute/step-error.js';
import { relativeImports, resolveRelative } from '../fingerprint/relative-imports.js';
import type { ParamIssue, StepDefinition } from '../model/step.js';
import { moduleDefault, runnableModule } from './bundled.js';

/** The name of the built-in step that runs `command:` argv; the engine runs it, no module exists. */
export const COMMAND_STEP = 'command';

/** Validates a whole parameter file (e.g. a gammapy analysis config); issues carry paths into it. */
export interface ConfigSchema {
  name: string;
  validate(config: unknown): ParamIssue[];
  /**
   * Problems of the file's text that its values do not show (where the program the config is written for reads the
   * text otherwise than YAML 1.2 does): each at a character offset of the text.
   */
  checkText?(text: string, tokens: YamlTokens): TextIssue[] | Promise<TextIssue[]>;
  /** How the program the config is written for reads YAML where YAML 1.2 leaves it open: a key set twice. */
  read?: { duplicateKeys?: 'error' | 'last' };
}

/**
 * The text's YAML tokens (the yaml package's CST), as pipe's parser made them when it read the file (SourceFile.tokens):
 * a schema that imported `yaml` to lex the text again would load the package a second time (~40 ms at each start).
 */
export type YamlTokens = () => Iterable<unknown>;

/** A problem at characters [offset, offset + length) of a config file's text. */
export interface TextIssue {
  offset: number;
  length: number;
  message: string;
  hint?: string;
  severity?: 'warning';
}

/** Raised when a step or schema module cannot be imported or does not export what it should. */
export class StepLoadError extends Error {
  constructor(
    readonly nameOrPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepLoadError';
  }
}

export interface StepRegistry {
  /** Register a step: `modulePath` is the absolute path of a module whose default export is a StepDefinition. */
  register(name: string, modulePath: string): void;
  /**
   * The module path for a step name or a module path (`./steps/x.js`, `../x.js` or absolute; relative
   * to `baseDir`). Undefined for an unknown name and for the built-in `command` step.
   */
  resolve(nameOrPath: string, baseDir: string): string | undefined;
  /** Import a step by registered name or absolute module path (cached). Throws StepLoadError. */
  load(nameOrPath: string): Promise<StepDefinition>;
  /** Registered step names, sorted. */
  names(): string[];
  /** Register a config schema: the module default-exports `{name, validate(config)}`. */
  registerConfigSchema(name: string, modulePath: string): void;
  /** Import a config schema by name (cached). Throws StepLoadError. */
  loadConfigSchema(name: string): Promise<ConfigSchema>;
  /** Registered config schema names, sorted. */
  configSchemaNames(): string[];
}

/** True when a `step:` value is a module path rather than a registered name. */
export function isModulePath(step: string): boolean {
  return step.startsWith('./') || step.startsWith('../') || path.isAbsolute(step);
}

/** Create an empty registry; domain packages register their steps into it. */
export function createStepRegistry(): StepRegistry {
  const steps = new Map<string, string>();
  const schemas = new Map<string, string>();
  const loadedSteps = new Map<string, { stamp: string; loaded: Promise<StepDefinition> }>();
  const loadedSchemas = new Map<string, Promise<ConfigSchema>>();

  function checkedPath(kind: string, name: string, modulePath: string): string {
    if (!path.isAbsolute(modulePath)) {
      throw new Error(`${kind} '${name}': module path must be absolute, got '${modulePath}'`);
    }
    return modulePath;
  }

  function stepModule(nameOrPath: string): string {
    const registered = steps.get(nameOrPath);
    if (registered) return registered;
    if (path.isAbsolute(nameOrPath)) return nameOrPath;
    throw new StepLoadError(nameOrPath, `unknown step '${nameOrPath}'`);
  }

  return {
    register(name, modulePath) {
      steps.set(name, checkedPath('step', name, modulePath));
    },
    resolve(nameOrPath, baseDir) {
      if (nameOrPath === COMMAND_STEP) return undefined;
      if (isModulePath(nameOrPath)) return path.resolve(baseDir, nameOrPath);
      return steps.get(nameOrPath);
    },
    load(nameOrPath) {
      let modulePath: string;
      try {
        modulePath = stepModule(nameOrPath);
      } catch (error) {
        return Promise.reject(error);
      }
      // A module edited since this registry imported it (a watch session), or a module it imports by a relative path,
      // is imported again (importDefault).
      const stamp = moduleStamp(runnableModule(modulePath));
      const known = loadedSteps.get(modulePath);
      if (known && known.stamp === stamp) return known.loaded;
      const loaded = importDefault(nameOrPath, modulePath, stamp).then((value) =>
        asStepDefinition(nameOrPath, value),
      );
      loadedSteps.set(modulePath, { stamp, loaded });
      // A failure is not kept: the next load tries again (a module it imports may be there by then).
      loaded.catch(() => {
        if (loadedSteps.get(modulePath)?.loaded === loaded) loadedSteps.delete(modulePath);
      });
      return loaded;
    },
    names: () => [...steps.keys()].sort(),
    registerConfigSchema(name, modulePath) {
      schemas.set(name, checkedPath('config schema', name, modulePath));
    },
    loadConfigSchema(name) {
      const modulePath = schemas.get(name);
      if (!modulePath) return Promise.reject(new StepLoadError(name, `unknown config schema '${name}'`));
      let loaded = loadedSchemas.get(modulePath);
      if (!loaded) {
        loaded = importDefault(name, modulePath).then((value) => asConfigSchema(name, value));
        loadedSchemas.set(modulePath, loaded);
      }
      return loaded;
    },
    configSchemaNames: () => [...schemas.keys()].sort(),
  };
}

/** A file's size, mtime and ctime: what an edit changes. */
function fileStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '';
}

/** Each file's relative imports, resolved, as of its stamp (a closure is walked at every load). */
const importsOf = new Map<string, { stamp: string; files: string[] }>();

/** Whether a path is a file now (for resolveRelative, which node's resolution of the step's imports follows). */
const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

/** A module and every module it imports by a relative path, as node resolves them (what node runs of it). */
function closureOf(entry: string): string[] {
  const queue = [entry];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    const stamp = fileStamp(file);
    let known = importsOf.get(file);
    if (!known || known.stamp !== stamp) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // gone or unreadable: the import reports it
      }
      known = {
        stamp,
        files: relativeImports(text).flatMap((spec) => resolveRelative(file, spec, isFile) ?? []),
      };
      importsOf.set(file, known);
    }
    for (const next of known.files)
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
  }
  return queue;
}

/**
 * Whether this process imports a step module again when it or a helper of it changes: a watch session (runWatch
 * says so before its first load). A one-shot command imports each module once, and need not walk every step's
 * imports for the stamps of a reload that cannot come (10–25 ms of a build's start, on its critical path).
 */
let reloading = false;
export function watchStepReloads(): void {
  reloading = true;
}

/** What tells that a step module must be imported again: its closure's stamp in a watch, else its own file's. */
function moduleStamp(entry: string): string {
  return reloading ? closureStamp(entry) : fileStamp(entry);
}

/**
 * The stamp of a module's closure: a helper edited changes it, as it changes the step's code hash, so the step and
 * its helpers are imported afresh.
 */
function closureStamp(entry: string): string {
  const files = closureOf(entry);
  if (files.length === 1) return fileStamp(entry);
  const stamps = files.map((f) => `${f}\0${fileStamp(f)}`).join('\n');
  return createHash('sha256').update(stamps).digest('hex').slice(0, 16);
}

/**
 * Node keeps a CommonJS module (a step compiled by tsc to CommonJS, a helper it requires) by its file name, whatever
 * the URL it is imported under: forgotten before a reload, or the old code's exports came back.
 */
function forgetRequired(files: readonly string[]): void {
  const cache = createRequire(import.meta.url).cache;
  for (const file of files) delete cache[file];
}

/**
 * A module imported again under a new URL (below) would still get the helpers node imported the first time: they
 * are cached by their own URLs. This hook gives a relative import the query of the module importing it, so a
 * reloaded step imports its helpers afresh too. Registered at the first reload (a build imports each module once).
 */
const RELOAD_HOOKS = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const parent = context.parentURL;
  if (!parent || !/^\\.{1,2}\\//.test(specifier) || !resolved.url.startsWith('file:')) return resolved;
  const from = new URL(parent);
  if (!from.searchParams.has('pipe-reload') && !from.searchParams.has('pipe-retry')) return resolved;
  const url = new URL(resolved.url);
  for (const key of ['pipe-reload', 'pipe-retry']) {
    const value = from.searchParams.get(key);
    if (value !== null) url.searchParams.set(key, value);
  }
  return { ...resolved, url: url.href };
}
`;
let hooksRegistered = false;
function registerReloadHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register(`data:text/javascript,${encodeURIComponent(RELOAD_HOOKS)}`);
}

/**
 * Each module file this process imported: the stamp it had then, and how many of its imports failed. Node keeps a
 * module, and a failed import, for the life of the process (by URL): a file edited since (a watch session) is
 * imported under a URL with its stamp in the query, and after a failure (a module it imports was not there) under
 * one more new URL; a success keeps its URL, so a later load gets that module again.
 */
const imported = new Map<string, { stamp: string; failures: number }>();

function moduleUrl(file: string, stamp: string): URL {
  const url = pathToFileURL(file);
  const seen = imported.get(file);
  if (!seen) imported.set(file, { stamp, failures: 0 });
  else {
    if (seen.stamp !== stamp) url.searchParams.set('pipe-reload', stamp);
    if (seen.failures > 0) url.searchParams.set('pipe-retry', String(seen.failures));
    if (url.search) registerReloadHooks();
  }
  return url;
}

async function importDefault(
  name: string,
  modulePath: string,
  stamp = moduleStamp(runnableModule(modulePath)),
): Promise<unknown> {
  if (!existsSync(modulePath)) throw new StepLoadError(name, `module not found: ${modulePath}`);
  const file = runnableModule(modulePath);
  const url = moduleUrl(file, stamp);
  if (url.search) forgetRequired(closureOf(file));
  try {
    return moduleDefault((await import(url.href)) as { default?: unknown });
  } catch (error) {
    const seen = imported.get(file);
    if (seen) seen.failures++;
    throw new StepLoadError(name, importErrorMessage(modulePath, (error as Error).message));
  }
}

function asStepDefinition(name: string, value: unknown): StepDefinition {
  const def = value as Partial<StepDefinition> | undefined;
  if (
    !def ||
    typeof def.run !== 'function' ||
    typeof def.name !== 'string' ||
    typeof def.version !== 'string'
  ) {
    throw new StepLoadError(
      name,
      `'${name}' does not default-export a step ({name, version, run})${stepShapeProblem(def)}`,
    );
  }
  return def as StepDefinition;
}

/** Which key of an exported object is wrong, so `version: 1` (a number) is not taken for a missing export. */
function stepShapeProblem(def: Partial<StepDefinition> | undefined): string {
  if (!def || typeof def !== 'object') return '';
  const problems: string[] = [];
  const describe = (v: unknown) => (v === undefined ? 'missing' : `a ${typeof v} (${JSON.stringify(v)})`);
  if (typeof def.name !== 'string') problems.push(`'name' is ${describe(def.name)}, not a string`);
  if (typeof def.version !== 'string') {
    const hint = typeof def.version === 'number' ? `: write version: '${def.version}'` : '';
    problems.push(`'version' is ${describe(def.version)}, not a string${hint}`);
  }
  if (typeof def.run !== 'function')
    problems.push(`'run' is ${def.run === undefined ? 'missing' : `a ${typeof def.run}`}, not a function`);
  return problems.length > 0 ? `: ${problems.join('; ')}` : '';
}

function asConfigSchema(name: string, value: unknown): ConfigSchema {
  const schema = value as Partial<ConfigSchema> | undefined;
  if (!schema || typeof schema.validate !== 'function') {
    throw new StepLoadError(name, `'${name}' does not default-export a config schema ({name, validate})`);
  }
  return schema as ConfigSchema;
}

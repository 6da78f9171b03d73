/**
 * `.pipe/pipeline.cache`: the validated pipeline, its expanded task graphs and step identities, so
 * that a build of an unchanged pipeline skips YAML parsing, validation, globbing and step imports.
 *
 * An entry is valid only while everything loading read is unchanged:
 *   - `inputs`: the command-line inputs that change loading (pipeline file, cwd, --config, --param,
 *     --kernels) and pipe's version;
 *   - `env`: the environment variables the loader read (input paths, `vars:` defaults), with digests of their
 *     values (workspace/value-digest.ts: never the values, which may be secrets);
 *   - `deps`: stat stamps (size, mtime ns, inode, ctime ns) of every pipeline source file (root, includes,
 *     config file), of the directories globs and input paths look into (adding or removing a file
 *     changes its directory's mtime; recursive globs record every directory below their base), of
 *     each step module and its source closure, and of pipe's own build info.
 * Racily clean: an entry is written only when no dependency was modified within
 * RACY_GRANULARITY_MS of the moment loading began (else an edit in the same tick could go unseen).
 * An entry also answers another `--param` of a config scalar (builds/param-overrides.ts): its `baseInputs` leave
 * --param out, and its `base` says how to apply other values; then only the command-line inputs differ.
 * The file is versioned, replaced atomically (without fsync: it is derived data), and discarded (with a note) when
 * unreadable.
 * Encoding: JSON (its parser is about twice as fast as node:v8's deserializer, which matters at 10,000
 * tasks), with the model's Maps as entry arrays; an entry JSON cannot round-trip exactly (an undefined
 * property, a non-finite number, another Map, a class instance…) is written with node:v8 instead. The
 * first byte tells which: '{' for JSON, node:v8's version tag otherwise.
 * In JSON, the entry is the first line, its graphs' tasks left out (`taskLines` says how many lines each has), and
 * each task follows on a line of its own: `"<id>"<TAB>"<target>"<TAB><deps><TAB><the rest of the task>`. A task's
 * rest (inputs, outputs, params, item) is parsed when first read (CachedTask): a rebuild that changed a few tasks of
 * 10,000 plans the others from their ids, targets and deps, and their rest is never parsed (a third of the
 * one-change rebuild's parsing and garbage); a task never read is written back as the line it was read from.
 * This module imports neither the config loader nor yaml/zod: on a hit nothing of them is loaded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { canonicalJson, sha256Hex } from '../fingerprint/canonical.js';
import {
  codeHash,
  type IdentitiesSeen,
  type KnownCodeHash,
  knownCodeHashes,
} from '../fingerprint/code-hash.js';
import type { StepIdentity } from '../fingerprint/record.js';
import type { StepFacts } from '../fingerprint/steps.js';
import { absolutePattern, brokenLinks, literalPath, splitGlob } from '../graph/items.js';
import type { Pipeline, Task, TaskGraph, TaskItem } from '../model/types.js';
import { pipeVersion } from '../provenance/pipe-version.js';
import { replaceFile } from '../workspace/atomic.js';
import { type DepStamp, racilyClean, stampDep, unchangedDep } from '../workspace/dep-stamp.js';
import { valueDigest } from '../workspace/value-digest.js';
import type { OverrideBase } from './param-overrides.js';

export const PIPELINE_CACHE_FORMAT = 'pipe-pipeline-cache';
export const PIPELINE_CACHE_VERSION = 13;
/** Graphs kept per entry (one per requested target list, most recent first). */
const MAX_GRAPHS = 4;

export type { DepStamp };

/** What on the command line changes loading. */
export interface PipelineCacheInputs {
  file: string;
  cwd: string;
  configFile?: string;
  params: Record<string, string>;
  kernels?: string;
}

export interface CachedGraph {
  /** The requested targets, as given. */
  targets: string[];
  graph: TaskGraph;
  /** Step identities (only when no step uses kernels: a kernel backend is chosen at run time). */
  steps?: Map<string, StepIdentity>;
  /** The graph's tasks in dependency order (plan/planner.ts topoOrder), so a plan need not sort them again. */
  order?: string[];
}

export interface PipelineCacheEntry {
  format: typeof PIPELINE_CACHE_FORMAT;
  version: typeof PIPELINE_CACHE_VERSION;
  inputs: string;
  /** The digest of the inputs without --param (see pipelineInputsDigest). */
  baseInputs?: string;
  env: Array<[string, string | null]>;
  deps: DepStamp[];
  pipeline: Pipeline;
  /** How to apply other --param values of config scalars to `pipeline` (when the load could say). */
  base?: OverrideBase;
  /** Rendered loader warnings, replayed on a hit. */
  warnings: string;
  graphs: CachedGraph[];
  /** Code hashes of the step modules, with their files' stamps (seed for the next run; see code-hash.ts). */
  codeHashes?: KnownCodeHash[];
  /** Name, version and kernels of each step module (fingerprint/steps.ts StepFacts): a hit imports no step. */
  stepFacts?: Array<[string, StepFacts]>;
}

/** The cache file of the workspace whose root pipeline file is `pipelineFile`. */
export function pipelineCacheFile(pipelineFile: string): string {
  return path.join(path.dirname(pipelineFile), '.pipe', 'pipeline.cache');
}

/** Digest of the command-line inputs and pipe's version. */
export function pipelineInputsDigest(inputs: PipelineCacheInputs): string {
  return sha256Hex(canonicalJson({ pipe: pipeVersion(), format: PIPELINE_CACHE_VERSION, ...inputs }));
}

/** Digest of the command-line inputs but --param (what an entry's `base` can answer for other params). */
export function pipelineBaseInputsDigest(inputs: PipelineCacheInputs): string {
  return pipelineInputsDigest({ ...inputs, params: {} });
}

export type CacheLookup =
  | { hit: PipelineCacheEntry }
  | { miss: 'absent' }
  /** `previous`: the entry found (for speculation only, e.g. which step modules a build is likely to run). */
  | { miss: 'stale'; previous?: PipelineCacheEntry }
  /** Everything unchanged but --param, and the entry keeps an override base: builds/param-overrides.ts may apply. */
  | { miss: 'params'; previous: PipelineCacheEntry & { base: OverrideBase } }
  | { miss: 'corrupt'; note: string };

/**
 * Read the entry and check it against `inputs`, the environment and every dependency's stamp; `baseInputs`
 * (the inputs without --param) tells an entry for other params that may still serve (miss 'params').
 */
export function readPipelineCache(
  file: string,
  inputs: string,
  env: NodeJS.ProcessEnv,
  baseInputs?: string,
): CacheLookup {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return { miss: 'absent' };
  }
  let entry: PipelineCacheEntry;
  try {
    entry = bytes[0] === 0x7b ? fromJson(bytes.toString('utf8')) : (deserialize(bytes) as PipelineCacheEntry);
  } catch {
    return { miss: 'corrupt', note: `${file}: unreadable; discarded and rebuilt` };
  }
  if (
    entry?.format !== PIPELINE_CACHE_FORMAT ||
    !Array.isArray(entry.deps) ||
    !Array.isArray(entry.graphs) ||
    !entry.pipeline
  ) {
    return { miss: 'corrupt', note: `${file}: not a pipeline cache; discarded and rebuilt` };
  }
  if (entry.version !== PIPELINE_CACHE_VERSION) return { miss: 'stale' };
  const stale = { miss: 'stale', previous: entry } as const;
  const otherParams =
    entry.inputs !== inputs && baseInputs !== undefined && entry.baseInputs === baseInputs && entry.base;
  if (entry.inputs !== inputs && !otherParams) return stale;
  for (const [name, digest] of entry.env) if (valueDigest(env[name]) !== digest) return stale;
  for (const dep of entry.deps) if (!unchangedDep(dep)) return stale;
  if (otherParams) return { miss: 'params', previous: entry as PipelineCacheEntry & { base: OverrideBase } };
  return { hit: entry };
}

/** The graph (and step identities) cached for exactly these requested targets. */
export function cachedGraph(entry: PipelineCacheEntry, targets: string[]): CachedGraph | undefined {
  const key = JSON.stringify(targets);
  return entry.graphs.find((g) => JSON.stringify(g.targets) === key);
}

/** Every directory below `dir` (and itself), for a glob that can match in subdirectories. */
function dirsBelow(dir: string, out: string[]): void {
  out.push(dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) dirsBelow(path.join(dir, e.name), out);
}

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/** Directories whose listing decides what a path or glob matches. */
function patternDirs(pattern: string, root: string, out: string[]): void {
  const abs = absolutePattern(root, pattern);
  if (!GLOB_CHARS.test(pattern)) {
    out.push(path.dirname(literalPath(abs)));
    return;
  }
  const { base, rest } = splitGlob(abs);
  if (rest.includes('/')) dirsBelow(base, out);
  else out.push(base);
}

/** pipe's own build stamp: a rebuilt engine invalidates every cached pipeline. */
function engineStampFile(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.tsbuildinfo');
}

/**
 * The dependency stamps of a freshly loaded pipeline; undefined when one of them was modified
 * after `loadStartedMs - RACY_GRANULARITY_MS` (racily clean: don't cache, the next run will).
 */
export function pipelineDeps(pipeline: Pipeline, loadStartedMs: number): DepStamp[] | undefined {
  const files = new Set<string>([...pipeline.sourceFiles, engineStampFile()]);
  // The step modules' remembered code hashes are checked together: a science pipeline's modules share most of their
  // ~200 source files, each statted once here rather than once per module.
  const seen: IdentitiesSeen = new Map();
  const dirs: string[] = [];
  for (const glob of pipeline.includeGlobs ?? []) {
    patternDirs(glob, pipeline.root, dirs);
    // A broken link the include leaves out: its target appearing (a disk mounted) changes no folder's stamp.
    for (const link of brokenLinks(glob, pipeline.root)) files.add(link);
  }
  for (const target of pipeline.targets.values()) {
    const globs: string[] = [];
    if (target.foreach?.kind === 'glob') globs.push(target.foreach.pattern);
    for (const specs of Object.values(target.inputs))
      for (const spec of specs) if (spec.kind === 'file') globs.push(spec.pattern);
    for (const pattern of globs) {
      patternDirs(pattern, pipeline.root, dirs);
      // A broken link the glob leaves out: its target appearing (a disk mounted) changes no folder's stamp.
      for (const link of brokenLinks(pattern, pipeline.root)) files.add(link);
    }
    if (target.stepModule) {
      files.add(target.stepModule);
      for (const f of codeHash(target.stepModule, seen).files) files.add(f);
    }
  }
  const deps: DepStamp[] = [...files].map((f) => stampDep(f, 'f'));
  for (const d of new Set(dirs)) deps.push(stampDep(d, 'd'));
  return racilyClean(deps, loadStartedMs) ? deps : undefined;
}

export interface SavePipelineCache {
  file: string;
  inputs: string;
  baseInputs?: string;
  env: Array<[string, string | null]>;
  deps: DepStamp[];
  pipeline: Pipeline;
  base?: OverrideBase;
  stepFacts?: Array<[string, StepFacts]>;
  warnings: string;
  /** Graphs of the previous entry (kept when still valid). */
  previous?: PipelineCacheEntry;
  graph?: CachedGraph;
}

/** Write (or extend) the entry atomically. */
export async function writePipelineCache(save: SavePipelineCache): Promise<void> {
  const graphs: CachedGraph[] = save.graph ? [save.graph] : [];
  const key = save.graph ? JSON.stringify(save.graph.targets) : undefined;
  for (const g of save.previous?.graphs ?? []) {
    if (graphs.length >= MAX_GRAPHS) break;
    if (JSON.stringify(g.targets) !== key) graphs.push(g);
  }
  const entry: PipelineCacheEntry = {
    format: PIPELINE_CACHE_FORMAT,
    version: PIPELINE_CACHE_VERSION,
    inputs: save.inputs,
    ...(save.baseInputs !== undefined ? { baseInputs: save.baseInputs } : {}),
    env: save.env,
    deps: save.deps,
    pipeline: save.pipeline,
    ...(save.base ? { base: save.base } : {}),
    ...(save.stepFacts ? { stepFacts: save.stepFacts } : {}),
    warnings: save.warnings,
    graphs,
    codeHashes: knownCodeHashes(
      [...save.pipeline.targets.values()].flatMap((t) => (t.stepModule ? [t.stepModule] : [])),
    ),
  };
  await replaceFile(save.file, toJson(entry) ?? serialize(withPlainTasks(entry)));
}

/** What of a task a cache line holds after its id, target and deps. */
type TaskRest = Pick<Task, 'inputs' | 'outputs' | 'params'> & { item?: TaskItem };

/**
 * A task read from the pipeline cache: id, target and deps at once, the rest parsed from its line's text when first
 * read (or replaced: setting a field parses the rest first). `toJSON` gives the task as a plain object.
 */
export class CachedTask implements Task {
  private rest: TaskRest | undefined;

  constructor(
    readonly id: string,
    readonly target: string,
    readonly deps: string[],
    /** The rest's JSON as read (undefined once it was parsed and may have been changed). */
    private restText: string | undefined,
  ) {}

  private parsed(): TaskRest {
    if (this.rest === undefined) {
      this.rest = JSON.parse(this.restText!) as TaskRest;
      this.restText = undefined;
    }
    return this.rest;
  }

  get inputs(): Task['inputs'] {
    return this.parsed().inputs;
  }
  set inputs(v: Task['inputs']) {
    this.parsed().inputs = v;
  }
  get outputs(): Task['outputs'] {
    return this.parsed().outputs;
  }
  set outputs(v: Task['outputs']) {
    this.parsed().outputs = v;
  }
  get params(): Task['params'] {
    return this.parsed().params;
  }
  set params(v: Task['params']) {
    this.parsed().params = v;
  }
  get item(): TaskItem | undefined {
    return this.parsed().item;
  }
  set item(v: TaskItem | undefined) {
    if (v === undefined) delete this.parsed().item;
    else this.parsed().item = v;
  }

  /** The rest's text as read, while the rest was not parsed (then it is written back as it was). */
  unparsedRest(): string | undefined {
    return this.restText;
  }

  toJSON(): Task {
    return { id: this.id, target: this.target, deps: this.deps, ...this.parsed() };
  }
}

/** A task as a plain object (a CachedTask's fields parsed and copied): what a spread of a task would not give. */
export function plainTask(task: Task): Task {
  return task instanceof CachedTask ? task.toJSON() : { ...task };
}

/**
 * Whether JSON gives `value` back exactly: no undefined property, non-finite number, hole, Map, Set, class
 * instance… (a CachedTask is written through its toJSON, a plain object).
 */
function exactJson(value: unknown): string | undefined {
  let exact = true;
  const text = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') exact = false;
    else if (typeof v === 'number' && !Number.isFinite(v)) exact = false;
    else if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) {
        if (Object.keys(v).length !== v.length) exact = false; // holes
      } else if (Object.getPrototypeOf(v) !== Object.prototype)
        exact = false; // Map, Set, Date, class…
      else if (Object.hasOwn(v, '__proto__')) exact = false;
    }
    return v;
  });
  return exact ? text : undefined;
}

/** A task's cache line (see the module comment), or undefined when JSON would not give it back exactly. */
function taskLine(task: Task): string | undefined {
  const deps = exactJson(task.deps);
  let rest = task instanceof CachedTask ? task.unparsedRest() : undefined;
  if (rest === undefined) {
    const { id: _id, target: _target, deps: _deps, ...own } = plainTask(task);
    rest = exactJson(own);
  }
  if (
    deps === undefined ||
    rest === undefined ||
    typeof task.id !== 'string' ||
    typeof task.target !== 'string'
  )
    return undefined;
  return `${JSON.stringify(task.id)}\t${JSON.stringify(task.target)}\t${deps}\t${rest}`;
}

/** The entry as JSON (the first line) and its graphs' task lines, or undefined when JSON would not give it back exactly. */
function toJson(entry: PipelineCacheEntry): string | undefined {
  const lines: string[] = [];
  const plain = {
    ...entry,
    pipeline: { ...entry.pipeline, targets: [...entry.pipeline.targets] },
    graphs: entry.graphs.map(({ steps, ...g }) => {
      for (const task of g.graph.tasks.values()) {
        const line = taskLine(task);
        if (line === undefined) return undefined;
        lines.push(line);
      }
      return {
        ...g,
        graph: { ...g.graph, tasks: [] },
        taskLines: g.graph.tasks.size,
        ...(steps ? { steps: [...steps] } : {}),
      };
    }),
  };
  if (plain.graphs.some((g) => g === undefined)) return undefined;
  const head = exactJson(plain);
  return head === undefined ? undefined : `${head}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** The entry with its graphs' tasks as plain objects (node:v8 keeps no class: a CachedTask would lose its rest). */
function withPlainTasks(entry: PipelineCacheEntry): PipelineCacheEntry {
  return {
    ...entry,
    graphs: entry.graphs.map((g) => ({
      ...g,
      graph: { ...g.graph, tasks: new Map([...g.graph.tasks].map(([id, t]) => [id, plainTask(t)])) },
    })),
  };
}

/** A JSON string as a line holds it (most ids and targets need no unescaping). */
function jsonString(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

function fromJson(text: string): PipelineCacheEntry {
  let at = text.indexOf('\n');
  if (at < 0) at = text.length;
  const entry = JSON.parse(text.slice(0, at)) as PipelineCacheEntry;
  at++;
  const asMap = <K, V>(v: unknown) => new Map(v as Array<[K, V]>);
  entry.pipeline.targets = asMap(entry.pipeline.targets);
  for (const g of entry.graphs as Array<CachedGraph & { taskLines?: number }>) {
    const tasks = new Map<string, Task>();
    const count = g.taskLines ?? 0;
    delete g.taskLines;
    for (let n = 0; n < count; n++) {
      const end = text.indexOf('\n', at);
      const t1 = text.indexOf('\t', at);
      const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
      const t3 = t2 < 0 ? -1 : text.indexOf('\t', t2 + 1);
      if (end < 0 || t3 < 0 || t3 > end) throw new Error('a task line is malformed');
      const id = jsonString(text.slice(at, t1));
      const deps = t3 === t2 + 3 ? [] : (JSON.parse(text.slice(t2 + 1, t3)) as string[]);
      tasks.set(id, new CachedTask(id, jsonString(text.slice(t1 + 1, t2)), deps, text.slice(t3 + 1, end)));
      at = end + 1;
    }
    g.graph.tasks = tasks;
    if (g.steps) g.steps = asMap(g.steps);
  }
  return entry;
}

/** An environment that records which variables are read (to key the cache by their values). */
export function recordingEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; read: Set<string> } {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get(t, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(t, key);
    },
    has(t, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.has(t, key);
    },
  });
  return { env: proxy, read };
}

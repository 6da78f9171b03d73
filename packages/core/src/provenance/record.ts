/**
 * The provenance record stored with every product in the cache manifest: which task made it,
 * with which step and code, parameters, inputs (and the tasks that produced them), kernel backend,
 * versions, times, host and executor. Environment variables appear by name only (values may be
 * secrets); nothing here enters the task's key.
 */
import { hostname } from 'node:os';
import type { FingerprintRecord } from '../fingerprint/record.js';
import type { Task } from '../model/types.js';
import { relPath } from '../workspace/layout.js';
import { pipeVersion } from './pipe-version.js';

export const PROVENANCE_VERSION = 1;

/** pipe's, Node's and Node's zlib's versions in a process that ran a task. */
export interface RunVersions {
  pipe: string;
  node: string;
  zlib?: string;
}

/** This process's RunVersions. */
export function runVersions(): RunVersions {
  return { pipe: pipeVersion(), node: process.version, zlib: process.versions.zlib };
}

export interface ProvenanceRecord {
  version: number;
  task: string;
  target: string;
  key: string;
  buildId: string;
  step: FingerprintRecord['step'];
  kernels: FingerprintRecord['kernels'];
  kernelBackend: string;
  params: Record<string, unknown>;
  /** Input name → [{path, hash, producer?}] (producer: the upstream task id). */
  inputs: Record<string, Array<{ path: string; hash: string; producer?: string }>>;
  env: string[];
  argv?: string[];
  /**
   * pipe's, Node's and Node's zlib's: an in-process step writes gzip-compressed products (.fits.gz) through Node's
   * zlib, whose bytes another zlib version may compress differently (not in the key: the data are the same).
   * zlib is absent in records written before it was kept. Those of the process that ran the task: a Slurm job's
   * node may run another Node than the host that submitted it.
   */
  versions: RunVersions;
  start: string;
  end: string;
  host: string;
  executor: string;
  jobId?: string;
  metadata?: Record<string, unknown>;
  /** What the step warned about when it made the products (told again when they are restored from a cache). */
  warnings?: string[];
}

export function provenanceRecord(options: {
  task: Task;
  root: string;
  key: string;
  record: FingerprintRecord;
  buildId: string;
  kernelBackend: string;
  executor: string;
  jobId?: string;
  host?: string;
  /** The versions of the process that ran the task, when not this one (a Slurm job's, from its result file). */
  versions?: RunVersions;
  start: Date;
  end: Date;
  metadata?: Record<string, unknown>;
  warnings?: readonly string[];
}): ProvenanceRecord {
  const { task, record } = options;
  const producers = new Map<string, string>();
  for (const files of Object.values(task.inputs)) {
    for (const f of files) if (f.producer) producers.set(relPath(options.root, f.path), f.producer);
  }
  // Each file under the path it has here (the key may name a file outside the workspace $NAME/…: plan/decide.ts
  // keyPath): the record lists an input's files in the order the task holds them, then the item's others.
  const seen = new Set(Object.values(task.inputs).flatMap((files) => files.map((f) => f.path)));
  const actual = (name: string): string[] =>
    name === '{item}'
      ? (task.item?.files ?? []).filter((f) => !seen.has(f))
      : (task.inputs[name] ?? []).map((f) => f.path);
  const inputs: ProvenanceRecord['inputs'] = {};
  for (const [name, list] of Object.entries(record.inputs)) {
    const here = actual(name);
    inputs[name] = list.map(([keyed, hash], i) => {
      const path = here.length === list.length ? relPath(options.root, here[i]!) : keyed;
      const producer = producers.get(path);
      return producer ? { path, hash, producer } : { path, hash };
    });
  }
  return {
    version: PROVENANCE_VERSION,
    task: task.id,
    target: task.target,
    key: options.key,
    buildId: options.buildId,
    step: record.step,
    kernels: record.kernels,
    kernelBackend: options.kernelBackend,
    params: record.params,
    inputs,
    env: Object.keys(record.env),
    ...(record.argv ? { argv: record.argv } : {}),
    versions: options.versions ?? runVersions(),
    start: options.start.toISOString(),
    end: options.end.toISOString(),
    host: options.host ?? hostname(),
    executor: options.executor,
    ...(options.jobId ? { jobId: options.jobId } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    ...(options.warnings?.length ? { warnings: [...options.warnings] } : {}),
  };
}

/**
 * Where a cache entry's products were made, as a restoring build keeps it in its record: the build, executor, job,
 * host, end, and the kernel backend when the step uses kernels. The entry itself may go (gc, a budget, an entry
 * fetched from a remote cache that another workspace wrote, a cache dir removed), the record stays while it explains
 * a product.
 */
export interface MadeIn {
  build: string;
  executor?: string;
  jobId?: string;
  host?: string;
  end?: string;
  kernelBackend?: string;
}

/** The MadeIn of a manifest's provenance record; undefined when it names no build (not pipe's, or damaged). */
export function madeInOf(provenance: unknown): MadeIn | undefined {
  if (typeof provenance !== 'object' || provenance === null) return undefined;
  const p = provenance as Record<string, unknown>;
  const text = (k: string) => (typeof p[k] === 'string' && p[k] !== '' ? (p[k] as string) : undefined);
  const build = text('buildId');
  if (build === undefined) return undefined;
  const made: MadeIn = { build };
  for (const k of ['executor', 'jobId', 'host', 'end'] as const) {
    const v = text(k);
    if (v !== undefined) made[k] = v;
  }
  // A command, or a step without kernels, ran no kernel: the build's backend says nothing of its products.
  const backend = text('kernelBackend');
  if (backend !== undefined && Array.isArray(p['kernels']) && p['kernels'].length > 0)
    made.kernelBackend = backend;
  return made;
}

/** The most of a step's metadata, as JSON, that a build record keeps of one task (keptMetadata). */
export const KEPT_METADATA_CHARS = 2048;
/**
 * The most metadata JSON one build record keeps in all: a fan-out of 5,000 tasks at KEPT_METADATA_CHARS each would
 * add 10 MB to its record; at the ~80 characters of a dataset's counts and livetime, 5,000 tasks keep theirs.
 */
export const KEPT_METADATA_PER_BUILD = 1 << 20;

/**
 * A step's metadata (StepResult.metadata, or a manifest's provenance `metadata`) as a build record keeps it for
 * `pipe why`, which tells it after the cache entry holding it is gone (gc, a budget, a remote entry, a cache dir
 * removed): a non-empty object up to KEPT_METADATA_CHARS of JSON (counts, livetime, the peak; a Slurm job's node and
 * request), while the build's `budget` (characters left of KEPT_METADATA_PER_BUILD, taken from as kept) lasts.
 * Undefined for larger metadata, or once the budget is spent, which only the cache entry then holds, so that a
 * fan-out's record stays small.
 */
export function keptMetadata(
  metadata: unknown,
  budget: { left: number },
): Record<string, unknown> | undefined {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return undefined;
  if (Object.keys(metadata).length === 0) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(metadata);
  } catch {
    return undefined;
  }
  if (text === undefined || text.length > KEPT_METADATA_CHARS || text.length > budget.left) return undefined;
  budget.left -= text.length;
  return metadata as Record<string, unknown>;
}

/** The warnings a manifest's provenance record holds (none when it has none, or is not pipe's). */
export function provenanceWarnings(provenance: unknown): string[] | undefined {
  const w = (provenance as { warnings?: unknown } | undefined)?.warnings;
  return Array.isArray(w) && w.length > 0 && w.every((x) => typeof x === 'string') ? w : undefined;
}

/**
 * The fingerprint record of a task and its key.
 *
 * The record holds everything that can change the bytes of a task's outputs, and nothing else
 * (no absolute paths, timestamps or host). Its fields, in canonical order:
 *
 *   v        format version of the record (bump when the encoding changes: every key changes)
 *   argv     command steps: the argv template as declared (placeholders unexpanded)
 *   env      the target's declared `env:` variables: name → first 16 hex of SHA-256(value), null when unset
 *            (values are never stored; another variable never enters)
 *   inputs   input name → [workspace-relative path, content hash] sorted by path (a file outside the workspace:
 *            `$NAME/rest` below the folder of a variable that started its input path, else its absolute path;
 *            plan/decide.ts keyPath). Raw files: XXH64 (16 hex);
 *            upstream products: the SHA-256 of the product's bytes (64 hex) — the cache blob address, so an
 *            upstream that re-runs and writes identical bytes leaves this record unchanged (restat)
 *   item     foreach tasks: the item id and data (the item's files are inputs under `{item}`)
 *   kernels  kernels the step uses: {name, sourceHash, compiler, backend}, sorted by name
 *   params   resolved parameters (as validated by the step)
 *   step     {name, version, code}: code = SHA-256 of the step module's source closure (code-hash.ts);
 *            '' for command steps
 *
 * key = SHA-256(canonicalJson(record)), hex.
 */
import { canonicalJson, sha256Hex } from './canonical.js';

/** 2: an input's files in the order the step receives them (1 sorted them by path), and the output paths. */
export const FINGERPRINT_VERSION = 2;

export interface KernelId {
  name: string;
  sourceHash: string;
  compiler: string;
  /** Left out by the kernels package for a kernel proven bit-identical across backends. */
  backend?: string;
}

export interface StepIdentity {
  name: string;
  version: string;
  code: string;
  kernels: KernelId[];
}

export interface FingerprintRecord {
  v: number;
  step: { name: string; version: string; code: string };
  argv?: string[];
  params: Record<string, unknown>;
  inputs: Record<string, Array<[string, string]>>;
  env: Record<string, string | null>;
  kernels: KernelId[];
  item?: { id: string; data?: unknown };
  /** Output name → workspace-relative path: a step or command sees the path (a `.gz` suffix, a format). */
  outputs: Record<string, string>;
}

export interface FingerprintParts {
  step: StepIdentity;
  argv?: string[];
  params: Record<string, unknown>;
  /** Input name → [relative path, hash] in any order (sorted here). */
  inputs: Record<string, Array<[string, string]>>;
  env: Record<string, string | null>;
  item?: { id: string; data?: unknown };
  outputs: Record<string, string>;
}

export function makeRecord(parts: FingerprintParts): FingerprintRecord {
  const inputs: Record<string, Array<[string, string]>> = {};
  // Files in the order the step gets them (a list's declared order, a glob's sorted matches, the upstream's items
  // in order): a command that concatenates them, or a float32 stack, depends on it.
  for (const name of Object.keys(parts.inputs).sort()) inputs[name] = [...parts.inputs[name]!];
  const record: FingerprintRecord = {
    v: FINGERPRINT_VERSION,
    step: { name: parts.step.name, version: parts.step.version, code: parts.step.code },
    params: parts.params,
    inputs,
    env: parts.env,
    kernels: [...parts.step.kernels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    outputs: parts.outputs,
  };
  if (parts.argv) record.argv = parts.argv;
  if (parts.item) record.item = parts.item;
  return record;
}

/**
 * The task key: SHA-256 of the canonical encoding of the record. The record's own fields are
 * written in sorted order here (the same bytes canonicalJson would give, see record.test.ts);
 * only user data (params, item data) goes through the generic encoder.
 */
export function keyOf(record: FingerprintRecord): string {
  return sha256Hex(encodeRecord(record));
}

const str = JSON.stringify;

export function encodeRecord(r: FingerprintRecord): string {
  let s = '{';
  if (r.argv) s += `"argv":${str(r.argv)},`;
  s += '"env":{';
  let first = true;
  for (const k of Object.keys(r.env).sort()) {
    s += `${first ? '' : ','}${str(k)}:${str(r.env[k])}`;
    first = false;
  }
  s += '},"inputs":{';
  first = true;
  for (const name of Object.keys(r.inputs).sort()) {
    s += `${first ? '' : ','}${str(name)}:[`;
    const list = r.inputs[name]!;
    for (let i = 0; i < list.length; i++) s += `${i ? ',' : ''}[${str(list[i]![0])},${str(list[i]![1])}]`;
    s += ']';
    first = false;
  }
  s += '}';
  if (r.item) s += `,"item":${canonicalJson(r.item)}`;
  s += `,"kernels":${canonicalJson(r.kernels)},"outputs":${canonicalJson(r.outputs)},"params":${canonicalJson(r.params)},"step":${canonicalJson(r.step)},"v":${r.v}}`;
  return s;
}

/** First 16 hex of SHA-256 of an environment value (never the value itself). */
export function envDigest(value: string | undefined): string | null {
  return value === undefined ? null : sha256Hex(value).slice(0, 16);
}

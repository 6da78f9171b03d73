import { createHash } from 'node:crypto';
import type { CacheFailure, Manifest, ManifestProblem } from './types.js';

/** A blob address: 64 lowercase hex digits. */
export const isSha256 = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/**
 * A task key usable as a file name and URL segment on every backend: starts with a letter or digit,
 * then letters, digits, '.', '_', '-' (no '/', so no traversal), at most 128 characters.
 */
export const isSafeKey = (s: unknown): s is string =>
  typeof s === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(s);

/** Problems of one relative output path; empty when it is safe to join onto a workspace root. */
export function pathProblems(p: string, at: string): ManifestProblem[] {
  if (p.length === 0) return [{ at, reason: 'empty-path', detail: 'empty path' }];
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p))
    return [{ at, reason: 'absolute-path', detail: `absolute path '${p}'` }];
  if (p.includes('\\') || p.includes('\0')) {
    return [{ at, reason: 'not-normalised', detail: `path '${p}' contains a backslash or NUL` }];
  }
  const segments = p.split('/');
  if (segments.includes('..')) return [{ at, reason: 'parent-segment', detail: `path '${p}' contains '..'` }];
  if (segments.some((s) => s === '' || s === '.')) {
    return [{ at, reason: 'not-normalised', detail: `path '${p}' has empty or '.' segments` }];
  }
  return [];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check that `value` is a well-formed, safe manifest (and, if given, that it carries `expectedKey`).
 * Used on every write and on every read from any backend, local or remote.
 */
export function validateManifest(
  value: unknown,
  expectedKey?: string,
): { ok: true; manifest: Manifest } | { ok: false; problems: ManifestProblem[] } {
  const problems: ManifestProblem[] = [];
  const push = (at: string, reason: ManifestProblem['reason'], detail: string) =>
    problems.push({ at, reason, detail });
  if (!isObject(value))
    return { ok: false, problems: [{ at: '$', reason: 'not-an-object', detail: 'not a JSON object' }] };
  if (value.version !== 1)
    push('version', 'unsupported-version', `version ${JSON.stringify(value.version)} (expected 1)`);
  if (!isSafeKey(value.key)) push('key', 'bad-key', 'key missing or not [A-Za-z0-9._-]{1,128}');
  else if (expectedKey !== undefined && value.key !== expectedKey) {
    push('key', 'key-mismatch', `manifest for key '${value.key}' stored under '${expectedKey}'`);
  }
  if (typeof value.taskId !== 'string') push('taskId', 'wrong-type', 'taskId must be a string');
  if (typeof value.createdAt !== 'string') push('createdAt', 'wrong-type', 'createdAt must be a string');
  if (!isObject(value.provenance)) push('provenance', 'wrong-type', 'provenance must be an object');
  if (value.items !== undefined && !Array.isArray(value.items))
    push('items', 'wrong-type', 'items must be an array');
  if (!Array.isArray(value.outputs)) {
    push('outputs', 'missing-field', 'outputs must be an array');
  } else {
    const seen = new Set<string>();
    value.outputs.forEach((o: unknown, i: number) => {
      const at = `outputs[${i}]`;
      if (!isObject(o)) {
        push(at, 'not-an-object', 'output is not an object');
        return;
      }
      if (typeof o.name !== 'string') push(`${at}.name`, 'wrong-type', 'name must be a string');
      if (typeof o.path !== 'string') push(`${at}.path`, 'wrong-type', 'path must be a string');
      else {
        problems.push(...pathProblems(o.path, `${at}.path`));
        if (seen.has(o.path)) push(`${at}.path`, 'duplicate-path', `path '${o.path}' appears twice`);
        seen.add(o.path);
      }
      if (!isSha256(o.sha256)) push(`${at}.sha256`, 'bad-sha256', 'sha256 must be 64 lowercase hex digits');
      if (!Number.isSafeInteger(o.size) || (o.size as number) < 0)
        push(`${at}.size`, 'bad-size', 'size must be a non-negative integer');
      if (!Number.isInteger(o.mode) || (o.mode as number) < 0 || (o.mode as number) > 0o7777) {
        push(`${at}.mode`, 'bad-mode', 'mode must be permission bits (0..0o7777)');
      }
    });
  }
  return problems.length === 0
    ? { ok: true, manifest: value as unknown as Manifest }
    : { ok: false, problems };
}

/**
 * JSON with object keys sorted at every level, so equal manifests serialise to equal bytes. The format (and so
 * every checksum stored) is what `JSON.stringify` makes when a replacer rebuilds each object from its sorted keys;
 * it is written here directly, without that copy of every object (a third of the cost of storing a manifest). As
 * in such a copy, keys that are array indices ("0", "17") come first in numeric order, then the others sorted.
 */
export function canonicalJson(value: unknown): string {
  return encodeValue(value, '') as string;
}

/** JSON.stringify's SerializeJSONProperty, with objects' keys in the canonical order; undefined: left out. */
function encodeValue(value: unknown, key: string): string | undefined {
  let v = value;
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function')
    v = (v as { toJSON: (key: string) => unknown }).toJSON(key);
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return JSON.stringify(v); // -0 as 0, non-finite as null
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(v); // throws, as JSON.stringify does
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++)
          s += `${i > 0 ? ',' : ''}${encodeValue(v[i], String(i)) ?? 'null'}`;
        return `${s}]`;
      }
      const obj = v as Record<string, unknown>;
      let s = '{';
      let first = true;
      for (const k of canonicalKeys(obj)) {
        const e = encodeValue(obj[k], k);
        if (e === undefined) continue;
        s += `${first ? '' : ','}${JSON.stringify(k)}:${e}`;
        first = false;
      }
      return `${s}}`;
    }
    default:
      return undefined; // undefined, functions, symbols
  }
}

/** An object's keys in the order of an object built from them sorted: array indices ascending, then the rest sorted. */
function canonicalKeys(obj: object): string[] {
  const keys = Object.keys(obj).sort();
  const indices = keys.filter(isArrayIndex);
  if (indices.length === 0) return keys;
  indices.sort((a, b) => Number(a) - Number(b));
  for (const k of keys) if (!isArrayIndex(k)) indices.push(k);
  return indices;
}

const isArrayIndex = (k: string): boolean => {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
};

const ENVELOPE_FORMAT = 'pipe-manifest';
const ENVELOPE_VERSION = 1;

/**
 * The stored form of a manifest: an envelope with the SHA-256 of the manifest's canonical JSON, so a
 * truncated or altered manifest (it is addressed by key, not by content) is detected on read.
 */
export function encodeManifest(manifest: Manifest): Buffer {
  const body = canonicalJson(manifest);
  const sha256 = createHash('sha256').update(body).digest('hex');
  // canonicalJson of the envelope, its keys in sorted order, around the body encoded once (not twice).
  return Buffer.from(
    `{"format":${JSON.stringify(ENVELOPE_FORMAT)},"manifest":${body},"sha256":"${sha256}","version":${ENVELOPE_VERSION}}\n`,
  );
}

/** Decode and check a stored manifest; `what` names it in failures (e.g. 'ac/<key>'). */
export function decodeManifest(
  bytes: Buffer,
  key: string,
  what: string,
): { ok: true; manifest: Manifest } | { ok: false; failure: CacheFailure } {
  let envelope: unknown;
  try {
    envelope = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, failure: { type: 'corrupt', what, detail: 'not valid JSON (truncated or garbled)' } };
  }
  if (!isObject(envelope) || envelope.format !== ENVELOPE_FORMAT) {
    return { ok: false, failure: { type: 'corrupt', what, detail: 'not a pipe manifest envelope' } };
  }
  if (envelope.version !== ENVELOPE_VERSION) {
    return {
      ok: false,
      failure: { type: 'corrupt', what, detail: `unknown envelope version ${String(envelope.version)}` },
    };
  }
  const actual = createHash('sha256').update(canonicalJson(envelope.manifest)).digest('hex');
  if (actual !== envelope.sha256) {
    return {
      ok: false,
      failure: {
        type: 'corrupt',
        what,
        detail: `checksum mismatch (stored ${String(envelope.sha256).slice(0, 12)}…, actual ${actual.slice(0, 12)}…)`,
      },
    };
  }
  const checked = validateManifest(envelope.manifest, key);
  if (!checked.ok)
    return { ok: false, failure: { type: 'invalid-manifest', what, problems: checked.problems } };
  return checked;
}

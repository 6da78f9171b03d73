/**
 * JSON products compared value by value: numbers with the tolerance (per top-level key, see `keys`
 * in the tolerance config), everything else exactly; added, removed and retyped keys are differences.
 * One detail per top-level key (one for the whole document when it is not an object).
 */
import { readFile } from 'node:fs/promises';
import {
  type ComparatorOutcome,
  type CompareContext,
  type FileComparator,
  limitChanges,
} from './comparator.js';
import { compareArrays } from './numeric.js';
import type { DetailStatus, DiffDetail, ValueChange } from './report.js';
import { toleranceUsed } from './tolerances.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Compares .json files. */
export function jsonComparator(): FileComparator {
  return {
    name: 'json',
    handles: (relPath) => /\.(json|geojson)$/i.test(relPath),
    compare: compareJsonFiles,
  };
}

async function compareJsonFiles(
  refPath: string,
  newPath: string,
  ctx: CompareContext,
): Promise<ComparatorOutcome> {
  const ref = await readJson(refPath, 'reference');
  if (!ref.ok) return ref;
  const neu = await readJson(newPath, 'new');
  if (!neu.ok) return neu;
  return { ok: true, details: compareJsonValues(ref.value, neu.value, ctx) };
}

async function readJson(
  file: string,
  side: string,
): Promise<{ ok: true; value: Json } | { ok: false; error: string }> {
  try {
    return { ok: true, value: parseJsonWithNonFinite(await readFile(file, 'utf8')) };
  } catch (error) {
    return { ok: false, error: `${side} ${file}: ${(error as Error).message}` };
  }
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

/**
 * JSON as Python's `json` writes it: bare `NaN`, `Infinity` and `-Infinity` are numbers there (gammapy's
 * summaries hold NaN). They are read as those numbers; everything else is standard JSON.
 */
export function parseJsonWithNonFinite(text: string): Json {
  const marker = '\uE000pipe-non-finite:'; // a private-use character: no real string starts so
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== 'N' && c !== 'I' && c !== '-') continue;
    const token = /^(-?Infinity|NaN)\b/.exec(text.slice(i, i + 9))?.[1];
    if (token) {
      out += `${text.slice(last, i)}"${marker}${token}"`;
      i += token.length - 1;
      last = i + 1;
    }
  }
  if (last === 0) return JSON.parse(text) as Json;
  return JSON.parse(out + text.slice(last), (_key, value) =>
    typeof value === 'string' && value.startsWith(marker) ? NON_FINITE[value.slice(marker.length)] : value,
  ) as Json;
}

/** Accumulates the leaves under one top-level key. */
interface Section {
  refNumbers: number[];
  newNumbers: number[];
  paths: string[];
  /** Numbers compared exactly (both integers, exact_integers on). */
  exact: boolean[];
  changes: ValueChange[];
  structural: boolean;
}

/** Compares two parsed JSON documents (exported for callers that hold JSON in memory). */
export function compareJsonValues(ref: Json, neu: Json, ctx: CompareContext): DiffDetail[] {
  const sections = new Map<string, Section>();
  const section = (key: string): Section => {
    let s = sections.get(key);
    if (!s) {
      s = { refNumbers: [], newNumbers: [], paths: [], exact: [], changes: [], structural: false };
      sections.set(key, s);
    }
    return s;
  };
  const exactIntegers = (key: string | undefined) =>
    ctx.rule.tolerance(key === undefined ? {} : { key }).exactIntegers;

  const walk = (a: Json | undefined, b: Json | undefined, at: string, top: string, s: Section): void => {
    // JavaScript writes NaN as null, Python as NaN: the same missing value.
    if (a === null && Number.isNaN(b)) a = Number.NaN;
    if (b === null && Number.isNaN(a)) b = Number.NaN;
    if (typeof a === 'number' && typeof b === 'number') {
      s.refNumbers.push(a);
      s.newNumbers.push(b);
      s.paths.push(at);
      s.exact.push(Number.isInteger(a) && Number.isInteger(b) && exactIntegers(top === '' ? undefined : top));
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b)))
        s.changes.push({ item: at, ref: String(a), new: String(b) });
      return;
    }
    const ka = kindOf(a);
    const kb = kindOf(b);
    if (ka !== kb) {
      s.structural = true;
      s.changes.push(change(at, a, b));
      return;
    }
    if (ka === 'array') {
      const xa = a as Json[];
      const xb = b as Json[];
      for (let i = 0; i < Math.max(xa.length, xb.length); i++) walk(xa[i], xb[i], `${at}[${i}]`, top, s);
      return;
    }
    if (ka === 'object') {
      const oa = a as Record<string, Json>;
      const ob = b as Record<string, Json>;
      for (const k of unionKeys(oa, ob)) walk(oa[k], ob[k], at === '' ? k : `${at}.${k}`, top, s);
      return;
    }
    if (a !== b) {
      s.structural = true;
      s.changes.push(change(at, a, b));
    }
  };

  if (kindOf(ref) === 'object' && kindOf(neu) === 'object') {
    const oa = ref as Record<string, Json>;
    const ob = neu as Record<string, Json>;
    for (const k of unionKeys(oa, ob)) walk(oa[k], ob[k], k, k, section(k));
  } else {
    walk(ref, neu, '', '', section(''));
  }
  return [...sections.entries()].map(([key, s]) => sectionDetail(key, s, ctx));
}

function sectionDetail(key: string, s: Section, ctx: CompareContext): DiffDetail {
  const t = ctx.rule.tolerance(key === '' ? {} : { key });
  const n = s.refNumbers.length;
  // Exact leaves get a zero tolerance: compare them in two passes and merge.
  const loose = compareArrays(
    s.refNumbers.map((v, i) => (s.exact[i] ? 0 : v)),
    s.newNumbers.map((v, i) => (s.exact[i] ? 0 : v)),
    t,
  );
  const strict = compareArrays(
    s.refNumbers.map((v, i) => (s.exact[i] ? v : 0)),
    s.newNumbers.map((v, i) => (s.exact[i] ? v : 0)),
    { rtol: 0, atol: 0 },
  );
  const worstOf = loose.maxAbsDiff >= strict.maxAbsDiff ? loose : strict;
  const numericStatus: DetailStatus =
    loose.status === 'different' || strict.status === 'different'
      ? 'different'
      : loose.status === 'identical' && strict.status === 'identical'
        ? 'identical'
        : 'within-tolerance';
  const status: DetailStatus = s.structural ? 'different' : numericStatus;
  const detail: DiffDetail = { item: key === '' ? 'document' : `key ${key}`, kind: 'json', status };
  if (n > 0) {
    detail.elements = n;
    detail.differing = loose.differing + strict.differing;
    detail.nanMismatch = 0;
    detail.maxAbsDiff = Math.max(loose.maxAbsDiff, strict.maxAbsDiff);
    detail.maxRelDiff = Math.max(loose.maxRelDiff, strict.maxRelDiff);
    if (worstOf.worstIndex >= 0) detail.where = s.paths[worstOf.worstIndex] || '(root)';
    detail.tolerance = toleranceUsed(t, s.exact.every(Boolean));
  }
  if (s.changes.length > 0) Object.assign(detail, limitChanges(s.changes, ctx.maxChanges));
  return detail;
}

function kindOf(v: Json | undefined): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function unionKeys(a: Record<string, Json>, b: Record<string, Json>): string[] {
  const keys = Object.keys(a);
  for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) keys.push(k);
  return keys;
}

function change(item: string, a: Json | undefined, b: Json | undefined): ValueChange {
  const c: ValueChange = { item: item || '(root)' };
  if (a !== undefined) c.ref = preview(a);
  if (b !== undefined) c.new = preview(b);
  return c;
}

function preview(v: Json): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Why a task runs or is restored: one union of typed reasons, computed by comparing the task's
 * fingerprint record with the one of its last build, and rendered exhaustively.
 */
import { canonicalJson } from '../fingerprint/canonical.js';
import type { FingerprintRecord } from '../fingerprint/record.js';

export type Reason =
  /** The task's target was never built here (or no record of it is left): a first build. */
  | { type: 'no-previous-build' }
  /**
   * A fan-out task with no record of its own, whose target has records of other items: an item new since the target
   * was last built (a file added to its glob, an entry to its list, an item its upstream now emits). `path`: a glob
   * item's file, as keys write it; `from`: the target that emits the items (`foreach: {items: from}`).
   */
  | {
      type: 'new-item';
      target: string;
      item: string;
      foreach: 'glob' | 'list' | 'items';
      path?: string;
      from?: string;
    }
  /** No successful build of the task is recorded, and its last run failed (in `build`, which ended `at`). */
  | { type: 'last-run-failed'; build: string; at?: string; error?: string }
  /**
   * No successful build is recorded, and its last run was cancelled (its build `interrupted`, or another task failed);
   * `started: false`: the build stopped before it started the task, or skipped it (`skipped`: why).
   */
  | {
      type: 'last-run-stopped';
      build: string;
      at?: string;
      interrupted: boolean;
      started?: false;
      skipped?: string;
    }
  | { type: 'forced' }
  | { type: 'input-changed'; input: string; path: string; old: string | null; new: string | null }
  | { type: 'input-order-changed'; input: string }
  | { type: 'output-path-changed'; output: string; old: string | null; new: string | null }
  | { type: 'param-changed'; key: string; old: unknown; new: unknown }
  | { type: 'code-changed'; what: 'step' | 'kernel'; name: string; old: string | null; new: string | null }
  | { type: 'step-version-changed'; name: string; old: string; new: string }
  | { type: 'command-changed'; old: string[] | null; new: string[] | null }
  | { type: 'env-changed'; name: string }
  /** `key`: the dotted path within the item (e.g. `data.livetime`) when only parts of it changed. */
  | { type: 'item-changed'; key?: string; old: unknown; new: unknown }
  | { type: 'format-changed'; old: number; new: number }
  | { type: 'output-missing'; output: string; path: string }
  | { type: 'output-modified'; output: string; path: string }
  | { type: 'cache-corrupt'; detail: string }
  /** The entry's bytes were on a remote cache that became unreachable during the build. */
  | { type: 'cache-unavailable'; detail: string }
  /** The key differs but the last build's fingerprint record is no longer known (so no finer reason). */
  | { type: 'key-changed'; old: string; new: string };

/** Leaf paths (dotted) where two JSON values differ; arrays compare as wholes. */
function diffParams(prefix: string, a: unknown, b: unknown, out: Reason[]): void {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diffParams(prefix ? `${prefix}.${k}` : k, a[k], b[k], out);
    }
    return;
  }
  if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) {
    out.push({ type: 'param-changed', key: prefix, old: a ?? null, new: b ?? null });
  }
}

/** Every difference between the last build's record and the new one, as reasons (sorted, stable). */
export function diffRecords(old: FingerprintRecord, now: FingerprintRecord): Reason[] {
  const out: Reason[] = [];
  if (old.v !== now.v) return [{ type: 'format-changed', old: old.v, new: now.v }];
  if (old.step.name !== now.step.name || old.step.code !== now.step.code) {
    out.push({
      type: 'code-changed',
      what: 'step',
      name: now.step.name,
      old: old.step.code || null,
      new: now.step.code || null,
    });
  }
  if (old.step.version !== now.step.version) {
    out.push({
      type: 'step-version-changed',
      name: now.step.name,
      old: old.step.version,
      new: now.step.version,
    });
  }
  if (canonicalJson(old.argv ?? null) !== canonicalJson(now.argv ?? null)) {
    out.push({ type: 'command-changed', old: old.argv ?? null, new: now.argv ?? null });
  }
  // A kernel's identity as one readable token: source hash, and compiler/backend when they are part of it.
  const kernelId = (k: FingerprintRecord['kernels'][number]) =>
    [k.sourceHash.slice(0, 12), k.compiler, k.backend].filter((x) => x !== undefined && x !== '').join(' ');
  const oldKernels = new Map(old.kernels.map((k) => [k.name, kernelId(k)]));
  const newKernels = new Map(now.kernels.map((k) => [k.name, kernelId(k)]));
  for (const name of [...new Set([...oldKernels.keys(), ...newKernels.keys()])].sort()) {
    if (oldKernels.get(name) !== newKernels.get(name)) {
      out.push({
        type: 'code-changed',
        what: 'kernel',
        name,
        old: oldKernels.get(name) ?? null,
        new: newKernels.get(name) ?? null,
      });
    }
  }
  diffParams('', old.params, now.params, out);
  for (const name of [...new Set([...Object.keys(old.env), ...Object.keys(now.env)])].sort()) {
    if ((old.env[name] ?? null) !== (now.env[name] ?? null)) out.push({ type: 'env-changed', name });
  }
  if (canonicalJson(old.item ?? null) !== canonicalJson(now.item ?? null)) {
    // The item's changed leaves, not the whole item twice (a run's record has dozens of fields).
    if (old.item && now.item) {
      const leaves: Reason[] = [];
      diffParams('', old.item, now.item, leaves);
      for (const l of leaves)
        if (l.type === 'param-changed')
          out.push({ type: 'item-changed', key: l.key, old: l.old, new: l.new });
    } else out.push({ type: 'item-changed', old: old.item ?? null, new: now.item ?? null });
  }
  for (const output of [...new Set([...Object.keys(old.outputs), ...Object.keys(now.outputs)])].sort()) {
    const o = old.outputs[output] ?? null;
    const n = now.outputs[output] ?? null;
    if (o !== n) out.push({ type: 'output-path-changed', output, old: o, new: n });
  }
  for (const input of [...new Set([...Object.keys(old.inputs), ...Object.keys(now.inputs)])].sort()) {
    const before = new Map(old.inputs[input] ?? []);
    const after = new Map(now.inputs[input] ?? []);
    let changed = false;
    for (const p of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const o = before.get(p) ?? null;
      const n = after.get(p) ?? null;
      if (o !== n) {
        out.push({ type: 'input-changed', input, path: p, old: o, new: n });
        changed = true;
      }
    }
    const order = (files: Array<[string, string]> | undefined) => (files ?? []).map(([p]) => p).join('\0');
    if (!changed && order(old.inputs[input]) !== order(now.inputs[input]))
      out.push({ type: 'input-order-changed', input });
  }
  return out;
}

function short(v: unknown): string {
  if (typeof v === 'string')
    return v.length >= 16 && /^[0-9a-f]+$/.test(v) ? v.slice(0, 12) : JSON.stringify(v);
  return canonicalJson(v ?? null);
}

/** A command change said whole up to this length; past it, only the arguments that changed. */
const COMMAND_SHOWN = 160;
/** Characters shown either side of the first difference within a long argument. */
const ARG_CONTEXT = 30;

/**
 * Old → new argv, whole when short; else the arguments that differ, each around its first changed character (a
 * one-word edit of a 300-character `sh -c` script was said as both scripts in full, on every task's line).
 */
function commandChange(old: string[] | null, now: string[] | null): string {
  const whole = `${short(old)} → ${short(now)}`;
  if (whole.length <= COMMAND_SHOWN || !old || !now) return whole;
  const changed: number[] = [];
  for (let i = 0; i < Math.max(old.length, now.length); i++) if (old[i] !== now[i]) changed.push(i);
  const parts = changed.slice(0, 3).map((i) => {
    const [a, b] = clipAtDifference(old[i], now[i]);
    return `argument ${i + 1} ${a} → ${b}`;
  });
  if (changed.length > 3) parts.push(`and ${changed.length - 3} more arguments`);
  return parts.join('; ');
}

function clipAtDifference(a: string | undefined, b: string | undefined): [string, string] {
  if (a === undefined || b === undefined)
    return [a === undefined ? '∅' : JSON.stringify(a), b === undefined ? '∅' : JSON.stringify(b)];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const from = Math.max(0, start - ARG_CONTEXT);
  const clip = (t: string, end: number) => {
    const to = Math.min(t.length, end + ARG_CONTEXT);
    return `${from > 0 ? '…' : ''}${JSON.stringify(t.slice(from, to))}${to < t.length ? '…' : ''}`;
  };
  return [clip(a, endA), clip(b, endB)];
}

/** One line per reason, for `pipe plan` and `pipe why`. */
export function renderReason(r: Reason): string {
  switch (r.type) {
    case 'no-previous-build':
      return 'no previous build';
    case 'new-item':
      if (r.foreach === 'glob') return `new item: ${r.path ?? r.item} added to the foreach of '${r.target}'`;
      if (r.foreach === 'list') return `new item: '${r.item}' added to the foreach list of '${r.target}'`;
      return `new item: '${r.item}' added to the foreach of '${r.target}' (emitted by '${r.from}')`;
    case 'last-run-failed': {
      const when = r.at ? ` at ${r.at.slice(0, 19).replace('T', ' ')} UTC` : '';
      return `its last run failed (build ${r.build}${when}${r.error ? `: ${r.error}` : ''})`;
    }
    case 'last-run-stopped': {
      const when = r.at ? ` at ${r.at.slice(0, 19).replace('T', ' ')} UTC` : '';
      const why = r.skipped ?? (r.interrupted ? 'the build was interrupted' : 'another task failed');
      // Skipped behind an upstream task that failed: with -k the build went on, and did not stop before it.
      if (r.started === false)
        return `not started: its last build ${r.skipped ? 'skipped it' : 'stopped before it'} (build ${r.build}${when}: ${why})`;
      return `its last run was stopped before it finished (build ${r.build}${when}: ${why})`;
    }
    case 'forced':
      return 'forced (--force)';
    case 'input-changed':
      if (r.old === null) return `input added: ${r.path} (${r.input})`;
      if (r.new === null) return `input removed: ${r.path} (${r.input})`;
      return `input changed: ${r.path} ${short(r.old)} → ${short(r.new)}`;
    case 'output-path-changed':
      if (r.old === null) return `output added: ${r.new} (${r.output})`;
      if (r.new === null) return `output removed: ${r.old} (${r.output})`;
      return `output path changed: ${r.output} ${r.old} → ${r.new}`;
    case 'input-order-changed':
      return `input order changed: ${r.input} (its files reach the step in another order)`;
    case 'param-changed':
      return `param changed: ${r.key} ${short(r.old)} → ${short(r.new)}`;
    case 'code-changed':
      if (r.what === 'kernel') return `kernel changed: ${r.name} ${r.old ?? '∅'} → ${r.new ?? '∅'}`;
      return `${r.what} code changed: ${r.name} ${r.old ? short(r.old) : '∅'} → ${r.new ? short(r.new) : '∅'}`;
    case 'step-version-changed':
      return `step version changed: ${r.name} ${r.old} → ${r.new}`;
    case 'command-changed':
      return `command changed: ${commandChange(r.old, r.new)}`;
    case 'env-changed':
      return `environment variable changed: ${r.name}`;
    case 'item-changed':
      return r.key === undefined
        ? `item changed: ${short(r.old)} → ${short(r.new)}`
        : `item changed: ${r.key} ${short(r.old)} → ${short(r.new)}`;
    case 'format-changed':
      return `fingerprint format changed: v${r.old} → v${r.new}`;
    case 'output-missing':
      return `output missing: ${r.path}`;
    case 'output-modified':
      return `output modified in the workspace: ${r.path}`;
    case 'cache-corrupt':
      return `cache entry corrupt: ${r.detail}`;
    case 'cache-unavailable':
      return `cache entry out of reach: ${r.detail}`;
    case 'key-changed':
      return `key changed: ${r.old.slice(0, 12)} → ${r.new.slice(0, 12)} (the last build's record is not known)`;
  }
}

/**
 * A reason as one line for many tasks alike in it (the entries `pipe plan` and `pipe status` make of a fan-out's
 * tasks): what differs from task to task is left out (which item is new), so that 500 files added to a glob are one
 * entry, not 500.
 */
export function renderAlikeReason(r: Reason): string {
  if (r.type !== 'new-item') return renderReason(r);
  if (r.foreach === 'glob') return `new items: files added to the foreach of '${r.target}'`;
  if (r.foreach === 'list') return `new items: added to the foreach list of '${r.target}'`;
  return `new items: added to the foreach of '${r.target}' (emitted by '${r.from}')`;
}

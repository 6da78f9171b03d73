/**
 * The quick up-to-date check: a digest over everything a task's key depends on, computed from what a
 * no-op build has at hand anyway — the step and target identity, params, item, declared env, the
 * memoised hashes of raw inputs (a stat each; a file is only read when its stamp changed) and the
 * content hashes of upstream outputs — without building the fingerprint record or hashing it.
 *
 * A task record keeps the digest of its last build (`check`). When the digest is unchanged, the key is
 * unchanged: every part of the record is a function of the digested values. The converse need not hold
 * (the digest also covers absolute paths and declaration order), so a different digest only means "take
 * the full path", which computes the key and compares it as before.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '../fingerprint/canonical.js';
import { envDigest, FINGERPRINT_VERSION, type StepIdentity } from '../fingerprint/record.js';
import type { Target, Task } from '../model/types.js';
import type { PlanIO } from './decide.js';
import type { UpstreamOutputs } from './known-outputs.js';

export interface CheckContext {
  io: PlanIO;
  upstream: UpstreamOutputs;
  step: StepIdentity;
  target: Target;
}

/** The identity of a target's step as it enters every key (computed once per step and target). */
const identities = new WeakMap<StepIdentity, WeakMap<Target, string>>();

function targetIdentity(step: StepIdentity, target: Target): string {
  let byTarget = identities.get(step);
  if (!byTarget) identities.set(step, (byTarget = new WeakMap()));
  let id = byTarget.get(target);
  if (id === undefined) {
    id = canonicalJson({
      v: FINGERPRINT_VERSION,
      step: { name: step.name, version: step.version, code: step.code },
      kernels: step.kernels,
      argv: target.command ?? null,
    });
    byTarget.set(target, id);
  }
  return id;
}

/** The task's check digest, or undefined when a raw input or an upstream output is not known (take the full path). */
export function taskCheck(task: Task, ctx: CheckContext): string | undefined {
  // One string, hashed once: a no-op build computes this for every task.
  let s = targetIdentity(ctx.step, ctx.target);
  for (const name of ctx.target.env) s += `\0env ${name}=${envDigest(ctx.io.env(name))}`;
  s += `\0params ${isEmpty(task.params) ? '{}' : canonicalJson(task.params)}`;
  if (task.item)
    s += `\0item ${task.item.data === undefined ? JSON.stringify(task.item.id) : canonicalJson({ id: task.item.id, data: task.item.data })}`;
  for (const name in task.outputs) s += `\0output ${name}=${task.outputs[name]}`;
  const itemFiles = task.item?.files;
  const seen = itemFiles && itemFiles.length > 0 ? new Set<string>() : undefined;
  for (const name in task.inputs) {
    s += `\0input ${name}`;
    for (const f of task.inputs[name]!) {
      seen?.add(f.path);
      if (f.producer) {
        s += `\0${f.path}`; // its bytes: among the upstream outputs below
        continue;
      }
      const hash = ctx.io.inputHash(f.path);
      if (hash === undefined) return undefined;
      s += `\0${f.path}=${hash}`;
    }
  }
  for (const f of itemFiles ?? []) {
    if (seen!.has(f)) continue;
    const hash = ctx.io.inputHash(f);
    if (hash === undefined) return undefined;
    s += `\0item-file ${f}=${hash}`;
  }
  for (const dep of task.deps) {
    const outs = ctx.upstream.get(dep);
    if (!outs) return undefined;
    for (const name in outs) s += `\0dep ${outs[name]!.path}=${outs[name]!.sha256}`;
  }
  return hash('sha256', s, 'base64url');
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * A target whose shape is invalid is reported and never built, but its other problems (an unknown target it reads,
 * a glob that matches nothing, two targets writing one path) are still worth reporting in the same run: the user
 * fixes everything at once. `salvageTarget` reads such a target as its diagnostics' hints suggest — a misspelt key
 * as the one key it is close to, an invalid value of a key nothing else depends on dropped — and gives up
 * (undefined) otherwise.
 */
import { closestNames } from '../graph/closest-names.js';
import { type TargetDoc, TargetSchema } from './schema.js';

/** Keys whose value no other part of a target refers to: dropping an invalid one cannot cause another error. */
const INDEPENDENT_KEYS = new Set(['description', 'resources', 'env', 'executor', 'with', 'needs']);

export interface Salvaged {
  doc: TargetDoc;
  /** Each misspelt key read as the key it is close to: the key the doc has → the key written in the file. */
  renamed: Map<string, string>;
}

export function salvageTarget(value: unknown): Salvaged | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const doc: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const renamed = new Map<string, string>();
  const known = Object.keys(TargetSchema.shape);
  const first = TargetSchema.safeParse(doc);
  if (first.success) return { doc: first.data, renamed };
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
      for (const key of issue.keys) {
        // Only a key with one meaning: renaming a key that could mean several would guess what the target needs.
        const meant = closestNames(key, known);
        if (meant.length !== 1 || meant[0]! in doc) return undefined;
        doc[meant[0]!] = doc[key];
        delete doc[key];
        renamed.set(meant[0]!, key);
      }
      continue;
    }
    const top = issue.path[0];
    if (typeof top === 'string' && INDEPENDENT_KEYS.has(top)) delete doc[top];
    else return undefined;
  }
  const again = TargetSchema.safeParse(doc);
  return again.success ? { doc: again.data, renamed } : undefined;
}

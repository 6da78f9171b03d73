/** `{item}` in parameter values of foreach tasks. */

/** A copy of `value` with `{item}` replaced by `id` in every string (objects and arrays copied, the rest kept). */
export function substituteItem(value: unknown, id: string): unknown {
  if (typeof value === 'string') return value.replaceAll('{item}', id);
  if (Array.isArray(value)) return value.map((v) => substituteItem(v, id));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteItem(v, id);
    return out;
  }
  return value;
}

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

/** Whether params hold `{item}` somewhere: then each item's task gets its own substituted copy. */
export function paramsHoldItem(params: Record<string, unknown>): boolean {
  return JSON.stringify(params).includes('{item}');
}

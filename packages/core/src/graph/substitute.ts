/** `{item}` in parameter values of foreach tasks. */

/**
 * A copy of `value` with `{item}` replaced by the item in every string (objects and arrays copied, the rest kept): a
 * string that is exactly `{item}` becomes the item's value (a listed number or boolean stays one, for a step that
 * validates a typed param), and inside a longer string (`"{item} deg"`) `{item}` is the id's text.
 */
export function substituteItem(value: unknown, id: string, item: unknown = id): unknown {
  if (typeof value === 'string') return value === '{item}' ? item : value.replaceAll('{item}', id);
  if (Array.isArray(value)) return value.map((v) => substituteItem(v, id, item));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteItem(v, id, item);
    return out;
  }
  return value;
}

/** Whether params hold `{item}` somewhere: then each item's task gets its own substituted copy. */
export function paramsHoldItem(params: Record<string, unknown>): boolean {
  return JSON.stringify(params).includes('{item}');
}

/** Whether the params' value at `path` (or the nearest value above it that exists) holds `{item}`. */
export function holdsItemAt(params: Record<string, unknown>, path: ReadonlyArray<string | number>): boolean {
  let value: unknown = params;
  for (const key of path) {
    if (value === null || typeof value !== 'object') break;
    const next = (value as Record<string, unknown>)[String(key)];
    if (next === undefined) break;
    value = next;
  }
  return JSON.stringify(value ?? null).includes('{item}');
}

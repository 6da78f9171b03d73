/**
 * `fn` over `items`, at most `n` at a time (in batches of `n`), results in the order of `items`: how the engine bounds
 * lookups and stores that a remote tier turns into round trips (a task's blobs, a plan's departed tasks).
 */
export async function inBatches<T, R>(
  items: readonly T[],
  n: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += n)
    results.push(...(await Promise.all(items.slice(i, i + n).map((item, k) => fn(item, i + k)))));
  return results;
}

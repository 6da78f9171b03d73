/**
 * A fan-out's tasks that read alike (same target, state and reasons) as one entry in `pipe plan` and `pipe status`: a
 * build of 5,000 files would otherwise list the same lines 5,000 times. `-a` lists each.
 */

/** Tasks that read alike are one entry when there are more than this many. */
const GROUP_OVER = 5;

/**
 * Each id of a group larger than GROUP_OVER, with its group's members in `ids` order (the first prints the entry,
 * the others are skipped). `keyOf` undefined: the id is never grouped.
 */
export function alikeGroups(
  ids: Iterable<string>,
  keyOf: (id: string) => string | undefined,
): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const id of ids) {
    const key = keyOf(id);
    if (key === undefined) continue;
    const members = byKey.get(key);
    if (members) members.push(id);
    else byKey.set(key, [id]);
  }
  const groupOf = new Map<string, string[]>();
  for (const members of byKey.values())
    if (members.length > GROUP_OVER) for (const id of members) groupOf.set(id, members);
  return groupOf;
}

/** `a, b, c and 97 more`: the first `shown` ids, the rest counted. */
export function someOf(ids: readonly string[], shown: number): string {
  return ids.length <= shown
    ? ids.join(', ')
    : `${ids.slice(0, shown).join(', ')} and ${ids.length - shown} more`;
}

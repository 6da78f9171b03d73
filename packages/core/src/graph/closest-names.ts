/** "Did you mean …": candidate names close to a misspelt one, by edit distance. */

/**
 * The candidates nearest to `name` by edit distance (optimal string alignment: insert, delete,
 * substitute, swap two neighbours), if within about a third of its length; only those at the best
 * distance, at most `limit`, sorted. A candidate that differs only in case always qualifies.
 */
export function closestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const lower = name.toLowerCase();
  // One-letter names would match every other one-letter name; allow edits from two letters up.
  const maxDistance = name.length < 2 ? 0 : Math.max(1, Math.floor(name.length / 3));
  const scored: Array<{ candidate: string; distance: number }> = [];
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance =
      candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase(), maxDistance);
    if (distance <= maxDistance) scored.push({ candidate, distance });
  }
  const best = Math.min(...scored.map((s) => s.distance));
  return scored
    .filter((s) => s.distance === best)
    .map((s) => s.candidate)
    .sort()
    .slice(0, limit);
}

/** A hint such as `did you mean 'outputs'?`, or undefined when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const close = closestNames(name, candidates);
  if (close.length === 0) return undefined;
  return `did you mean ${close.map((c) => `'${c}'`).join(' or ')}?`;
}

/**
 * The hint for a name that is no target: the close ones (`did you mean …`), else the targets there are (sorted, the
 * first ten and how many more).
 */
export function unknownTargetHint(name: string, targets: Iterable<string>): string {
  const names = [...targets];
  const close = didYouMean(name, names);
  if (close) return close;
  if (names.length === 0) return "the pipeline's targets: (none)";
  const sorted = names.sort();
  return `the pipeline's targets: ${
    sorted.length <= 10
      ? sorted.join(', ')
      : `${sorted.slice(0, 10).join(', ')}, and ${sorted.length - 10} more (pipe graph lists them)`
  }`;
}

/** Optimal string alignment distance; gives up (returns max + 1) once every cell of a row exceeds `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prevPrev[j - 2]! + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length]!;
}

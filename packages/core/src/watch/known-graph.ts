/**
 * The graph as far as the last builds know it: dynamic fan-outs expanded with the items their
 * source tasks recorded in the state file. What watch mode watches, and where the products are.
 */
import type { Session } from '../builds/session.js';
import type { Task, TaskGraph, TaskItem } from '../model/types.js';

/** Items recorded by the last builds for dynamic targets, expanded to a fixpoint: the graph as far as known. */
export function knownGraph(session: Session): TaskGraph {
  let graph = session.graph;
  for (let round = 0; round < 8 && graph.pending.length > 0; round++) {
    const items = new Map<string, TaskItem[]>();
    for (const name of graph.pending) {
      const foreach = session.pipeline.targets.get(name)?.foreach;
      if (foreach?.kind !== 'items') continue;
      const sources = [...graph.tasks.values()].filter((t) => t.target === foreach.target);
      const recorded = sources.map((t) => session.state.tasks.get(t.id)?.items);
      if (sources.length > 0 && recorded.every((r) => r !== undefined))
        items.set(foreach.target, recorded.flat() as TaskItem[]);
    }
    if (items.size === 0) break;
    const next = session.expand(items);
    if (next.tasks.size === graph.tasks.size) break;
    graph = next;
  }
  return graph;
}

/** Output files of the tasks of `targets`, sorted. */
export function productsOf(tasks: Iterable<Task>, targets: string[]): string[] {
  const wanted = new Set(targets);
  return [...tasks]
    .filter((t) => wanted.has(t.target))
    .flatMap((t) => Object.values(t.outputs))
    .sort();
}

/** Task graph renderings for `pipe graph`: Graphviz dot, Mermaid, and plain JSON. */
import type { TaskGraph } from '../model/types.js';

/** Graphviz: one node per task, an edge from each dependency; pending targets as dashed nodes. */
export function toDot(graph: TaskGraph): string {
  const lines = ['digraph pipe {', '  rankdir=LR;', '  node [shape=box];'];
  for (const task of graph.tasks.values()) lines.push(`  ${quote(task.id)};`);
  for (const name of graph.pending)
    lines.push(`  ${quote(name)} [style=dashed, label=${quote(`${name} (pending)`)}];`);
  for (const task of graph.tasks.values()) {
    for (const dep of task.deps) lines.push(`  ${quote(dep)} -> ${quote(task.id)};`);
  }
  for (const [from, to] of pendingEdges(graph)) lines.push(`  ${quote(from)} -> ${quote(to)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid flowchart; node ids are generated (task ids may contain characters Mermaid rejects). */
export function toMermaid(graph: TaskGraph): string {
  const ids = new Map<string, string>();
  const lines = ['flowchart LR'];
  for (const task of graph.tasks.values()) {
    const id = `t${ids.size}`;
    ids.set(task.id, id);
    lines.push(`  ${id}["${mermaidText(task.id)}"]`);
  }
  graph.pending.forEach((name, i) => {
    ids.set(name, `p${i}`);
    lines.push(`  p${i}["${mermaidText(name)} (pending)"]:::pending`);
  });
  for (const task of graph.tasks.values()) {
    for (const dep of task.deps) lines.push(`  ${ids.get(dep)} --> ${ids.get(task.id)}`);
  }
  for (const [from, to] of pendingEdges(graph)) lines.push(`  ${ids.get(from)} --> ${ids.get(to)}`);
  if (graph.pending.length > 0) lines.push('  classDef pending stroke-dasharray: 5 5');
  return `${lines.join('\n')}\n`;
}

/** A JSON-able copy: tasks as a list in graph order, pending targets (and what they read) and diagnostics. */
export function toJSON(graph: TaskGraph): {
  tasks: unknown[];
  pending: string[];
  pendingFrom?: Record<string, string[]>;
  diagnostics: unknown[];
} {
  return {
    tasks: [...graph.tasks.values()].map((t) => ({
      id: t.id,
      target: t.target,
      ...(t.item ? { item: t.item } : {}),
      deps: t.deps,
      inputs: t.inputs,
      outputs: t.outputs,
      params: t.params,
    })),
    pending: graph.pending,
    ...(graph.pendingFrom ? { pendingFrom: graph.pendingFrom } : {}),
    diagnostics: graph.diagnostics ?? [],
  };
}

/**
 * Edges into pending targets, whose tasks are not known yet: from each task of an upstream target, or from the
 * upstream's own node when it is pending too (split → square (pending) → total (pending)).
 */
function pendingEdges(graph: TaskGraph): Array<[string, string]> {
  const pending = new Set(graph.pending);
  const edges: Array<[string, string]> = [];
  for (const name of graph.pending)
    for (const up of graph.pendingFrom?.[name] ?? []) {
      if (pending.has(up)) edges.push([up, name]);
      else for (const task of graph.tasks.values()) if (task.target === up) edges.push([task.id, name]);
    }
  return edges;
}

function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function mermaidText(text: string): string {
  return text.replaceAll('"', '#quot;');
}

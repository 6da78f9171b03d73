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
    lines.push(`  p${i}["${mermaidText(name)} (pending)"]:::pending`);
  });
  for (const task of graph.tasks.values()) {
    for (const dep of task.deps) lines.push(`  ${ids.get(dep)} --> ${ids.get(task.id)}`);
  }
  if (graph.pending.length > 0) lines.push('  classDef pending stroke-dasharray: 5 5');
  return `${lines.join('\n')}\n`;
}

/** A JSON-able copy: tasks as a list in graph order, pending targets and diagnostics. */
export function toJSON(graph: TaskGraph): { tasks: unknown[]; pending: string[]; diagnostics: unknown[] } {
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
    diagnostics: graph.diagnostics ?? [],
  };
}

function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function mermaidText(text: string): string {
  return text.replaceAll('"', '#quot;');
}

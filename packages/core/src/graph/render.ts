/** Task graph renderings for `pipe graph`: Graphviz dot, Mermaid, and plain JSON. */
import type { Task, TaskGraph } from '../model/types.js';

/**
 * The graph of targets (as Snakemake's --rulegraph): one node per target, its tasks' count in its label when it
 * fans out, an edge from each target one of its tasks reads; what 5,000 tasks draw as 5,000 boxes.
 */
export function byTarget(graph: TaskGraph): { graph: TaskGraph; labels: Map<string, string> } {
  const tasks = new Map<string, Task>();
  const counts = new Map<string, number>();
  const fanned = new Set<string>();
  for (const task of graph.tasks.values()) {
    counts.set(task.target, (counts.get(task.target) ?? 0) + 1);
    if (task.item) fanned.add(task.target);
    let node = tasks.get(task.target);
    if (!node) {
      node = { id: task.target, target: task.target, deps: [], inputs: {}, outputs: {}, params: {} };
      tasks.set(task.target, node);
    }
    for (const dep of task.deps) {
      const up = graph.tasks.get(dep)?.target ?? dep;
      if (up !== task.target && !node.deps.includes(up)) node.deps.push(up);
    }
  }
  const labels = new Map<string, string>();
  for (const [name, n] of counts)
    if (fanned.has(name) || n > 1) labels.set(name, `${name} (${n} task${n === 1 ? '' : 's'})`);
  return {
    graph: { ...graph, tasks, ...(graph.diagnostics ? { diagnostics: graph.diagnostics } : {}) },
    labels,
  };
}

/**
 * Graphviz: one node per task, an edge from each dependency; pending targets as dashed nodes. `labels` names
 * nodes other than by their id (byTarget's counts).
 */
export function toDot(graph: TaskGraph, labels?: ReadonlyMap<string, string>): string {
  const lines = ['digraph pipe {', '  rankdir=LR;', '  node [shape=box];'];
  for (const task of graph.tasks.values()) {
    const label = labels?.get(task.id);
    lines.push(`  ${quote(task.id)}${label ? ` [label=${quote(label)}]` : ''};`);
  }
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
export function toMermaid(graph: TaskGraph, labels?: ReadonlyMap<string, string>): string {
  const ids = new Map<string, string>();
  const lines = ['flowchart LR'];
  for (const task of graph.tasks.values()) {
    const id = `t${ids.size}`;
    ids.set(task.id, id);
    lines.push(`  ${id}["${mermaidText(labels?.get(task.id) ?? task.id)}"]`);
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

/** byTarget's graph as JSON: each target with its tasks' count and the targets it reads. */
export function targetsToJSON(graph: TaskGraph): {
  targets: Array<{ name: string; tasks: number; deps: string[] }>;
  pending: string[];
  pendingFrom?: Record<string, string[]>;
  diagnostics: unknown[];
} {
  const { graph: collapsed } = byTarget(graph);
  const counts = new Map<string, number>();
  for (const task of graph.tasks.values()) counts.set(task.target, (counts.get(task.target) ?? 0) + 1);
  return {
    targets: [...collapsed.tasks.values()].map((t) => ({
      name: t.id,
      tasks: counts.get(t.id)!,
      deps: t.deps,
    })),
    pending: graph.pending,
    ...(graph.pendingFrom ? { pendingFrom: graph.pendingFrom } : {}),
    diagnostics: graph.diagnostics ?? [],
  };
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

/**
 * A label inside Mermaid's `["…"]`: the characters its parser or its HTML labels would read as markup as Mermaid's
 * entity codes (`#` first, so that a `#` of the text does not start one): an item `<b>` drew a bold b.
 */
function mermaidText(text: string): string {
  return text
    .replaceAll('#', '#35;')
    .replaceAll('"', '#quot;')
    .replaceAll('&', '#amp;')
    .replaceAll('<', '#lt;')
    .replaceAll('>', '#gt;');
}

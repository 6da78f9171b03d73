/** Cycles between targets (through inputs, needs and foreach items), reported with the whole path. */
import { type TargetEdge, targetEdges } from '../graph/edges.js';
import type { Diagnostic } from '../model/types.js';
import { makeDiagnostic } from './diagnostics.js';
import type { TargetDraft } from './targets.js';

/** One diagnostic per cycle found by depth-first search, at the edge that closes it. */
export function findCycles(drafts: Map<string, TargetDraft>): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const state = new Map<string, 'active' | 'done'>();
  const names = [...drafts.keys()].sort();
  for (const start of names) {
    if (state.has(start)) continue;
    // Iterative DFS: a stack of (target, its edges, next edge index), so deep chains cannot overflow.
    const stack: Array<{ name: string; edges: TargetEdge[]; next: number }> = [];
    const push = (name: string) => {
      state.set(name, 'active');
      const draft = drafts.get(name)!;
      stack.push({ name, edges: targetEdges(draft.target, draft.needSpans), next: 0 });
    };
    push(start);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const edge = frame.edges[frame.next++];
      if (!edge) {
        state.set(frame.name, 'done');
        stack.pop();
        continue;
      }
      if (!drafts.has(edge.to)) continue; // reported as unknown-target
      const seen = state.get(edge.to);
      if (seen === 'active') {
        const from = stack.findIndex((f) => f.name === edge.to);
        const cycle = [...stack.slice(from).map((f) => f.name), edge.to];
        diagnostics.push(
          makeDiagnostic({
            code: 'cycle',
            message: `dependency cycle: ${cycle.join(' -> ')}`,
            at: edge.span,
            hint:
              cycle.length === 2
                ? `'${edge.to}' cannot depend on itself`
                : 'remove one of the references along the cycle',
          }),
        );
      } else if (seen === undefined) {
        push(edge.to);
      }
    }
  }
  return diagnostics;
}

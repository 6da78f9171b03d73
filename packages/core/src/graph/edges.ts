/** Dependencies between targets: the one definition used for closure, ordering and cycle checks. */
import type { SourceSpan, Target } from '../model/types.js';

export interface TargetEdge {
  to: string;
  span?: SourceSpan;
}

/** The targets `target` depends on: its target inputs, its needs, and the source of its foreach items. */
export function targetEdges(target: Target, needSpans?: Map<string, SourceSpan | undefined>): TargetEdge[] {
  const edges: TargetEdge[] = [];
  for (const specs of Object.values(target.inputs)) {
    for (const spec of specs) if (spec.kind === 'target') edges.push(edge(spec.target, spec.span));
  }
  for (const need of target.needs) edges.push(edge(need, needSpans?.get(need)));
  if (target.foreach?.kind === 'items') edges.push(edge(target.foreach.target, target.foreach.span));
  return edges;
}

function edge(to: string, span: SourceSpan | undefined): TargetEdge {
  return span ? { to, span } : { to };
}

/** The requested targets, the targets built `with` them, and everything they depend on (cycles allowed). */
export function dependencyClosure(
  targets: ReadonlyMap<string, Target>,
  requested: readonly string[],
): Set<string> {
  const closure = new Set<string>();
  const stack = requested.filter((name) => targets.has(name));
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (closure.has(name)) continue;
    closure.add(name);
    const target = targets.get(name)!;
    for (const e of targetEdges(target)) if (targets.has(e.to) && !closure.has(e.to)) stack.push(e.to);
    for (const w of target.with) if (targets.has(w) && !closure.has(w)) stack.push(w);
  }
  return closure;
}

/**
 * The requested targets, the targets built `with` them, and everything they depend on, dependencies first
 * (`with` adds targets, not order). Ties are broken by name,
 * so the order does not depend on the order targets were declared or requested. Names that are not
 * targets are returned in `unknown`. The pipeline must be acyclic (loadPipeline guarantees it).
 */
export function dependencyOrder(
  targets: ReadonlyMap<string, Target>,
  requested: readonly string[],
): { order: string[]; unknown: string[] } {
  const unknown = requested.filter((name) => !targets.has(name));
  const closure = dependencyClosure(targets, requested);
  // Kahn's algorithm over the closure; the ready set is kept sorted.
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of closure) {
    const deps = new Set(
      targetEdges(targets.get(name)!)
        .map((e) => e.to)
        .filter((to) => closure.has(to)),
    );
    remaining.set(name, deps.size);
    for (const dep of deps) {
      const list = dependents.get(dep);
      if (list) list.push(name);
      else dependents.set(dep, [name]);
    }
  }
  const ready = [...closure].filter((name) => remaining.get(name) === 0).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    const released: string[] = [];
    for (const d of dependents.get(name) ?? []) {
      const left = remaining.get(d)! - 1;
      remaining.set(d, left);
      if (left === 0) released.push(d);
    }
    if (released.length > 0) {
      ready.push(...released);
      ready.sort();
    }
  }
  return { order, unknown };
}

/**
 * `--keep-going` over targets that cannot be built (`broken`: an input file missing): what make -k builds
 * instead. `buildable` is every target the requested ones need that needs no broken target, dependencies first
 * (requesting them builds exactly that); `skipped` are the needed targets that need one, and the requested names
 * among them.
 */
export function buildableWithout(
  targets: ReadonlyMap<string, Target>,
  requested: readonly string[],
  broken: ReadonlySet<string>,
): { buildable: string[]; skipped: string[] } {
  const { order } = dependencyOrder(targets, requested);
  const tainted = new Set<string>();
  for (const name of order)
    if (broken.has(name) || targetEdges(targets.get(name)!).some((e) => tainted.has(e.to))) tainted.add(name);
  return { buildable: order.filter((n) => !tainted.has(n)), skipped: order.filter((n) => tainted.has(n)) };
}

/**
 * The targets whose products a build of `requested` delivers: those, then (transitively) the targets built `with`
 * them (e.g. excess_map with the stacked maps it does not read): `--out`, watch and compare take their products as
 * the build's too. `needs:` is ordering only and delivers nothing.
 */
export function deliveredTargets(
  targets: ReadonlyMap<string, Pick<Target, 'with'>>,
  requested: readonly string[],
): string[] {
  const out = [...new Set(requested)];
  const seen = new Set(out);
  for (let i = 0; i < out.length; i++)
    for (const name of targets.get(out[i]!)?.with ?? [])
      if (!seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
  return out;
}

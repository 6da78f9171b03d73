/**
 * What each step type of gammapy's workflow makes and consumes (its products_names and required inputs), and how a
 * step's `products` and `required_products` (Products.select criteria: {name, step_name}, or a product name) are
 * resolved against the products of the steps before it.
 */
import { type ParamIssue, suggest } from './analysis-config.js';
import { typeName } from './quantity.js';

export type Section = 'observations' | 'datasets' | 'excess_map';

export interface StepKind {
  /** Products the step makes (gammapy's products_names). */
  makes: string[];
  /** Products it consumes: exactly one producer, or one or more. */
  consumes: Partial<Record<string, 'one' | 'many'>>;
  /** The config sections it reads (and that a step of this type may override). */
  sections: Section[];
}

/** Step types pipe runs, by gammapy's registry tag. */
export const WORKFLOW_STEP_TYPES: Record<string, StepKind> = {
  'data-selection': { makes: ['datasets'], consumes: {}, sections: ['observations', 'datasets'] },
  observations: { makes: ['observations'], consumes: {}, sections: ['observations'] },
  datasets: { makes: ['datasets'], consumes: { observations: 'one' }, sections: ['datasets'] },
  'excess-map': { makes: ['excess_map'], consumes: { datasets: 'many' }, sections: ['excess_map'] },
};
/** Tags gammapy's registry knows but pipe's excess-map pipeline does not run. */
export const NOT_RUN = ['fit', 'flux-points', 'light-curve'];

/** Where a step is: its path plus a key path inside it. */
export type StepPath = (...p: (string | number)[]) => (string | number)[];

/** The names of a step's products: `products` as written (a subset of what the type makes), or all it makes. */
export function readProducts(
  raw: unknown,
  kind: StepKind,
  type: string,
  at: (string | number)[],
  issues: ParamIssue[],
): string[] {
  if (raw === undefined || raw === null) return kind.makes;
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.push(issue(at, `products is a non-empty list of product names, got ${typeName(raw)}`));
    return kind.makes;
  }
  raw.forEach((p, i) => {
    if (typeof p !== 'string' || !kind.makes.includes(p))
      issues.push(
        issue(
          [...at, i],
          `${article(type)} '${type}' step makes ${kind.makes.join(', ')}, not ${JSON.stringify(p)}`,
        ),
      );
  });
  return raw.filter((p): p is string => typeof p === 'string');
}

/** Resolve required_products against the products of earlier steps (default: all those the type consumes). */
export function readRequirements(
  raw: unknown,
  kind: StepKind,
  type: string,
  name: string,
  earlier: ReadonlyArray<{ name: string; products: string[] }>,
  at: StepPath,
  issues: ParamIssue[],
  refused: ReadonlySet<string> = new Set(),
): Record<string, string[]> {
  const consumed = Object.keys(kind.consumes);
  const inputs: Record<string, string[]> = Object.fromEntries(consumed.map((p) => [p, []]));
  const add = (product: string, step: string) => {
    if (!inputs[product]!.includes(step)) inputs[product]!.push(step);
  };
  if (raw === undefined || raw === null) {
    for (const s of earlier) for (const p of s.products) if (p in inputs) add(p, s.name);
  } else if (!Array.isArray(raw)) {
    issues.push(issue(at('required_products'), `required_products is a list, got ${typeName(raw)}`));
  } else {
    raw.forEach((req, i) => {
      const where = at('required_products', i);
      const sel = typeof req === 'string' ? { name: req } : (req as Record<string, unknown>);
      if (typeof sel !== 'object' || sel === null || Array.isArray(sel)) {
        issues.push(issue(where, `a required product is a name or {name, step_name}, got ${typeName(req)}`));
        return;
      }
      for (const k of Object.keys(sel))
        if (k !== 'name' && k !== 'step_name')
          issues.push(issue([...where, k], `unknown key '${k}'`, suggest(k, ['name', 'step_name'])));
      const wanted = sel['name'] as string | undefined;
      const from = sel['step_name'] as string | undefined;
      if (wanted !== undefined && !consumed.includes(wanted)) {
        issues.push(
          issue(
            [...where, ...(typeof req === 'string' ? [] : ['name'])],
            `${article(type)} '${type}' step consumes ${consumed.join(', ') || 'no product'}, not '${wanted}'`,
          ),
        );
        return;
      }
      if (from !== undefined && !earlier.some((s) => s.name === from)) {
        if (refused.has(from)) return; // an earlier step, refused where it is written
        const later = from === name ? 'itself' : `'${from}', which is not an earlier step`;
        issues.push(
          issue(
            [...where, 'step_name'],
            `step '${name}' requires products of ${later}`,
            suggest(
              from,
              earlier.map((s) => s.name),
            ) ?? 'steps consume products of the steps listed before them',
          ),
        );
        return;
      }
      const matches = earlier.flatMap((s) =>
        s.products
          .filter(
            (p) =>
              (wanted === undefined || p === wanted) &&
              (from === undefined || s.name === from) &&
              p in inputs,
          )
          .map((p) => [p, s.name] as const),
      );
      if (matches.length === 0)
        issues.push(
          issue(
            where,
            `no earlier step makes ${wanted ?? consumed.join(' or ')}${from ? ` in step '${from}'` : ''}`,
          ),
        );
      for (const [p, s] of matches) add(p, s);
    });
  }
  for (const [product, count] of Object.entries(kind.consumes)) {
    const producers = inputs[product]!;
    if (producers.length === 0 && !issues.some((x) => x.path[1] === at()[1]))
      issues.push(
        issue(
          at(raw === undefined ? 'type' : 'required_products'),
          `${article(type)} '${type}' step needs ${product}, but no earlier step makes them`,
          `add a step that makes ${product} before '${name}'`,
        ),
      );
    if (count === 'one' && producers.length > 1)
      issues.push(
        issue(
          at('required_products'),
          `${article(type)} '${type}' step reads ${product} of one step, got ${producers.join(', ')}`,
          `select one with {name: ${product}, step_name: ...}`,
        ),
      );
  }
  return inputs;
}

/** 'a' or 'an' before a step type. */
export function article(word: string): string {
  return /^[aeio]/.test(word) ? 'an' : 'a';
}

/** A ParamIssue at a key path. */
export function issue(path: (string | number)[], message: string, hint?: string): ParamIssue {
  return hint ? { path, message, hint } : { path, message };
}

/**
 * gammapy's multi-step workflow config (gammapy.workflow, WorkflowConfig + WORKFLOW_STEP_REGISTRY): the
 * analysis sections (observations, datasets, excess_map, ...) shared by every step, and `steps:`, a list of
 * named steps. Each step has a `type` (a registry tag: data-selection, observations, datasets, excess-map),
 * the `products` it makes, the `required_products` it consumes (gammapy's Products.select criteria:
 * `{name, step_name}`, or a product name), and overrides of the shared sections, deep-merged over them
 * (gammapy's WorkflowConfig.update). Steps consume products of earlier steps only, so the graph is acyclic.
 *
 * `readWorkflowConfig` validates the whole file; every issue has the key path of the value to fix (in the
 * step that overrides it, else in the shared section), which the engine maps to file:line:col.
 */
import {
  checkAnalysisKeys,
  isPlainMap,
  type ParamIssue,
  readAnalysisConfig,
  suggest,
} from './analysis-config.js';
import { typeName } from './quantity.js';
import {
  article,
  issue,
  NOT_RUN,
  readProducts,
  readRequirements,
  type Section,
  WORKFLOW_STEP_TYPES,
} from './workflow-products.js';

export { WORKFLOW_STEP_TYPES } from './workflow-products.js';

const SHARED_KEYS = [
  'general',
  'observations',
  'datasets',
  'fit',
  'flux_points',
  'excess_map',
  'light_curve',
];
const STEP_KEYS = ['name', 'type', 'products', 'required_products', 'overwrite'];
const ALL_SECTIONS = [
  'observations',
  'datasets',
  'excess_map',
  'fit',
  'flux_points',
  'light_curve',
  'general',
];
/** Step names become target names (`name`, `name.observations`): no dots. */
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A validated step. */
export interface WorkflowStep {
  /** Index in the list of steps. */
  index: number;
  /** Where the step is written: ['steps', i], or ['general', 'steps', i] for gammapy's list of tags. */
  path: (string | number)[];
  name: string;
  type: string;
  products: string[];
  /** Consumed product name → the steps that make it, in the order required_products selects them. */
  inputs: Record<string, string[]>;
}

/** A workflow config: named steps (`steps:`), or gammapy's `general.steps`, a list of step types run in order. */
export function isWorkflowConfig(raw: unknown): boolean {
  if (!isPlainMap(raw)) return false;
  return 'steps' in raw || (isPlainMap(raw['general']) && raw['general']['steps'] !== undefined);
}

/** The steps as written, and where: `steps:` entries, or `general.steps` tags as `{type}` entries. */
function stepList(
  top: Record<string, unknown>,
  issues: ParamIssue[],
): { list: unknown; base: (string | number)[] } {
  const general = isPlainMap(top['general']) ? top['general'] : {};
  const tags = general['steps'];
  if (general['overwrite'] !== undefined) {
    const ok =
      Array.isArray(general['overwrite']) && general['overwrite'].every((v) => typeof v === 'boolean');
    if (!ok)
      issues.push(issue(['general', 'overwrite'], 'general.overwrite is a list of true/false, one per step'));
  }
  if (tags === undefined) return { list: top['steps'], base: ['steps'] };
  if ('steps' in top) {
    issues.push(
      issue(
        ['general', 'steps'],
        'steps are given twice: as general.steps and as steps',
        'keep one (steps: names them)',
      ),
    );
    return { list: top['steps'], base: ['steps'] };
  }
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    issues.push(issue(['general', 'steps'], `general.steps is a list of step types, got ${typeName(tags)}`));
    return { list: [], base: ['general', 'steps'] };
  }
  return { list: tags.map((type) => ({ type })), base: ['general', 'steps'] };
}

/** Validate a workflow config; steps are returned when there is no issue. */
export function readWorkflowConfig(raw: unknown): { steps: WorkflowStep[]; issues: ParamIssue[] } {
  const issues: ParamIssue[] = [];
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (key !== 'steps' && key !== 'metadata' && !SHARED_KEYS.includes(key))
      issues.push(issue([key], `unknown key '${key}'`, suggest(key, [...SHARED_KEYS, 'steps'])));
  }
  const shared = Object.fromEntries(Object.entries(top).filter(([k]) => SHARED_KEYS.includes(k)));
  if (isPlainMap(shared['general'])) {
    // gammapy's workflow GeneralConfig adds steps and overwrite to the analysis config's general section.
    const { steps: _steps, overwrite: _overwrite, ...general } = shared['general'];
    shared['general'] = general;
  }
  for (const i of checkAnalysisKeys(shared)) issues.push(i);
  const { list, base } = stepList(top, issues);
  if (!Array.isArray(list) || list.length === 0) {
    issues.push(issue(base, `steps must be a non-empty list of steps, got ${typeName(list)}`));
    return { steps: [], issues };
  }
  const steps: WorkflowStep[] = [];
  const names = new Map<string, number>();
  // Steps refused for their type (reported there): a later step's required_products naming one is not told again
  // that no such earlier step exists.
  const refused = new Set<string>();
  list.forEach((entry, index) => {
    // A tag of general.steps is the step's type itself.
    const tags = base[0] === 'general';
    const at = (...p: (string | number)[]) => [...base, index, ...(tags && p[0] === 'type' ? p.slice(1) : p)];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      issues.push(issue(at(), `a step is a mapping with a type, got ${typeName(entry)}`));
      return;
    }
    const e = entry as Record<string, unknown>;
    const type = e['type'];
    const known = Object.keys(WORKFLOW_STEP_TYPES);
    if (typeof type !== 'string') {
      if (typeof e['name'] === 'string') refused.add(e['name']);
      issues.push(issue(at('type'), 'every step needs a type', `one of: ${known.join(', ')}`));
      return;
    }
    const kind = WORKFLOW_STEP_TYPES[type];
    if (!kind && typeof e['name'] === 'string') refused.add(e['name']);
    if (!kind) {
      issues.push(
        NOT_RUN.includes(type)
          ? issue(
              at('type'),
              `pipe's excess-map pipeline does not run '${type}' steps`,
              `it runs: ${known.join(', ')}`,
            )
          : issue(at('type'), `unknown step type '${type}'`, suggest(type, [...known, ...NOT_RUN])),
      );
      return;
    }
    for (const key of Object.keys(e)) {
      if (STEP_KEYS.includes(key) || (kind.sections as string[]).includes(key)) continue;
      issues.push(
        ALL_SECTIONS.includes(key)
          ? issue(
              at(key),
              `${article(type)} '${type}' step does not read the '${key}' section`,
              `it reads: ${kind.sections.join(', ')}`,
            )
          : issue(at(key), `unknown key '${key}' in a step`, suggest(key, [...STEP_KEYS, ...kind.sections])),
      );
    }
    const name = e['name'] ?? type.replaceAll('-', '_');
    if (typeof name !== 'string' || !STEP_NAME.test(name)) {
      issues.push(
        issue(at('name'), `invalid step name ${JSON.stringify(name)}`, 'use letters, digits, _ and -'),
      );
      return;
    }
    const first = names.get(name);
    if (first !== undefined) {
      issues.push(
        issue(
          e['name'] === undefined ? at() : at('name'),
          `two steps are named '${name}' (steps ${first} and ${index})`,
          'give each step its own name',
        ),
      );
      return;
    }
    names.set(name, index);
    if (e['overwrite'] !== undefined && typeof e['overwrite'] !== 'boolean')
      issues.push(issue(at('overwrite'), `overwrite is true or false, got ${typeName(e['overwrite'])}`));
    const products = readProducts(e['products'], kind, type, at('products'), issues);
    const inputs = readRequirements(e['required_products'], kind, type, name, steps, at, issues, refused);
    validateSections(shared, e, kind.sections, at, issues);
    steps.push({ index, path: at(), name, type, products, inputs });
  });
  if (issues.length === 0) checkStackable(shared, list as Record<string, unknown>[], steps, issues);
  return { steps, issues: dedupe(issues) };
}

/** Each section a step reads, merged over the shared one, as gammapy would validate it; issues at the written value. */
function validateSections(
  shared: Record<string, unknown>,
  entry: Record<string, unknown>,
  sections: Section[],
  at: (...p: (string | number)[]) => (string | number)[],
  issues: ParamIssue[],
): void {
  const merged: Record<string, unknown> = {};
  for (const s of sections) merged[s] = deepMerge(shared[s], entry[s]) ?? {};
  // The 3D checks of the datasets section need a map centre; a step that does not read it gets a placeholder.
  if (!sections.includes('datasets'))
    merged['datasets'] = {
      type: '3d',
      geom: { wcs: { skydir: { frame: 'icrs', lon: '0 deg', lat: '0 deg' } } },
    };
  for (const i of readAnalysisConfig(merged).issues) {
    if (!(sections as string[]).includes(String(i.path[0]))) continue;
    const inStep = hasPath(entry, i.path) || (!hasPath(shared, i.path) && hasPath(entry, i.path.slice(0, 1)));
    const fromShared = !inStep && hasPath(shared, i.path.slice(0, 1));
    issues.push({ ...i, path: fromShared ? i.path : at(...i.path) });
  }
}

/** The datasets feeding one excess map are stacked: they must share one map geometry. */
function checkStackable(
  shared: Record<string, unknown>,
  entries: Record<string, unknown>[],
  steps: WorkflowStep[],
  issues: ParamIssue[],
): void {
  const byName = new Map(steps.map((s) => [s.name, s]));
  for (const s of steps) {
    const feeding = (s.inputs['datasets'] ?? []).map((n) => byName.get(n)!);
    if (feeding.length < 2) continue;
    const geometry = (d: WorkflowStep) => {
      const ds = deepMerge(shared['datasets'], entries[d.index]!['datasets']) ?? {};
      const { config } = readAnalysisConfig({ datasets: ds });
      return JSON.stringify([config.datasets.type, config.datasets.geom]);
    };
    for (const d of feeding) {
      const ds = deepMerge(shared['datasets'], entries[d.index]!['datasets']);
      if (readAnalysisConfig({ datasets: ds ?? {} }).config.datasets.stack !== false) continue;
      const own = hasPath(entries[d.index], ['datasets', 'stack']);
      issues.push(
        issue(
          own ? [...d.path, 'datasets', 'stack'] : ['datasets', 'stack'],
          `step '${s.name}' makes one excess map of the datasets of ${feeding.length} steps, but those of '${d.name}' are not stacked (stack: false); gammapy refuses several datasets ("Datasets must be stacked to compute the excess map")`,
          'set stack: true',
        ),
      );
    }
    const reference = geometry(feeding[0]!);
    for (const d of feeding.slice(1)) {
      if (geometry(d) === reference) continue;
      const own = hasPath(entries[d.index], ['datasets', 'geom']);
      issues.push(
        issue(
          own ? [...d.path, 'datasets', 'geom'] : d.path,
          `the datasets of step '${d.name}' are stacked with those of '${feeding[0]!.name}' for '${s.name}', but their map geometry differs`,
          'steps feeding one excess map use the same datasets.type and datasets.geom',
        ),
      );
    }
  }
}

/** gammapy's deep_update: maps merge key by key, anything else replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainMap(base) || !isPlainMap(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

export function hasPath(value: unknown, path: readonly (string | number)[]): boolean {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(String(key) in node)) return false;
    node = (node as Record<string, unknown>)[String(key)];
  }
  return true;
}

function dedupe(issues: ParamIssue[]): ParamIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = JSON.stringify([i.path, i.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Step param validation at load time: each target's step module is imported and its
 * `validateParams` run; issues are mapped back to where each value was written (the pipeline file,
 * the config file for ${config...} values, or the --param override that set it).
 */
import { stepErrorPlace } from '../execute/step-error.js';
import { closestNames, didYouMean } from '../graph/closest-names.js';
import { holdsItemAt, paramsHoldItem, substituteItem } from '../graph/substitute.js';
import type { ParamIssue, StepDefinition } from '../model/step.js';
import type { Diagnostic, ListItem } from '../model/types.js';
import type { StepRegistry } from '../steps/registry.js';
import { makeDiagnostic } from './diagnostics.js';
import { originOf } from './params.js';
import type { TargetDraft } from './targets.js';

/** Validate params of every target with a step module; on success the normalised params replace the raw ones. */
export async function validateStepParams(
  drafts: Iterable<TargetDraft>,
  registry: StepRegistry,
): Promise<Diagnostic[]> {
  const toldKeys = new Set<string>(); // modules whose unknown keys were reported (once, at the first target using it)
  const jobs = [...drafts]
    .filter((d) => d.target.stepModule !== undefined)
    .map(async (draft): Promise<Diagnostic[]> => {
      const { target } = draft;
      let step: Awaited<ReturnType<StepRegistry['load']>>;
      try {
        step = await registry.load(target.stepModule!);
      } catch (error) {
        return [
          makeDiagnostic({
            code: 'step-load-failed',
            message: `step '${target.step}' of target '${target.name}': ${(error as Error).message}`,
            at: draft.stepSpan,
            ...(/\.(m?ts|tsx)$/.test(target.stepModule!)
              ? { hint: 'node runs JavaScript: compile the step to .js (tsc), or write it as an .mjs module' }
              : /Cannot use import statement|require is not defined in ES module/.test(
                    (error as Error).message,
                  )
                ? { hint: 'name the module .mjs, or set "type": "module" in the package.json beside it' }
                : {}),
          }),
        ];
      }
      const firstUse = !toldKeys.has(target.stepModule!);
      toldKeys.add(target.stepModule!);
      const outputIssues = [
        ...(firstUse ? unknownStepKeys(draft, step) : []),
        ...checkOutputNames(draft, step.outputs),
        ...(await checkKernelNames(draft, step.kernels)),
      ];
      if (!step.validateParams) return outputIssues;
      const validate = step.validateParams.bind(step);
      const listed =
        target.foreach?.kind === 'list' && paramsHoldItem(target.params) ? target.foreach.items : undefined;
      if (listed && listed.length > 0) return [...validateEachItem(draft, listed, validate), ...outputIssues];
      let result: ReturnType<typeof validate>;
      try {
        result = validate(target.params);
      } catch (error) {
        return [threwDiagnostic(draft, error)];
      }
      if (result.ok) {
        target.params = result.value as Record<string, unknown>;
        return outputIssues;
      }
      return result.issues.map((issue) => issueDiagnostic(draft, issue)).concat(outputIssues);
    });
  return (await Promise.all(jobs)).flat();
}

type Validate = NonNullable<StepDefinition['validateParams']>;

/**
 * A target fanning out over a list with `{item}` in its params: each item's params are validated as its task gets
 * them (a listed number as a number), and kept on the item. An issue every item has (a param without `{item}`) is
 * reported once, where the value was written; one of some items, or of a single item's value, at each such item in the
 * foreach list (the param's place as related), so a bad value of a sweep is pointed at where it is listed.
 */
function validateEachItem(draft: TargetDraft, items: readonly ListItem[], validate: Validate): Diagnostic[] {
  const { target } = draft;
  const template = target.params;
  const failed = new Map<string, { issue: ParamIssue; items: ListItem[] }>();
  for (const item of items) {
    let result: ReturnType<Validate>;
    try {
      result = validate(substituteItem(template, item.id, item.value));
    } catch (error) {
      return [threwDiagnostic(draft, error, item)];
    }
    if (result.ok) {
      item.params = result.value as Record<string, unknown>;
      continue;
    }
    for (const issue of result.issues) {
      const key = JSON.stringify([issue.path, issue.message, issue.hint ?? null]);
      const seen = failed.get(key);
      if (seen) seen.items.push(item);
      else failed.set(key, { issue, items: [item] });
    }
  }
  const out: Diagnostic[] = [];
  for (const { issue, items: having } of failed.values()) {
    const everyItem =
      having.length === items.length && (items.length > 1 || !holdsItemAt(template, issue.path));
    if (everyItem) out.push(issueDiagnostic(draft, issue));
    else for (const item of having) out.push(issueDiagnostic(draft, issue, item));
  }
  return out;
}

/** A step's param issue at the place its value was written; for one foreach item, at that item in the list. */
function issueDiagnostic(draft: TargetDraft, issue: ParamIssue, item?: ListItem): Diagnostic {
  const { target } = draft;
  const origin = originOf(draft.paramOrigins, issue.path);
  const name = issue.path.join('.');
  const override = origin && 'override' in origin ? ` (value from ${origin.override})` : '';
  // A value given with --param has no place in a file (the message names the override); pointing at the
  // target sent the user to a pipeline file they did not write (pipelines/excess_map/pipe.yaml).
  const written = origin && 'span' in origin ? origin.span : override ? undefined : target.span;
  const forItem = item ? ` for foreach item '${item.id}'` : '';
  return makeDiagnostic({
    code: 'invalid-param',
    message: `${name ? `param '${name}'` : 'params'} of target '${target.name}' (step '${target.step}')${forItem}: ${issue.message}${override}`,
    at: item?.span ?? written,
    hint: issue.hint,
    ...(item?.span && written
      ? { related: [{ message: `${name ? `param '${name}'` : 'params'} written here`, span: written }] }
      : {}),
  });
}

function threwDiagnostic(draft: TargetDraft, error: unknown, item?: ListItem): Diagnostic {
  const { target } = draft;
  return makeDiagnostic({
    code: 'step-load-failed',
    message: `step '${target.step}' threw while validating params of target '${target.name}'${item ? ` for foreach item '${item.id}'` : ''}: ${(error as Error).message}${placeOf(error, target.stepModule!)}`,
    at: item?.span ?? draft.stepSpan,
  });
}

/** ` (at /ws/steps/x.mjs:4:10)`: where a user's step module threw, or ''. */
function placeOf(error: unknown, module: string): string {
  const place = stepErrorPlace(error, module);
  return place ? ` (at ${place})` : '';
}

/**
 * The kernels a step declares (StepDefinition.kernels) against those @pipe/kernels has: a misspelt name would key its
 * tasks by a kernel that does not exist (the whole reference folder's hash), and leave the kernel it calls out of the key.
 */
async function checkKernelNames(
  draft: TargetDraft,
  kernels: StepDefinition['kernels'],
): Promise<Diagnostic[]> {
  if (!kernels || kernels.length === 0) return [];
  const seam = (await import('@pipe/kernels/seam')) as unknown as {
    isKnownKernel(name: string): boolean;
    knownKernelNames(): string[];
  };
  const known = seam.knownKernelNames();
  return kernels
    .filter((name) => !seam.isKnownKernel(name))
    .map((name) =>
      makeDiagnostic({
        code: 'unknown-kernel',
        message: `step '${draft.target.step}' of target '${draft.target.name}' declares the kernel '${name}', which @pipe/kernels does not have`,
        at: draft.stepSpan,
        hint: didYouMean(name, known) ?? `its kernels: ${known.join(', ')}`,
      }),
    );
}

/**
 * What a step definition may have (model/step.ts StepDefinition): pipe reads these, and only these. Written as a
 * record of StepDefinition's keys, so that a key added there (or removed) fails to compile here until listed.
 */
const STEP_KEYS = Object.keys({
  name: true,
  version: true,
  run: true,
  validateParams: true,
  outputs: true,
  kernels: true,
  warm: true,
} satisfies Record<keyof StepDefinition, true>);

/**
 * A warning for each key of a step module's default export that pipe does not read: `params: {r: {type: 'number'}}`
 * or `validate(p)` looked like validation and checked nothing (a string reached `run` for a number).
 */
function unknownStepKeys(draft: TargetDraft, step: StepDefinition): Diagnostic[] {
  const { target } = draft;
  return Object.keys(step)
    .filter((key) => !STEP_KEYS.includes(key))
    .map((key) =>
      makeDiagnostic({
        code: 'unknown-step-key',
        severity: 'warning',
        message: `the step module of target '${target.name}' exports '${key}' in its step, which pipe does not read: a step has ${STEP_KEYS.map((k) => `'${k}'`).join(', ')}`,
        at: draft.stepSpan,
        hint:
          didYouMean(key, STEP_KEYS) ??
          (/param|schema|valid/i.test(key)
            ? "to check a target's params, write validateParams(p) (docs/steps.md)"
            : undefined),
      }),
    );
}

/** The target's outputs against the names its step writes (StepDefinition.outputs): unknown ones, missing required ones. */
function checkOutputNames(draft: TargetDraft, outputs: StepDefinition['outputs']): Diagnostic[] {
  if (!outputs) return [];
  const { target } = draft;
  const known = [...outputs.required, ...(outputs.optional ?? [])];
  const out: Diagnostic[] = [];
  // A required output misspelt is reported once, at the misspelling (which suggests it).
  const suggested = new Set<string>();
  for (const name of Object.keys(target.outputs)) {
    if (known.includes(name)) continue;
    for (const close of closestNames(name, known)) suggested.add(close);
    const listed = known.length <= 12 ? `: it writes ${known.map((k) => `'${k}'`).join(', ')}` : '';
    out.push(
      makeDiagnostic({
        code: 'unknown-output',
        message: `output '${name}' of target '${target.name}': step '${target.step}' writes no output of that name${listed}`,
        at: draft.outputSpans.get(name) ?? target.span,
        hint:
          didYouMean(name, known) ??
          (/^\d+$/.test(name) ? 'name the outputs: outputs: {name: path}' : undefined),
      }),
    );
  }
  const missing = outputs.required.filter((name) => !(name in target.outputs) && !suggested.has(name));
  if (missing.length > 0)
    out.push(
      makeDiagnostic({
        code: 'missing-output',
        message: `target '${target.name}' does not declare the output${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} that step '${target.step}' writes`,
        at: draft.outputSpans.values().next().value ?? target.span,
        hint: `declare it under outputs: (${missing[0]}: <path>)`,
      }),
    );
  return out;
}

/**
 * The tolerance configuration of `pipe compare` (YAML or JSON):
 *
 *     default: {rtol: 1.0e-6, atol: 0}
 *     products:
 *       '**\/*.fits.gz': {rtol: 1.0e-5, ignore_header_keys: [META]}
 *       counts.fits.gz: {exact_integers: true, hdus: {PRIMARY: {rtol: 0}}}
 *       summary.json: {keys: {stats: {atol: 1.0e-9}}}
 *
 * Every product rule whose glob matches a product applies, in file order, later ones overriding the
 * fields they set (as .gitattributes does); a glob without '/' matches the file name at any depth.
 * `hdus` refines a FITS product per HDU (by EXTNAME, case-insensitive, or index), `keys` a JSON
 * product per top-level key. Integer data is compared exactly unless `exact_integers: false`.
 * Header keys listed in `ignore_header_keys` (with '*' wildcards) add to the volatile ones ignored always.
 */
import picomatch from 'picomatch';
import { z } from 'zod';
import { makeDiagnostic } from '../config/diagnostics.js';
import { nodeAt, validateShape } from '../config/schema-issues.js';
import { parseSource, readSource, spanOf } from '../config/source.js';
import type { Diagnostic } from '../model/types.js';
import type { ToleranceUsed } from './report.js';

/** Header keys that change on every write and never mean a different product. */
export const VOLATILE_HEADER_KEYS: readonly string[] = ['DATE', 'CREATOR', 'CHECKSUM', 'DATASUM'];

/** The default when no config is given: rtol 1e-6, atol 0 for floats, integers exact. */
export const DEFAULT_TOLERANCE = { rtol: 1e-6, atol: 0, exact_integers: true } as const;

const Tol = z.number().min(0).refine(Number.isFinite, 'must be a finite number');

const ToleranceSpecSchema = z.strictObject({
  rtol: Tol.optional(),
  atol: Tol.optional(),
  exact_integers: z.boolean().optional(),
});

const RuleSchema = z.strictObject({
  rtol: Tol.optional(),
  atol: Tol.optional(),
  exact_integers: z.boolean().optional(),
  ignore_header_keys: z.array(z.string().min(1)).optional(),
  /** Leave the product out (a reference's product the other side does not make, a file of another layout). */
  skip: z.boolean().optional(),
  hdus: z.record(z.string(), ToleranceSpecSchema).optional(),
  keys: z.record(z.string(), ToleranceSpecSchema).optional(),
});

const TolerancesSchema = z.strictObject({
  version: z.literal(1).optional(),
  default: RuleSchema.omit({ hdus: true, keys: true, skip: true }).optional(),
  products: z.record(z.string().min(1), RuleSchema).optional(),
});

export type ToleranceSpec = z.infer<typeof ToleranceSpecSchema>;
export type ProductRuleSpec = z.infer<typeof RuleSchema>;

/** A validated tolerance configuration. */
export interface ToleranceConfig {
  default: { rtol: number; atol: number; exact_integers: boolean; ignore_header_keys: string[] };
  /** Product rules in file order. */
  products: Array<{ glob: string; rule: ProductRuleSpec }>;
  /** The file it came from, for messages. */
  file?: string;
}

export type TolerancesResult =
  | { ok: true; config: ToleranceConfig }
  | { ok: false; diagnostics: Diagnostic[] };

/** The configuration used when none is given. */
export function defaultTolerances(): ToleranceConfig {
  return { default: { ...DEFAULT_TOLERANCE, ignore_header_keys: [] }, products: [] };
}

/** Parses and validates a tolerance configuration (YAML, or JSON which is YAML too). */
export function parseTolerances(text: string, file: string): TolerancesResult {
  const { source, diagnostics } = parseSource(file, text);
  if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics };
  const js = source.doc.toJS() ?? {};
  const shape = validateShape(source, TolerancesSchema, js);
  if (!shape.ok) return { ok: false, diagnostics: shape.diagnostics };
  const problems: Diagnostic[] = [];
  for (const glob of Object.keys(shape.value.products ?? {})) {
    try {
      picomatch(glob);
    } catch (error) {
      problems.push(
        makeDiagnostic({
          code: 'bad-glob',
          message: `products: '${glob}' is not a valid glob: ${(error as Error).message}`,
          at: spanOf(source, nodeAt(source, ['products'])),
        }),
      );
    }
  }
  if (problems.length > 0) return { ok: false, diagnostics: problems };
  const d = shape.value.default ?? {};
  return {
    ok: true,
    config: {
      default: {
        rtol: d.rtol ?? DEFAULT_TOLERANCE.rtol,
        atol: d.atol ?? DEFAULT_TOLERANCE.atol,
        exact_integers: d.exact_integers ?? DEFAULT_TOLERANCE.exact_integers,
        ignore_header_keys: d.ignore_header_keys ?? [],
      },
      products: Object.entries(shape.value.products ?? {}).map(([glob, rule]) => ({ glob, rule })),
      file,
    },
  };
}

/** Reads a tolerance file; a missing file is a diagnostic. */
export async function loadTolerances(file: string): Promise<TolerancesResult> {
  const read = await readSource(file);
  if (!read.source) return { ok: false, diagnostics: read.diagnostics };
  return parseTolerances(read.source.text, file);
}

/** A tolerance resolved for one part of one product. */
export interface ResolvedTolerance {
  rtol: number;
  atol: number;
  exactIntegers: boolean;
  from: string[];
}

/** Which part of a product a tolerance is for: an HDU (FITS) or a top-level key (JSON). */
export interface ProductPart {
  hdu?: { name: string; index: number };
  key?: string;
}

/** The rules that apply to one product. */
export interface ProductRule {
  /** Globs of the product rules that matched, in file order. */
  matched: string[];
  /** A matching rule says `skip: true` (the last one that says either way wins): not compared. */
  skipped: boolean;
  tolerance(part?: ProductPart): ResolvedTolerance;
  /** True for volatile keys and those the config lists (case-insensitive, '*' wildcards). */
  ignoresHeaderKey(key: string): boolean;
}

/** The rules of `config` for the product at `relPath` ('/'-separated). */
export function productRule(config: ToleranceConfig, relPath: string): ProductRule {
  const matching = config.products.filter(({ glob }) =>
    picomatch.isMatch(relPath, glob, { dot: true, basename: true }),
  );
  const ignore = [...VOLATILE_HEADER_KEYS, ...config.default.ignore_header_keys];
  for (const m of matching) ignore.push(...(m.rule.ignore_header_keys ?? []));
  const ignorePatterns = ignore.map(keyPattern);

  let skipped = false;
  for (const m of matching) if (m.rule.skip !== undefined) skipped = m.rule.skip;
  return {
    matched: matching.map((m) => m.glob),
    skipped,
    tolerance(part) {
      const t: ResolvedTolerance = {
        rtol: config.default.rtol,
        atol: config.default.atol,
        exactIntegers: config.default.exact_integers,
        from: ['default'],
      };
      for (const { glob, rule } of matching) {
        const label = `products['${glob}']`;
        apply(t, rule, label);
        if (part?.hdu && rule.hdus) {
          const { name, index } = part.hdu;
          for (const [k, spec] of Object.entries(rule.hdus)) {
            if (k.trim().toUpperCase() === name.trim().toUpperCase() || k === String(index))
              apply(t, spec, `${label}.hdus['${k}']`);
          }
        }
        if (part?.key !== undefined && rule.keys?.[part.key])
          apply(t, rule.keys[part.key] as ToleranceSpec, `${label}.keys['${part.key}']`);
      }
      return t;
    },
    ignoresHeaderKey(key) {
      const k = key.toUpperCase();
      return ignorePatterns.some((p) => p.test(k));
    },
  };
}

/** The tolerance record a report shows; `exact` when the data type asks for exact comparison. */
export function toleranceUsed(t: ResolvedTolerance, exact: boolean): ToleranceUsed {
  return exact
    ? { rtol: 0, atol: 0, exact: true, from: t.from }
    : { rtol: t.rtol, atol: t.atol, exact: false, from: t.from };
}

function apply(t: ResolvedTolerance, spec: ToleranceSpec, label: string): void {
  let used = false;
  if (spec.rtol !== undefined) {
    t.rtol = spec.rtol;
    used = true;
  }
  if (spec.atol !== undefined) {
    t.atol = spec.atol;
    used = true;
  }
  if (spec.exact_integers !== undefined) {
    t.exactIntegers = spec.exact_integers;
    used = true;
  }
  if (used) t.from.push(label);
}

function keyPattern(key: string): RegExp {
  const body = key
    .trim()
    .toUpperCase()
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

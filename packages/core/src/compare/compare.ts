/**
 * The comparison engine: pairs two product sets by relative path, recognises identical products by
 * SHA-256 (without reading them when the caller knows the hashes), and hands the others to the first
 * comparator that handles them (the caller's, then JSON, then text or bytes).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { hashProduct } from '../fingerprint/file-hash.js';
import {
  type ComparatorOutcome,
  type CompareContext,
  diffImageName,
  type FileComparator,
} from './comparator.js';
import { jsonComparator } from './json-comparator.js';
import { listProductDir, type ProductEntry, type ProductPair, pairProducts } from './product-sets.js';
import { type CompareReport, makeReport, type ProductComparison, worstStatus } from './report.js';
import { bytesComparator, looksLikeText, textComparator } from './text-comparator.js';
import { defaultTolerances, productRule, type ToleranceConfig } from './tolerances.js';

export interface CompareOptions {
  /** Tolerances (default: rtol 1e-6, atol 0 for floats, integers exact). */
  tolerances?: ToleranceConfig;
  /** Where comparators write difference images; none are written without it. */
  diffDir?: string;
  /** Comparators tried before the built-in JSON, text and bytes comparators, in order (e.g. astro's FITS one). */
  comparators?: readonly FileComparator[];
  /** Names of the two sides in the report (default: the directories, or 'ref' and 'new'). */
  labels?: { ref?: string; new?: string };
  /** Named changes listed per detail (default 10). */
  maxChanges?: number;
  /** Called once per product as soon as it is compared (for progress output). */
  onProduct?: (product: ProductComparison) => void;
}

/** Compares two product sets given as lists (from directories, build records or cache manifests). */
export async function compareProductSets(
  ref: readonly ProductEntry[],
  neu: readonly ProductEntry[],
  options: CompareOptions = {},
): Promise<CompareReport> {
  const all = pairProducts(ref, neu);
  const rules = options.tolerances ?? defaultTolerances();
  const pairs = all.filter((p) => !productRule(rules, p.relPath).skipped);
  const skipped = all.filter((p) => productRule(rules, p.relPath).skipped).map((p) => p.relPath);
  if (options.diffDir)
    await removeOldDiffImages(
      options.diffDir,
      pairs.map((p) => p.relPath),
    );
  const products: ProductComparison[] = [];
  for (const pair of pairs) {
    const product = await compareProduct(pair, options);
    options.onProduct?.(product);
    products.push(product);
  }
  return makeReport({
    ref: options.labels?.ref ?? 'ref',
    new: options.labels?.new ?? 'new',
    products,
    diffDir: options.diffDir,
    skipped,
  });
}

export type CompareDirsResult =
  | { ok: true; report: CompareReport }
  | {
      ok: false;
      reason: 'not-a-directory' | 'unreadable';
      side: 'ref' | 'new';
      path: string;
      message: string;
    };

/** Compares the products under two directories (workspace product folders or `--out` directories). */
export async function compareProductDirs(
  refDir: string,
  newDir: string,
  options: CompareOptions & { ignore?: readonly string[] } = {},
): Promise<CompareDirsResult> {
  const listOptions = options.ignore ? { ignore: options.ignore } : {};
  const ref = await listProductDir(refDir, listOptions);
  if (!ref.ok) return { ...ref, side: 'ref' };
  const neu = await listProductDir(newDir, listOptions);
  if (!neu.ok) return { ...neu, side: 'new' };
  const labels = { ref: options.labels?.ref ?? refDir, new: options.labels?.new ?? newDir };
  return { ok: true, report: await compareProductSets(ref.entries, neu.entries, { ...options, labels }) };
}

async function compareProduct(pair: ProductPair, options: CompareOptions): Promise<ProductComparison> {
  const path = pair.relPath;
  if (!pair.new)
    return withHash({ path, status: 'missing-in-new', bytesIdentical: false, details: [] }, pair);
  if (!pair.ref)
    return withHash({ path, status: 'missing-in-ref', bytesIdentical: false, details: [] }, pair);

  let refSha: string;
  let newSha: string;
  try {
    refSha = pair.ref.sha256 ?? (await hashProduct(pair.ref.absPath)).sha256;
    newSha = pair.new.sha256 ?? (await hashProduct(pair.new.absPath)).sha256;
  } catch (error) {
    return {
      path,
      status: 'error',
      bytesIdentical: false,
      error: `cannot read: ${(error as Error).message}`,
      details: [],
    };
  }
  const base = { path, refSha256: refSha, newSha256: newSha };
  if (refSha === newSha) return { ...base, status: 'identical', bytesIdentical: true, details: [] };

  const comparator = await chooseComparator(
    pair.ref.absPath,
    pair.new.absPath,
    path,
    options.comparators ?? [],
  );
  const context: CompareContext = {
    relPath: path,
    rule: productRule(options.tolerances ?? defaultTolerances(), path),
    diffDir: options.diffDir,
    maxChanges: options.maxChanges ?? 10,
  };
  let outcome: ComparatorOutcome;
  try {
    outcome = await comparator.compare(pair.ref.absPath, pair.new.absPath, context);
  } catch (error) {
    // A comparator bug must not hide the other products' results: report it on this product.
    outcome = { ok: false, error: `comparator '${comparator.name}' failed: ${(error as Error).message}` };
  }
  if (!outcome.ok) {
    return {
      ...base,
      status: 'error',
      bytesIdentical: false,
      comparator: comparator.name,
      error: outcome.error,
      details: [],
    };
  }
  return {
    ...base,
    status: worstStatus(outcome.details.map((d) => d.status)),
    bytesIdentical: false,
    comparator: comparator.name,
    details: outcome.details,
  };
}

function withHash(p: ProductComparison, pair: ProductPair): ProductComparison {
  if (pair.ref?.sha256) p.refSha256 = pair.ref.sha256;
  if (pair.new?.sha256) p.newSha256 = pair.new.sha256;
  return p;
}

const JSON_COMPARATOR = jsonComparator();
const TEXT_COMPARATOR = textComparator();
const BYTES_COMPARATOR = bytesComparator();

async function chooseComparator(
  refPath: string,
  newPath: string,
  relPath: string,
  custom: readonly FileComparator[],
): Promise<FileComparator> {
  for (const c of [...custom, JSON_COMPARATOR]) if (c.handles(relPath)) return c;
  return (await looksLikeText(refPath)) && (await looksLikeText(newPath))
    ? TEXT_COMPARATOR
    : BYTES_COMPARATOR;
}

/**
 * The difference images an earlier compare wrote for these products into the same folder: a product identical now
 * would otherwise keep an image of an old difference beside the new report (found by helper-113). Only files named
 * as diffImageName names an image of one of them are removed.
 */
async function removeOldDiffImages(diffDir: string, paths: readonly string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(diffDir);
  } catch {
    return; // not made yet
  }
  const prefixes = paths.map((p) => diffImageName(p, '').slice(0, -'.png'.length));
  for (const name of names)
    if (name.endsWith('.png') && prefixes.some((prefix) => name.startsWith(prefix)))
      await rm(path.join(diffDir, name), { force: true });
}

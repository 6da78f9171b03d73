/**
 * Data comparison of two HDUs: images element by element, binary tables column by column (by name),
 * with the HDU's tolerance for floats and exact comparison for integers, flags and strings.
 */
import {
  type ArrayComparison,
  type CompareContext,
  compareArrays,
  type DiffDetail,
  EXACT,
  limitChanges,
  type ResolvedTolerance,
  toleranceUsed,
  type ValueChange,
} from '@pipe/core';
import type { BinTable, FitsColumn, FitsImage, NumericArray } from '../fits/index.js';
import { unitFactor } from '../irf/units.js';

/** True for integer typed arrays (compared exactly when the config says integers are exact). */
export function isIntegerArray(a: ArrayLike<unknown>): boolean {
  return !(a instanceof Float32Array || a instanceof Float64Array || Array.isArray(a));
}

/** Numbers of an array comparison as the fields of a detail. */
export function comparisonFields(
  c: ArrayComparison,
  tolerance: ResolvedTolerance,
  exact: boolean,
  where: (index: number) => string,
): Pick<
  DiffDetail,
  'status' | 'elements' | 'differing' | 'nanMismatch' | 'maxAbsDiff' | 'maxRelDiff' | 'where' | 'tolerance'
> {
  const out: ReturnType<typeof comparisonFields> = {
    status: c.status,
    elements: c.elements,
    differing: c.differing,
    nanMismatch: c.nanMismatch,
    maxAbsDiff: c.maxAbsDiff,
    maxRelDiff: c.maxRelDiff,
    tolerance: toleranceUsed(tolerance, exact),
  };
  if (c.worstIndex >= 0) out.where = where(c.worstIndex);
  return out;
}

/** '[x=12, y=40, plane=3]' for C-order flat index `i` of an image of C-order `shape`. */
export function formatPixel(i: number, shape: readonly number[]): string {
  const coords: string[] = [];
  let rest = i;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const n = shape[axis] as number;
    const fitsAxis = shape.length - 1 - axis; // 0 = NAXIS1 (x)
    const name =
      fitsAxis === 0 ? 'x' : fitsAxis === 1 ? 'y' : fitsAxis === 2 ? 'plane' : `axis${fitsAxis + 1}`;
    coords.push(`${name}=${rest % n}`);
    rest = Math.floor(rest / n);
  }
  return `[${coords.join(', ')}]`;
}

export interface ImageComparison {
  detail: DiffDetail;
  /** The element comparison, when the shapes matched. */
  comparison?: ArrayComparison;
}

/** Compares two images; a shape change is a structural difference. */
export function compareImages(
  ref: FitsImage,
  neu: FitsImage,
  item: string,
  tolerance: ResolvedTolerance,
): ImageComparison {
  if (ref.shape.join('x') !== neu.shape.join('x')) {
    return {
      detail: {
        item: `${item} data`,
        kind: 'structure',
        status: 'different',
        message: `shape ${ref.shape.join('×') || '(no data)'} → ${neu.shape.join('×') || '(no data)'}`,
      },
    };
  }
  const exact = isIntegerArray(ref.data) && isIntegerArray(neu.data) && tolerance.exactIntegers;
  const comparison = compareArrays(ref.data, neu.data, exact ? EXACT : tolerance);
  return {
    detail: {
      item: `${item} data`,
      kind: 'data',
      ...comparisonFields(comparison, tolerance, exact, (i) => formatPixel(i, ref.shape)),
    },
    comparison,
  };
}

/** Compares two binary tables: row count and column set, then each common column. */
export function compareTables(
  ref: BinTable,
  neu: BinTable,
  item: string,
  tolerance: ResolvedTolerance,
  ctx: CompareContext,
): DiffDetail[] {
  const details: DiffDetail[] = [];
  const refCols = ref.columnNames;
  const newCols = neu.columnNames;
  const missing = refCols.filter((c) => !neu.hasColumn(c));
  const added = newCols.filter((c) => !ref.hasColumn(c));
  if (missing.length || added.length) {
    const parts = [];
    if (missing.length) parts.push(`missing in new: ${missing.join(', ')}`);
    if (added.length) parts.push(`only in new: ${added.join(', ')}`);
    details.push({
      item: `${item} columns`,
      kind: 'structure',
      status: 'different',
      message: parts.join('; '),
    });
  }
  if (ref.rows !== neu.rows) {
    details.push({
      item: `${item} rows`,
      kind: 'structure',
      status: 'different',
      message: `${ref.rows} rows → ${neu.rows} (columns not compared)`,
    });
    return details;
  }
  for (const name of refCols.filter((c) => neu.hasColumn(c))) {
    details.push(
      compareColumns(ref.column(name), neu.column(name), `${item} column ${name}`, tolerance, ctx),
    );
  }
  return details;
}

function compareColumns(
  a: FitsColumn,
  b: FitsColumn,
  item: string,
  tolerance: ResolvedTolerance,
  ctx: CompareContext,
): DiffDetail {
  if (a.kind !== b.kind || a.repeat !== b.repeat) {
    return {
      item,
      kind: 'structure',
      status: 'different',
      message: `format ${a.info.tform} → ${b.info.tform}`,
    };
  }
  const at = (perRow: number) => (i: number) =>
    perRow === 1 ? `row ${i}` : `row ${Math.floor(i / perRow)}, element ${i % perRow}`;
  if (a.kind === 'string' && b.kind === 'string')
    return compareStrings(a.data, b.data, item, a.stringsPerRow, ctx);
  if (a.kind === 'varlen' && b.kind === 'varlen')
    return compareVarlen(a.cells, b.cells, item, tolerance, ctx);
  if (a.kind === 'varlen' || b.kind === 'varlen') throw new Error('unreachable: kinds are equal');
  const perRow = a.kind === 'complex' ? 2 * a.repeat : a.repeat;
  // An energy column in another unit (gammapy writes a map's energy bands in its config's unit, GeV or TeV; pipe in
  // TeV) is compared in the reference's unit, not as raw numbers a factor 1000 apart.
  const factor = a.kind === 'complex' ? undefined : energyUnitFactor(b.unit, a.unit);
  const [da, db] =
    factor === undefined || factor === 1
      ? [a.data, b.data]
      : [a.data, Float64Array.from(b.data as ArrayLike<number>, (v) => Number(v) * factor)];
  const exact =
    isIntegerArray(da as NumericArray) && isIntegerArray(db as NumericArray) && tolerance.exactIntegers;
  const c = compareArrays(da as NumericArray, db as NumericArray, exact ? EXACT : tolerance);
  return {
    item,
    kind: 'column',
    ...comparisonFields(c, tolerance, exact, at(Math.max(1, perRow))),
    ...(factor !== undefined && factor !== 1
      ? { message: `new in ${b.unit?.trim()}, compared in ${a.unit?.trim()} (×${factor})` }
      : {}),
  };
}

/**
 * The factor that takes a value in energy unit `from` to energy unit `to` (TUNIT strings, read as the IRF columns'
 * units are: irf/units.ts), or undefined when either is no energy unit (other units are compared as raw numbers, a
 * unit change showing in the header).
 */
export function energyUnitFactor(from: string | undefined, to: string | undefined): number | undefined {
  // An empty TUNIT is no unit, not the energy of a unitless column.
  if (!from?.trim() || !to?.trim()) return undefined;
  const f = unitFactor(from, 'energy');
  const t = unitFactor(to, 'energy');
  return f === undefined || t === undefined ? undefined : f / t;
}

function compareStrings(
  a: string[],
  b: string[],
  item: string,
  perRow: number,
  ctx: CompareContext,
): DiffDetail {
  const changes: ValueChange[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      const row = perRow === 1 ? `row ${i}` : `row ${Math.floor(i / perRow)}, element ${i % perRow}`;
      changes.push({ item: row, ref: a[i] as string, new: b[i] as string });
    }
  }
  const detail: DiffDetail = {
    item,
    kind: 'column',
    status: changes.length ? 'different' : 'identical',
    elements: a.length,
    differing: changes.length,
  };
  if (changes.length) {
    detail.where = (changes[0] as ValueChange).item;
    Object.assign(detail, limitChanges(changes, ctx.maxChanges));
  }
  return detail;
}

/** Variable-length cells: the lengths must match; numeric cells are compared as one flat array. */
function compareVarlen(
  a: (NumericArray | string)[],
  b: (NumericArray | string)[],
  item: string,
  tolerance: ResolvedTolerance,
  ctx: CompareContext,
): DiffDetail {
  const rowsOfLength = a.findIndex((cell, i) => cell.length !== (b[i] as NumericArray | string).length);
  if (rowsOfLength >= 0) {
    return {
      item,
      kind: 'structure',
      status: 'different',
      message: `cell length differs first in row ${rowsOfLength}`,
    };
  }
  if (a.some((c) => typeof c === 'string')) {
    return compareStrings(a.map(String), b.map(String), item, 1, ctx);
  }
  const flatA = a.flatMap((c) => Array.from(c as ArrayLike<number>, Number));
  const flatB = b.flatMap((c) => Array.from(c as ArrayLike<number>, Number));
  const rowOf: number[] = a.flatMap((c, row) => Array.from({ length: c.length }, () => row));
  const exact = a.every((c) => isIntegerArray(c as NumericArray)) && tolerance.exactIntegers;
  const c = compareArrays(flatA, flatB, exact ? EXACT : tolerance);
  return { item, kind: 'column', ...comparisonFields(c, tolerance, exact, (i) => `row ${rowOf[i]}`) };
}

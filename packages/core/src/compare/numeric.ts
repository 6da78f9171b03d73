/**
 * Element-wise comparison of two numeric arrays with a tolerance, numpy.isclose style:
 * |new − ref| ≤ atol + rtol·|ref|. NaN equals NaN; a NaN on one side only is always a difference
 * (a changed NaN pattern is a changed mask, whatever the tolerance).
 */
import type { DetailStatus } from './report.js';

/** A tolerance for numbers. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

export const EXACT: Tolerance = { rtol: 0, atol: 0 };

/** Arrays this module compares: any typed array (64-bit integers as bigint arrays) or a number list. */
export type NumberArray = ArrayLike<number> | BigInt64Array | BigUint64Array;

/** The outcome of comparing two arrays of the same length. */
export interface ArrayComparison {
  status: DetailStatus;
  elements: number;
  /** Elements outside the tolerance, NaN mismatches included. */
  differing: number;
  /** Elements where exactly one side is NaN. */
  nanMismatch: number;
  /** Over elements where neither side is NaN; 0 when all are equal. */
  maxAbsDiff: number;
  maxRelDiff: number;
  /** Index of the largest absolute difference (or of the first NaN mismatch when that is all), else -1. */
  worstIndex: number;
}

/** Compares `neu` with `ref` element by element (same length required: a shape mismatch is the caller's to report). */
export function compareArrays(ref: NumberArray, neu: NumberArray, tolerance: Tolerance): ArrayComparison {
  if (ref.length !== neu.length) {
    throw new RangeError(`compareArrays: lengths differ (${ref.length} vs ${neu.length})`);
  }
  if (isBigArray(ref) && isBigArray(neu)) return compareBigArrays(ref, neu, tolerance);
  const { rtol, atol } = tolerance;
  const n = ref.length;
  let unequal = 0;
  let differing = 0;
  let nanMismatch = 0;
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let firstNan = -1;
  for (let i = 0; i < n; i++) {
    const a = Number(ref[i]);
    const b = Number(neu[i]);
    if (a === b) continue;
    const aNaN = Number.isNaN(a);
    const bNaN = Number.isNaN(b);
    if (aNaN && bNaN) continue;
    unequal++;
    if (aNaN || bNaN) {
      nanMismatch++;
      differing++;
      if (firstNan < 0) firstNan = i;
      continue;
    }
    const d = Math.abs(b - a); // Infinity when an infinity differs
    const scale = Math.abs(a);
    const rel = scale === 0 ? Number.POSITIVE_INFINITY : d / scale;
    if (!(d <= atol + rtol * scale)) differing++;
    if (d > maxAbs || worst < 0) {
      maxAbs = d;
      worst = i;
    }
    if (rel > maxRel) maxRel = rel;
  }
  const status: DetailStatus =
    unequal === 0 ? 'identical' : differing === 0 ? 'within-tolerance' : 'different';
  return {
    status,
    elements: n,
    differing,
    nanMismatch,
    maxAbsDiff: maxAbs,
    maxRelDiff: maxRel,
    worstIndex: worst >= 0 ? worst : firstNan,
  };
}

function isBigArray(a: NumberArray): a is BigInt64Array | BigUint64Array {
  return a instanceof BigInt64Array || a instanceof BigUint64Array;
}

/** 64-bit integers: equality on the exact values, differences in float64 (exact below 2^53). */
function compareBigArrays(
  ref: BigInt64Array | BigUint64Array,
  neu: BigInt64Array | BigUint64Array,
  tolerance: Tolerance,
): ArrayComparison {
  let unequal = 0;
  let differing = 0;
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  for (let i = 0; i < ref.length; i++) {
    const a = ref[i] as bigint;
    const b = neu[i] as bigint;
    if (a === b) continue;
    unequal++;
    const d = Math.abs(Number(b - a));
    const scale = Math.abs(Number(a));
    const rel = scale === 0 ? Number.POSITIVE_INFINITY : d / scale;
    if (!(d <= tolerance.atol + tolerance.rtol * scale)) differing++;
    if (d > maxAbs || worst < 0) {
      maxAbs = d;
      worst = i;
    }
    if (rel > maxRel) maxRel = rel;
  }
  return {
    status: unequal === 0 ? 'identical' : differing === 0 ? 'within-tolerance' : 'different',
    elements: ref.length,
    differing,
    nanMismatch: 0,
    maxAbsDiff: maxAbs,
    maxRelDiff: maxRel,
    worstIndex: worst,
  };
}

/** Two numbers compared as one-element arrays (header values, JSON leaves). */
export function compareNumbers(ref: number, neu: number, tolerance: Tolerance): DetailStatus {
  return compareArrays([ref], [neu], tolerance).status;
}

/**
 * Formats a difference for people: '0', '3.2e-9', '0.0153', '1.5e+4', 'inf'. Three significant digits,
 * exponent notation outside [1e-3, 1e4).
 */
export function formatDiff(x: number | undefined): string {
  if (x === undefined) return '';
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs < 1e-3 || abs >= 1e4) return x.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(x.toPrecision(3)));
}

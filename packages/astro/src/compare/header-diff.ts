/**
 * Header comparison of two HDUs: keyword by keyword (first occurrence; COMMENT/HISTORY ignored),
 * leaving out volatile keys (DATE, CREATOR, checksums) and those the tolerance config lists. Float
 * values get the HDU's tolerance, except the WCS keywords (see WCS_KEY); integers, strings and flags must be equal.
 */
import {
  type CompareContext,
  compareNumbers,
  type DetailStatus,
  type DiffDetail,
  limitChanges,
  type ResolvedTolerance,
  type ValueChange,
  worstStatus,
} from '@pipe/core';
import type { FitsHeader, FitsValue } from '../fits/index.js';
import { energyUnitFactor } from './data-diff.js';

/** Compares the headers of one HDU pair; `item` names the HDU, e.g. "HDU 0 'PRIMARY'". */
export function compareHeaders(
  ref: FitsHeader,
  neu: FitsHeader,
  item: string,
  tolerance: ResolvedTolerance,
  ctx: CompareContext,
): DiffDetail {
  const keys = ref.keys();
  for (const k of neu.keys()) if (!ref.has(k)) keys.push(k);
  const compared = keys.filter((k) => !ctx.rule.ignoresHeaderKey(k));
  const changes: ValueChange[] = [];
  const statuses: DetailStatus[] = [];
  for (const key of compared) {
    const a = ref.has(key) ? ref.get(key) : undefined;
    const b = neu.has(key) ? neu.get(key) : undefined;
    const status = compareValues(a, b, tolerance, key);
    if (status === 'identical') continue;
    statuses.push(status);
    const change: ValueChange = { item: key };
    if (a !== undefined) change.ref = formatValue(a);
    if (b !== undefined) change.new = formatValue(b);
    changes.push(change);
  }
  const detail: DiffDetail = {
    item: `${item} header`,
    kind: 'header',
    status: worstStatus(statuses),
    elements: compared.length,
    differing: statuses.filter((s) => s === 'different').length,
  };
  if (changes.length > 0) Object.assign(detail, limitChanges(changes, ctx.maxChanges));
  return detail;
}

/**
 * The keywords that place a map on the sky. The data's tolerance does not apply to them: rtol 1e-4 on CRVAL1 = 320 deg
 * let a 0.03 deg (1.5 pixel) shift pass. They agree to 1e-9 relative (float formatting noise), or differ.
 */
const WCS_KEY =
  /^(?:CRVAL\d+|CRPIX\d+|CDELT\d+|CD\d+_\d+|PC\d+_\d+|CROTA\d+|PV\d+_\d+|LONPOLE|LATPOLE|EQUINOX|EPOCH)$/;
const WCS_TOLERANCE = { rtol: 1e-9, atol: 1e-12 };

function compareValues(
  a: FitsValue | undefined,
  b: FitsValue | undefined,
  t: ResolvedTolerance,
  key: string,
): DetailStatus {
  if (a === b) return 'identical';
  // A column's energy unit (TeV → GeV): its values are compared converted (data-diff.ts), so the unit is no change.
  if (
    /^TUNIT\d+$/.test(key) &&
    typeof a === 'string' &&
    typeof b === 'string' &&
    energyUnitFactor(b, a) !== undefined
  )
    return 'identical';
  if (typeof a === 'number' && typeof b === 'number') {
    if (WCS_KEY.test(key)) return compareNumbers(a, b, WCS_TOLERANCE);
    const exact = Number.isInteger(a) && Number.isInteger(b) && t.exactIntegers;
    return compareNumbers(a, b, exact ? { rtol: 0, atol: 0 } : t);
  }
  return 'different';
}

/** A header value as FITS writes it: strings quoted, logicals T/F. */
export function formatValue(v: FitsValue): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (v === null) return '(no value)';
  return String(v);
}

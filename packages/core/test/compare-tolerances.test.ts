/** The tolerance configuration of `pipe compare`: validation with file:line:col, rule resolution. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareArrays } from '../src/compare/numeric.js';
import {
  defaultTolerances,
  parseTolerances,
  productRule,
  type ToleranceConfig,
} from '../src/compare/tolerances.js';

function config(yaml: string): ToleranceConfig {
  const r = parseTolerances(yaml, 'tolerances.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.config;
}

function errors(text: string) {
  const r = parseTolerances(text, 'tolerances.yaml');
  if (r.ok) throw new Error('expected diagnostics');
  return r.diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    at: d.span && `${d.span.line}:${d.span.col}`,
    hint: d.hint,
  }));
}

const yaml = `
default: {rtol: 1.0e-6, atol: 0, ignore_header_keys: [ORIGIN]}
products:
  '**/*.fits.gz': {rtol: 1.0e-5, ignore_header_keys: ['HIERARCH PIPE *']}
  counts.fits.gz:
    exact_integers: false
    atol: 0.5
    hdus:
      PRIMARY_BANDS: {rtol: 0}
      '2': {atol: 7}
`;

describe('tolerance rules', () => {
  it('defaults to rtol 1e-6, atol 0, exact integers, volatile header keys ignored', () => {
    const rule = productRule(defaultTolerances(), 'maps/x.fits');
    expect(rule.tolerance()).toEqual({ rtol: 1e-6, atol: 0, exactIntegers: true, from: ['default'] });
    expect(['DATE', 'creator', 'CHECKSUM', 'DATASUM'].every((k) => rule.ignoresHeaderKey(k))).toBe(true);
    expect(rule.ignoresHeaderKey('DATE-OBS')).toBe(false);
  });

  it('applies every matching rule in file order; a glob without a slash matches the file name at any depth', () => {
    const c = config(yaml);
    const rule = productRule(c, 'crab/counts.fits.gz');
    expect(rule.matched).toEqual(['**/*.fits.gz', 'counts.fits.gz']);
    expect(rule.tolerance()).toEqual({
      rtol: 1e-5,
      atol: 0.5,
      exactIntegers: false,
      from: ['default', "products['**/*.fits.gz']", "products['counts.fits.gz']"],
    });
    expect(rule.tolerance({ hdu: { name: 'primary_bands', index: 1 } }).rtol).toBe(0);
    expect(rule.tolerance({ hdu: { name: 'OTHER', index: 2 } }).atol).toBe(7);
    expect(productRule(c, 'crab/excess.fits.gz').tolerance().atol).toBe(0);
    expect(productRule(c, 'summary.json').matched).toEqual([]);
  });

  it('ignores the header keys the config lists, with wildcards, on the products they apply to', () => {
    const c = config(yaml);
    const fits = productRule(c, 'a/b.fits.gz');
    expect(fits.ignoresHeaderKey('ORIGIN')).toBe(true);
    expect(fits.ignoresHeaderKey('HIERARCH PIPE BUILD')).toBe(true);
    expect(fits.ignoresHeaderKey('BUNIT')).toBe(false);
    expect(productRule(c, 'b.json').ignoresHeaderKey('HIERARCH PIPE BUILD')).toBe(false);
  });

  it('accepts JSON', () => {
    const c = config('{"default": {"rtol": 0.01}, "products": {"*.json": {"atol": 1}}}');
    expect(productRule(c, 'x.json').tolerance()).toMatchObject({ rtol: 0.01, atol: 1 });
  });
});

describe('tolerance config errors', () => {
  it('points at unknown keys with a suggestion', () => {
    expect(errors('default:\n  rtoll: 1\n')).toEqual([
      {
        code: 'unknown-key',
        message: "unknown key 'rtoll' in 'default'",
        at: '2:3',
        hint: "did you mean 'rtol'?",
      },
    ]);
    expect(
      errors("products:\n  '*.fits':\n    hdus: {PRIMARY: {rtol: 0, ignore_header_keys: [X]}}\n")[0],
    ).toMatchObject({
      code: 'unknown-key',
      at: '3:31',
    });
  });

  it('rejects negative and non-numeric tolerances where they are written', () => {
    expect(errors('products:\n  a.fits: {rtol: -1}\n')[0]).toMatchObject({
      code: 'invalid-value',
      at: '2:18',
    });
    expect(errors('default: {atol: lots}\n')[0]).toMatchObject({ code: 'wrong-type', at: '1:17' });
  });

  it('reports YAML syntax errors', () => {
    expect(errors('default: {rtol: 1\n')[0]?.code).toBe('yaml-syntax');
  });
});

describe('compareArrays', () => {
  it('is numpy.isclose: |new - ref| <= atol + rtol*|ref|, NaN equals NaN, a NaN on one side always differs', () => {
    const ref = [1, 2, Number.NaN, 0, 100];
    const c = compareArrays(ref, [1, 2 + 3e-6, Number.NaN, 0, 100], { rtol: 1e-6, atol: 0 });
    expect(c).toMatchObject({ status: 'different', differing: 1, nanMismatch: 0, worstIndex: 1 });
    expect(compareArrays(ref, [1, 2 + 1e-6, Number.NaN, 0, 100], { rtol: 1e-6, atol: 0 }).status).toBe(
      'within-tolerance',
    );
    expect(compareArrays(ref, [1, 2, 5, 0, 100], { rtol: 1, atol: 1e9 })).toMatchObject({
      status: 'different',
      nanMismatch: 1,
      worstIndex: 2,
    });
    expect(compareArrays(ref, [...ref], { rtol: 0, atol: 0 }).status).toBe('identical');
    const zero = compareArrays([0], [1e-12], { rtol: 1, atol: 1e-12 });
    expect(zero).toMatchObject({ status: 'within-tolerance', maxRelDiff: Number.POSITIVE_INFINITY });
  });

  it('compares 64-bit integers exactly', () => {
    const big = 2n ** 60n;
    const c = compareArrays(BigInt64Array.of(big, 1n), BigInt64Array.of(big + 1n, 1n), { rtol: 0, atol: 0 });
    expect(c).toMatchObject({ status: 'different', differing: 1, worstIndex: 0, maxAbsDiff: 1 });
  });
});

describe("the excess_map pipeline's tolerance file (docs/ci-regression.md)", () => {
  it('parses, and holds the spec §9 agreement: counts exact, sqrt_ts with an absolute floor', () => {
    const file = new URL('../../../pipelines/excess_map/tolerances.yaml', import.meta.url);
    const r = parseTolerances(readFileSync(file, 'utf8'), 'tolerances.yaml');
    expect(r.ok, JSON.stringify(!r.ok && r.diagnostics)).toBe(true);
    if (!r.ok) return;
    const rule = (p: string) => productRule(r.config, p).tolerance({});
    expect(rule('counts.fits.gz')).toMatchObject({ rtol: 0, atol: 0 });
    expect(rule('sqrt_ts.fits.gz')).toMatchObject({ rtol: 3e-5, atol: 3e-3 });
  });
});

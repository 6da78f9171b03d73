/**
 * canonicalJson writes the canonical form directly; the format is defined by the original encoder (JSON.stringify
 * with a replacer that rebuilds every object from its sorted keys), whose bytes every stored checksum was made
 * from. They must agree on every value, JSON or not (undefined members, -0, NaN, Dates, index-like keys).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/index.js';

/** The definition: the encoder the stored checksums were made with. */
function reference(value: unknown): string {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  return JSON.stringify(value, (_k, v: unknown) =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

const key = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '0',
    '1',
    '9',
    '10',
    '17',
    '007',
    '-1',
    '1.5',
    '4294967294',
    '4294967295',
    'a',
    'B',
    '_',
    'é',
  ),
  fc.nat().map(String),
);

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constantFrom(null, undefined, -0, Number.NaN, Number.POSITIVE_INFINITY),
    fc.date({ noInvalidDate: true }),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 6 }),
}));

describe('canonicalJson', () => {
  it('writes the same bytes as the reference encoder, for any value', () => {
    fc.assert(
      fc.property(value.node, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('puts index-like keys first in numeric order, then the others sorted', () => {
    const v = { b: 1, 10: 2, a: { z: [undefined, 3], 2: null }, 9: 4, '09': 5 };
    expect(canonicalJson(v)).toBe('{"9":4,"10":2,"09":5,"a":{"2":null,"z":[null,3]},"b":1}');
    expect(canonicalJson(v)).toBe(reference(v));
  });

  it('is stable through a JSON round trip (what a reader checks against)', () => {
    fc.assert(
      fc.property(value.object, (v) => {
        const once = canonicalJson(v);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});

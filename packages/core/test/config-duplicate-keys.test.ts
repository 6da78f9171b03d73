// A key set twice in one mapping. YAML 1.2 says keys are unique, and pipe.yaml refuses a second one; PyYAML (gammapy's
// config reader) keeps the last value silently, so a gammapy config with two `excess_map:` sections runs in gammapy
// with the second. A config schema may ask for that reading (ConfigSchema.read): the last pair is kept, the earlier
// ones are dropped from the document (every reader sees one value), each with a warning at its key.
import { describe, expect, it } from 'vitest';
import { parseSource } from '../src/config/source.js';

const TEXT = [
  'a: {x: 1, y: 2, x: 3}', // 1
  'b: &b',
  '  p: 1',
  '  p: 2',
  'c: {<<: *b, q: 5, q: 6}', // 5
  'a: {x: 4}',
  '',
].join('\n');

describe('duplicate keys', () => {
  it('are an error by default, as YAML 1.2 has them', () => {
    const { diagnostics } = parseSource('/f.yaml', TEXT);
    expect(diagnostics.map((d) => [d.severity, d.message])).toContainEqual([
      'error',
      'Map keys must be unique',
    ]);
  });

  it("read as PyYAML reads them with duplicateKeys 'last': the last value, a warning at each earlier key", () => {
    const { source, diagnostics } = parseSource('/f.yaml', TEXT, { duplicateKeys: 'last' });
    // yaml.safe_load(TEXT) == {'a': {'x': 4}, 'b': {'p': 2}, 'c': {'p': 2, 'q': 6}}. The first `a`, ignored whole, is
    // not searched for duplicates of its own (its x).
    expect(source.doc.toJS()).toEqual({ a: { x: 4 }, b: { p: 2 }, c: { p: 2, q: 6 } });
    expect(diagnostics.map((d) => [d.severity, d.code, `${d.span?.line}:${d.span?.col}`, d.message])).toEqual(
      [
        [
          'warning',
          'yaml-duplicate-key',
          '1:1',
          "'a' is set again on line 6: only the last value is read (as gammapy's YAML reader, PyYAML, reads it), this one is ignored",
        ],
        [
          'warning',
          'yaml-duplicate-key',
          '3:3',
          "'p' is set again on line 4: only the last value is read (as gammapy's YAML reader, PyYAML, reads it), this one is ignored",
        ],
        [
          'warning',
          'yaml-duplicate-key',
          '5:13',
          "'q' is set again on line 5: only the last value is read (as gammapy's YAML reader, PyYAML, reads it), this one is ignored",
        ],
      ],
    );
  });
});

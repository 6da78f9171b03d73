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

  // Found by breaking a gammapy config (`binsize: &b 0.2 deg, binsize: 0.02 deg, …, binsize_irf: *b`): PyYAML
  // registers the anchor as it reads the earlier value, so *b is 0.2 deg; pipe dropped the earlier pair with its anchor
  // and called *b an alias "before its anchor" (and a `<<: &c {…}` whose anchor is used later crashed, exit 70).
  it('an anchor on the value of an overridden key still names that value, as PyYAML reads it', () => {
    const text = [
      'wcs: {binsize: &b 0.2, binsize: 0.02, irf: *b}',
      'm: {<<: &c {x: 1}, x: 2}',
      'n: *c',
      '',
    ].join('\n');
    const { source, diagnostics } = parseSource('/f.yaml', text, { duplicateKeys: 'last' });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // yaml.safe_load(text) == {'wcs': {'binsize': 0.02, 'irf': 0.2}, 'm': {'x': 2}, 'n': {'x': 1}}
    expect(source.doc.toJS()).toEqual({ wcs: { binsize: 0.02, irf: 0.2 }, m: { x: 2 }, n: { x: 1 } });
  });
});

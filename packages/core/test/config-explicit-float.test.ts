// An explicit `!!float` tag. YAML 1.2's core schema and PyYAML (gammapy's config reader) both read `!!float 3` as the
// float 3.0; the yaml package's float tags take only texts with a decimal point or an exponent, so pipe read the
// string "3" with an "Unresolved tag" warning (a gammapy config's `aeff_percent: !!float 10` reached the maker as text).
import { describe, expect, it } from 'vitest';
import { parseSource } from '../src/config/source.js';

const read = (text: string) => {
  const { source, diagnostics } = parseSource('/f.yaml', text);
  return { value: (source.doc.toJS() as { a: unknown }).a, said: diagnostics.map((d) => d.message) };
};

describe('an explicit !!float', () => {
  it("reads what PyYAML's float constructor reads", () => {
    // yaml.safe_load gives 3.0, 1000.0, 1000.0, 90.5, -2.5, 7.0 for these.
    for (const [text, value] of [
      ['3', 3],
      ['1e3', 1000],
      ['1_000', 1000],
      ['1:30.5', 90.5],
      ['-2.5', -2.5],
      ['"7"', 7],
    ] as const)
      expect(read(`a: !!float ${text}`), text).toEqual({ value, said: [] });
    expect(read('a: [!!float 2, 1.5]')).toEqual({ value: [2, 1.5], said: [] });
  });

  it('refuses a text that is no number, at its place, as PyYAML does', () => {
    const { source, diagnostics } = parseSource('/f.yaml', 'b: 1\na: !!float abc\n');
    expect(source.doc.toJS()).toEqual({ b: 1, a: 'abc' });
    expect(diagnostics).toMatchObject([
      {
        severity: 'error',
        message:
          '!!float abc: not a number (the float tag takes a number\'s text; PyYAML, gammapy\'s config reader, refuses it too: "could not convert string to float")',
        span: { line: 2, col: 4 },
      },
    ]);
  });
});

// A YAML key that is a list or a mapping (`? [x, y]`) in a pipe.yaml, not a gammapy config: the error gives pipe's
// reason, not gammapy's reader alone (it said "gammapy's YAML reader (PyYAML) refuses it, and no setting is named so"
// of a target's field), and the pair leaves the document.
import { describe, expect, it } from 'vitest';
import { parseSource } from '../src/config/source.js';

describe('a key that is a list or a mapping', () => {
  it('in a pipe.yaml: one error at the key, saying no field is named so; the pair is removed', () => {
    const text = 'targets:\n  a:\n    outputs: {o: a.txt}\n    ? [x, y]\n    : 1\n    ? {k: v}\n    : 2\n';
    const { source, diagnostics } = parseSource('/ws/pipe.yaml', text);
    expect(diagnostics.map((d) => [d.code, d.span?.line, d.span?.col, d.message])).toEqual([
      [
        'yaml-key',
        4,
        7,
        'a key that is a list: no target, field or setting is named so (PyYAML, gammapy\'s config reader, refuses such a key too: "found unhashable key")',
      ],
      [
        'yaml-key',
        6,
        7,
        'a key that is a mapping: no target, field or setting is named so (PyYAML, gammapy\'s config reader, refuses such a key too: "found unhashable key")',
      ],
    ]);
    expect(source.doc.toJS()).toEqual({ targets: { a: { outputs: { o: 'a.txt' } } } });
  });
});

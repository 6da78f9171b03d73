// excess_map.parameters as gammapy 1.0's ExcessMapEstimator reads them (found by a gammapy cross-check sweep).
import { describe, expect, it } from 'vitest';
import step, { selectionOptional } from '../src/steps/excess-map.js';

const issues = (parameters: Record<string, unknown>) => {
  const r = step.validateParams!({ excess_map: { correlation_radius: '0.1 deg', parameters } });
  return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('excess_map.parameters.selection_optional (gammapy 1.0 Estimator.selection_optional)', () => {
  it("'all' (a string or a list element) is everything; a list of errn-errp and ul is what it lists", () => {
    expect(selectionOptional('all')).toEqual(['errn-errp', 'ul']);
    expect(selectionOptional(['all'])).toEqual(['errn-errp', 'ul']);
    expect(selectionOptional(['ul'])).toEqual(['ul']);
    expect(selectionOptional(['ul', 'errn-errp', 'ul'])).toEqual(['ul', 'errn-errp']);
    expect(selectionOptional(null)).toEqual([]);
    expect(selectionOptional([])).toEqual([]);
    expect(issues({ selection_optional: ['errn-errp'] })).toEqual([]);
  });

  it('a bare string other than all is refused, as gammapy refuses it (it iterates the characters)', () => {
    // gammapy 1.0: ExcessMapEstimator(selection_optional="errn-errp") → ValueError: {'-', 'p', 'e', 'r', 'n'} is
    // not a valid method. pipe computed the errors and the build succeeded.
    for (const s of ['ul', 'errn-errp']) {
      const out = issues({ selection_optional: s });
      expect(out).toHaveLength(1);
      expect(out[0]).toContain('excess_map.parameters.selection_optional: ');
      expect(out[0]).toContain(`use a list: [${s}]`);
    }
  });

  it("'errn_errp' (underscore) is not one of gammapy's values", () => {
    // gammapy 1.0: {'errn_errp'} is not a valid method.
    expect(issues({ selection_optional: ['errn_errp'] })[0]).toContain('unknown value "errn_errp"');
  });
});

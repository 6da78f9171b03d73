// The excess_map section as gammapy 1.0 reads it: ExcessMapEstimator's parameters, Analysis's energy_edges (found
// by a gammapy cross-check sweep).
import { describe, expect, it } from 'vitest';
import { unusedSettings } from '../src/config/analysis-config.js';
import step, { energyEdgesSet, selectionOptional } from '../src/steps/excess-map.js';

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

describe('excess_map.parameters: keys of excess_map itself', () => {
  it('correlation_radius or energy_edges under parameters say where they go (not "no parameter")', () => {
    expect(issues({ correlation_radius: '0.3 deg' })).toEqual([
      `excess_map.parameters.correlation_radius: ExcessMapEstimator takes 'correlation_radius' from excess_map.correlation_radius, not from parameters (gammapy: "got multiple values for keyword argument 'correlation_radius'"); write it as excess_map.correlation_radius`,
    ]);
    expect(issues({ energy_edges: [1, 10] })[0]).toContain('write it as excess_map.energy_edges');
  });
});

describe('excess_map.parameters.correlate_off', () => {
  it('true or false is accepted and enters the key: it decides the WStat maps of an on-off dataset', () => {
    // gammapy 1.0 convolved_map_dataset_counts_statistics reads correlate_off only for a MapDatasetOnOff (an unstacked
    // run with a ring background, which pipe makes too); the step cannot know which dataset it will read, so either
    // value is part of its key (a change reruns the excess map).
    const key = (parameters: Record<string, unknown>) => {
      const r = step.validateParams!({ excess_map: { correlation_radius: '0.1 deg', parameters } });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return JSON.stringify(r.value);
    };
    expect(issues({ correlate_off: false })).toEqual([]);
    expect(key({ correlate_off: false, n_sigma: 2 })).not.toBe(key({ n_sigma: 2 }));
    expect(key({ correlate_off: false, n_sigma: 2 })).not.toBe(key({ correlate_off: true, n_sigma: 2 }));
  });

  it('another type is refused at its key', () => {
    expect(issues({ correlate_off: 'maybe' })).toEqual([
      'excess_map.parameters.correlate_off: correlate_off must be true or false, got "maybe"',
    ]);
  });

  // gammapy reads `correlate_off: no` with PyYAML, which makes it False (YAML 1.1's yes/no/on/off); pipe's YAML 1.2
  // parser gives the text 'no', which was refused. (A quoted "no" is text for gammapy too, and truthy there: a config
  // writes that only by mistake.)
  it("takes PyYAML's yes/no/on/off as the booleans gammapy reads", () => {
    const value = (v: string) => {
      const r = step.validateParams!({
        excess_map: { correlation_radius: '0.1 deg', parameters: { correlate_off: v } },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.value.excess_map.parameters['correlate_off'];
    };
    for (const v of ['yes', 'Yes', 'ON', 'on']) expect(value(v)).toBe(true);
    for (const v of ['no', 'NO', 'Off', 'off']) expect(value(v)).toBe(false);
    // PyYAML reads y and n as text: refused as before.
    expect(issues({ correlate_off: 'n' })).toHaveLength(1);
  });
});

describe('excess_map.energy_edges as gammapy 1.0 Analysis._make_energy_axis reads it', () => {
  const edges = (energy_edges: Record<string, unknown>) => ({ correlation_radius: '0.1 deg', energy_edges });

  it('nbins < 1 or a missing bound: no groups (one over the whole axis), with a warning at the key, not an error', () => {
    // gammapy 1.0 runs energy_edges: {min: 1 TeV, max: 10 TeV, nbins: 0} as if unset; pipe refused it at load.
    for (const ee of [
      { min: '1 TeV', max: '10 TeV', nbins: 0 },
      { min: '1 TeV', max: '10 TeV', nbins: -2 },
      { min: '2 TeV' },
    ]) {
      const r = step.validateParams!({ excess_map: edges(ee) });
      expect(r.ok, JSON.stringify(ee)).toBe(true);
      if (r.ok) expect(energyEdgesSet(r.value.excess_map.energy_edges)).toBe(false);
      const warnings = unusedSettings({ excess_map: edges(ee) });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ path: ['excess_map', 'energy_edges'], severity: 'warning' });
      expect(warnings[0]!.message).toContain('ignores energy_edges, and so does pipe');
    }
  });

  it('min, max and nbins ≥ 1: groups, no warning; reversed bounds stay an error', () => {
    const r = step.validateParams!({ excess_map: edges({ min: '1 TeV', max: '10 TeV', nbins: 2 }) });
    expect(r.ok).toBe(true);
    if (r.ok) expect(energyEdgesSet(r.value.excess_map.energy_edges)).toBe(true);
    expect(unusedSettings({ excess_map: edges({ min: '1 TeV', max: '10 TeV', nbins: 2 }) })).toEqual([]);
    expect(unusedSettings({ excess_map: { correlation_radius: '0.1 deg' } })).toEqual([]);
    expect(step.validateParams!({ excess_map: edges({ min: '10 TeV', max: '1 TeV', nbins: 2 }) }).ok).toBe(
      false,
    );
  });
});

it('a config without a general section still gets the map_selection warning (pipe makes the exposure anyway)', () => {
  const warnings = unusedSettings({ datasets: { map_selection: ['counts', 'background'] } });
  expect(warnings.map((w) => w.path.join('.'))).toEqual(['datasets.map_selection']);
});

/**
 * Step params from a section of the gammapy analysis config: validated and normalised (units → deg, TeV) by the
 * config reader, so `1 TeV` and `1000 GeV` give the same task key. Paths to files are not kept in the params:
 * the pipeline passes those files as inputs, so their contents, not their locations, enter the key.
 */
import type { ParamIssue } from '@pipe/core';
import { type AnalysisConfig, readAnalysisConfig } from '../config/index.js';

type Section = 'observations' | 'datasets' | 'excess_map';
type Checked<T> = { ok: true; value: T } | { ok: false; issues: ParamIssue[] };

/** Validate `params[section]` as that section of an analysis config. */
export function sectionParams<S extends Section>(
  params: unknown,
  section: S,
  drop: (value: AnalysisConfig[S]) => void = () => {},
): Checked<{ [K in S]: AnalysisConfig[S] }> {
  const raw = (params ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((k) => k !== section);
  const issues: ParamIssue[] = unknown.map((k) => ({
    path: [k],
    message: `unknown param '${k}'`,
    hint: `this step reads only '${section}'`,
  }));
  const { config, issues: configIssues } = readAnalysisConfig({
    [section]: raw[section] ?? {},
    ...crossSectionDefaults(section),
  });
  for (const issue of configIssues) if (issue.path[0] === section) issues.push(issue);
  if (issues.length > 0) return { ok: false, issues };
  const value = config[section];
  drop(value);
  return { ok: true, value: { [section]: value } as { [K in S]: AnalysisConfig[S] } };
}

// The config reader checks that a 3D analysis has a map centre; when validating another section alone, give the
// datasets section a placeholder that passes those checks (it is never used).
function crossSectionDefaults(section: Section): Record<string, unknown> {
  return section === 'datasets'
    ? {}
    : { datasets: { type: '3d', geom: { wcs: { skydir: { frame: 'icrs', lon: '0 deg', lat: '0 deg' } } } } };
}

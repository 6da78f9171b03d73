/**
 * Config-schema module for the engine's registry: validates a whole gammapy config file — the analysis config
 * of gammapy 1.0 (AnalysisConfig) or the multi-step workflow config (WorkflowConfig with `steps:`) — and
 * expands a workflow config into its targets (the engine's `targets` hook; see workflow-targets.ts).
 */

import { fileURLToPath } from 'node:url';
import type { YamlTokens } from '@pipe/core';
import { readAnalysisConfig, unusedSettings } from './analysis-config.js';
import { isWorkflowConfig, readWorkflowConfig } from './workflow-config.js';
import { workflowTargets } from './workflow-targets.js';

export default {
  name: 'gammapy.analysis',
  validate: (config: unknown) => [
    ...(isWorkflowConfig(config) ? readWorkflowConfig(config).issues : readAnalysisConfig(config).issues),
    ...unusedSettings(config),
  ],
  // gammapy reads the file with PyYAML: tabs and leading-zero integers it reads otherwise are said at their place.
  // Imported when a whole file is checked: a --param change validates its values without the YAML parser.
  checkText: async (text: string, tokens: YamlTokens) =>
    (await import('./pyyaml-text.js')).pyyamlTextIssues(text, tokens),
  // PyYAML keeps the last value of a key set twice (gammapy reads the second `excess_map:` section): so does pipe, warning.
  read: { duplicateKeys: 'last' as const },
  targets: workflowTargets,
  // The modules that decide a workflow config's targets (the pipeline cache and pipe watch track them).
  sourceFiles: [
    './gammapy-schema.js',
    './workflow-config.js',
    './workflow-targets.js',
    './analysis-config.js',
    './pyyaml-text.js',
    './observations-rules.js',
    './quantity.js',
    // quantity.ts parses obs_time with its UTC → TT table.
    '../dl3/time-scales.js',
    // analysis-config.ts bounds the energy axes by its MAX_ENERGY_BINS.
    '../geom/energy-axis.js',
  ].map((f) => fileURLToPath(new URL(f, import.meta.url))),
};

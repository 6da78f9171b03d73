/** Config-schema module for the engine's registry: validates a whole gammapy analysis config file. */
import { readAnalysisConfig } from './analysis-config.js';

export default {
  name: 'gammapy.analysis',
  validate: (config: unknown) => readAnalysisConfig(config).issues,
};

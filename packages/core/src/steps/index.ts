/** Public entry of the step registry. */
export {
  COMMAND_STEP,
  type ConfigSchema,
  createStepRegistry,
  isModulePath,
  StepLoadError,
  type StepRegistry,
  type TextIssue,
  type YamlTokens,
} from './registry.js';

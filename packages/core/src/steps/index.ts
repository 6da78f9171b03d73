/** Public entry of the step registry. */
export {
  COMMAND_STEP,
  type ConfigSchema,
  createStepRegistry,
  isModulePath,
  StepLoadError,
  type StepRegistry,
  type TextIssue,
} from './registry.js';

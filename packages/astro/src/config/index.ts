export {
  type AnalysisConfig,
  checkAnalysisKeys,
  type ParamIssue,
  readAnalysisConfig,
  suggest,
} from './analysis-config.js';
export { MAKER_PARAMETERS, unknownParameter } from './maker-parameters.js';
export { timeIntervals } from './observations-rules.js';
export { mjdTtToIsoUtc, parseAngle, parseEnergy, parseTime } from './quantity.js';
export {
  deepMerge,
  isWorkflowConfig,
  readWorkflowConfig,
  WORKFLOW_STEP_TYPES,
  type WorkflowStep,
} from './workflow-config.js';
export { workflowTargets } from './workflow-targets.js';

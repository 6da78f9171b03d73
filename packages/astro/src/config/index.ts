export { type AnalysisConfig, type ParamIssue, readAnalysisConfig, suggest } from './analysis-config.js';
export { parseAngle, parseEnergy, parseTime } from './quantity.js';

export { registerSteps } from './register.js';
export { observationOfItem, type RunItemData, runItemData } from './run-item.js';

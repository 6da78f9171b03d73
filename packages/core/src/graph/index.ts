/** Public entry of graph expansion: Pipeline → TaskGraph, its renderings, and "did you mean". */
export { closestNames, didYouMean } from './closest-names.js';
export {
  buildableWithout,
  deliveredTargets,
  dependencyOrder,
  type TargetEdge,
  targetEdges,
} from './edges.js';
export { type ExpandOptions, expandGraph } from './expand.js';
export { globItems, itemId, matchFiles } from './items.js';
export { byTarget, targetsToJSON, toDot, toJSON, toMermaid } from './render.js';

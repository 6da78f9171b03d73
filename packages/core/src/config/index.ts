/** Public entry of config loading: pipe.yaml → Pipeline, diagnostics and their rendering. */
export { formatLocation, hasErrors, makeDiagnostic, sortDiagnostics } from './diagnostics.js';
export { declaredDefaultTargets } from './files.js';
export type {
  ConfigPath,
  ConfigSubtrees,
  GeneratedTarget,
  GeneratedTargets,
  TargetGenerator,
} from './generate.js';
export { type LoadOptions, type LoadResult, loadPipeline, locateParam } from './load.js';
export { type RenderOptions, renderDiagnostic, renderDiagnostics } from './render.js';
export { MEM_PATTERN, pipeJsonSchema, TARGET_NAME_PATTERN, TIME_PATTERN } from './schema.js';
export { parseSource, type SourceFile, spanOf } from './source.js';

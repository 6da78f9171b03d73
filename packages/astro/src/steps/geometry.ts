/** Step params and the task key: the datasets section keeps no file paths (those files are task inputs). */
import type { AnalysisConfig } from '../config/index.js';

export function dropDatasetPaths(ds: AnalysisConfig['datasets']): void {
  delete (ds.background as { exclusion?: string | null }).exclusion;
}

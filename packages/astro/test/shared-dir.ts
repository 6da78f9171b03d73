/** Where the project's shared data and reference products are: ../shared beside the repository (as in CI), or PIPE_SHARED_DIR. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED =
  process.env.PIPE_SHARED_DIR ?? path.resolve(fileURLToPath(new URL('../../../../shared', import.meta.url)));

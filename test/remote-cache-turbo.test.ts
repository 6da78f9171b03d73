/** Two workspaces share the Crab products through turborepo-remote-cache; see remote-cache-sharing.ts. */
import { sharingSuite } from './remote-cache-sharing.js';

sharingSuite('turbo');

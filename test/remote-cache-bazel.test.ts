/** Two workspaces share the Crab products through nginx (WebDAV as a Bazel HTTP cache); see remote-cache-sharing.ts. */
import { sharingSuite } from './remote-cache-sharing.js';

sharingSuite('bazel');

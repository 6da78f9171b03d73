import { it } from 'vitest';
import { loadPipeline, renderDiagnostics } from '../src/config/index.js';
import { createStepRegistry } from '../src/steps/index.js';
it('x', async () => {
  const r = await loadPipeline('/tmp/yt/pipe.yaml', { registry: createStepRegistry() });
  if (!r.ok) console.log(renderDiagnostics(r.diagnostics, { cwd: '/tmp/yt' }));
});

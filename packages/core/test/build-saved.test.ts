/**
 * buildSession's `onSaved`: the hook the CLI records its no-op snapshot in while the build's end record is written.
 * It sees the saved state, runs before the build returns, and cannot fail it. A command target (no worker thread) in
 * a temp workspace.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readBuildRecord } from '../src/builds/records.js';
import { buildSession, openSession, type Session } from '../src/builds/session.js';
import { loadPipeline } from '../src/config/index.js';
import { loadState } from '../src/state/state-file.js';
import { createStepRegistry } from '../src/steps/registry.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

async function session(root: string): Promise<Session> {
  const registry = createStepRegistry();
  const loaded = await loadPipeline(path.join(root, 'pipe.yaml'), { registry, cwd: root });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const opened = await openSession({
    pipeline: loaded.pipeline,
    targets: ['copy'],
    loadStep: (m) => registry.load(m),
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened.diagnostics));
  return opened.session;
}

it('calls onSaved with the state saved, before returning; what it throws fails nothing, the end record is written', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-saved-'));
  roots.push(root);
  writeFileSync(
    path.join(root, 'pipe.yaml'),
    'version: 1\ntargets:\n  copy:\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    inputs: {src: in.txt}\n    outputs: {o: out/copy.txt}\n',
  );
  writeFileSync(path.join(root, 'in.txt'), 'text');
  const s = await session(root);
  const calls: Array<{ status: string; ran: string | undefined; savedKey: string | undefined }> = [];
  const result = await buildSession(s, {
    jobs: 1,
    signal: new AbortController().signal,
    onSaved: async ({ status, reports }) => {
      calls.push({
        status,
        ran: reports.get('copy')?.state,
        savedKey: loadState(s.layout.stateFile).data.tasks.get('copy')?.key,
      });
      throw new Error('a failed snapshot');
    },
  });
  expect(result.ok && result.status).toBe('succeeded');
  const key = result.ok ? result.reports.get('copy')?.key : undefined;
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  expect(calls).toEqual([{ status: 'succeeded', ran: 'ran', savedKey: key }]);
  const record = result.ok ? readBuildRecord(s.layout.buildsDir, result.buildId) : undefined;
  expect(record?.ok && record.record.status).toBe('succeeded');
});

/**
 * `pipe compare` with a workspace as one side takes each product's SHA-256 from the state while the file is as the
 * state stamped it, so identical products are never read. The state stamps products with ns from a plain stat's float
 * ms; this side compared a BigInt stat's exact ns with them, which never matched: every product was hashed again.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSource } from '../src/commands/compare-sources.js';
import { PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const temp = tempWorkspaces('pipe-compare-sources-');

describe('pipe compare: a workspace side', () => {
  it("takes an unchanged product's hash from the state; an edited one is read", async () => {
    const root = temp.workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  t:\n    command: [sh, -c, \'echo a > "$1"; echo b > "$2"\', sh, "{outputs.a}", "{outputs.b}"]\n    outputs: {a: out/a.txt, b: out/b.txt}\n',
    });
    const built = spawnSync(process.execPath, [PIPE_BIN, 'build', 't'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(built.status, built.stderr).toBe(0);
    writeFileSync(path.join(root, 'out/b.txt'), 'edited\n');
    const side = await resolveSource(root, 'new', {
      workspaceRoot: root,
      targets: [],
      cacheFor: () => {
        throw new Error('a workspace side reads no cache');
      },
      scratch: temp.dir(),
    });
    if (!side.ok) throw new Error(side.message);
    const hashes = Object.fromEntries(side.source.entries.map((e) => [e.relPath, e.sha256]));
    expect(hashes).toEqual({
      // sha256 of "a\n", as the state recorded it
      'out/a.txt': '87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7',
      'out/b.txt': undefined,
    });
  });
});

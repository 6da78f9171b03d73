/**
 * A step written in TypeScript is keyed by its sources (src/) and runs compiled (dist/): a source edited and not
 * compiled yet would key the old code's results under the new code's key, for good (and in a shared cache, for
 * everyone). The build refuses it, naming the file; once compiled, the new code runs. Runs the real binary.
 */
import { spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const step = (factor: number, typed: boolean) =>
  `import { writeFileSync } from 'node:fs';\nconst F = ${factor};\nexport default { name: 's', version: '1', run(ctx${typed ? ': any' : ''}) { writeFileSync(ctx.outputs.o, String(21 * F)); } };\n`;

/** Set a workspace file's mtime (and atime) to `secondsAgo` before now. */
function setMtime(ws: Workspace, rel: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(ws.path(rel), t, t);
}

describe('a TypeScript step whose compiled file is older than its source', () => {
  it('is refused with the file named, and runs the new code once compiled', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: [t]\ntargets:\n  t:\n    step: ./steps/dist/s.js\n    outputs: {o: answer.txt}\n',
      'steps/package.json': '{"type":"module"}',
      'steps/src/s.ts': step(2, true),
      'steps/dist/s.js': step(2, false),
    });
    const at = (rel: string, secondsAgo: number) => setMtime(ws, rel, secondsAgo);
    at('steps/src/s.ts', 60);
    at('steps/dist/s.js', 50);
    expect((await ws.build([])).run.code).toBe(0);
    expect(ws.read('answer.txt')).toBe('42');

    ws.write('steps/src/s.ts', step(3, true));
    const refused = await ws.run(['build']);
    expect(refused.code).toBe(2); // the pipeline cannot be loaded as it is
    expect(refused.stderr).toContain(
      `steps/src/s.ts changed after ${ws.path('steps/dist/s.js')} was compiled`,
    );
    expect(refused.stderr).toContain('build the package (npm run build, or tsc -b)');
    expect(ws.read('answer.txt')).toBe('42');

    ws.write('steps/dist/s.js', step(3, false));
    const built = await ws.build([]);
    expect(built.ended.ran).toEqual(['t']);
    expect(ws.read('answer.txt')).toBe('63');
  });
});

describe("a TypeScript step compiled by a tsconfig.json's own folders", () => {
  // Found by helper-110: only a package's src/ → dist/ was known, so steps/ → out/ was hashed as the JS it runs and
  // an edit not compiled yet built as "up to date".
  it.each([
    [
      'rootDir',
      '{ // where tsc reads and writes\n "compilerOptions": { "outDir": "out", "rootDir": "steps", },\n}',
    ],
    ['include', '{ "compilerOptions": { "outDir": "out" }, "include": ["steps/**/*"] }'],
    // helper-112: tsc's default rootDir, the common folder of its sources (here steps/), was not found.
    ['inferred rootDir', '\uFEFF{ "compilerOptions": { "outDir": "out" } }'],
    ['extends list', '{ "extends": ["./base.json"], "compilerOptions": { "rootDir": "steps" } }'],
  ])('is keyed by its sources and refused when one is newer (%s)', async (_, tsconfig) => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: [t]\ntargets:\n  t:\n    step: ./out/s.js\n    outputs: {o: answer.txt}\n',
      'package.json': '{"type":"module"}',
      'tsconfig.json': tsconfig,
      'base.json': '{ "compilerOptions": { "outDir": "out" } }',
      'steps/s.ts': step(2, true),
      'out/s.js': step(2, false),
    });
    const at = (rel: string, secondsAgo: number) => setMtime(ws, rel, secondsAgo);
    at('steps/s.ts', 60);
    at('out/s.js', 50);
    expect((await ws.build([])).run.code).toBe(0);
    expect(ws.read('answer.txt')).toBe('42');
    ws.write('steps/s.ts', step(3, true));
    const refused = await ws.run(['build']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`steps/s.ts changed after ${ws.path('out/s.js')} was compiled`);
    ws.write('out/s.js', step(3, false));
    const built = await ws.build([]);
    expect(built.ended.ran).toEqual(['t']);
    expect(ws.read('answer.txt')).toBe('63');
  });
});

describe('a TypeScript step whose source was touched, not changed, since tsc compiled it', () => {
  // Found by helper-132: `touch` (or a checkout, or restoring the old text) made the source newer than its compiled
  // file, and `npm run build`'s turbo cache hit left the outputs' old times, so the build refused for good. tsc's build
  // info records each source's SHA-256: the text decides, as everywhere else in pipe.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const dynamicStep = (factor: number) =>
    `const F = ${factor};\nexport default { name: 's', version: '1', async run(ctx: { outputs: Record<string, string> }) {\n  const fs = await import('node:fs' as string);\n  fs.writeFileSync(ctx.outputs.o, String(21 * F));\n} };\n`;
  it('builds as before, and still refuses a real edit', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ndefault: [t]\ntargets:\n  t:\n    step: ./out/s.js\n    outputs: {o: answer.txt}\n',
      'package.json': '{"type":"module"}',
      'tsconfig.json':
        '{ "compilerOptions": { "outDir": "out", "rootDir": "steps", "incremental": true, "module": "nodenext", "target": "es2022", "types": [], "skipLibCheck": true } }',
      'steps/s.ts': dynamicStep(2),
    });
    const compile = () => spawnSync(process.execPath, [tsc, '-p', ws.path('.')], { encoding: 'utf8' });
    const first = compile();
    expect(first.status, first.stdout + first.stderr).toBe(0);
    setMtime(ws, 'steps/s.ts', 60);
    expect((await ws.build([])).run.code).toBe(0);
    expect(ws.read('answer.txt')).toBe('42');

    setMtime(ws, 'steps/s.ts', 0); // touched: newer than out/s.js and the build info, the same text
    const touched = await ws.build([]);
    expect(touched.run.code, touched.run.stderr).toBe(0);
    expect(touched.ended['up-to-date']).toEqual(['t']);

    ws.write('steps/s.ts', dynamicStep(3)); // an edit not compiled: refused, as before
    const refused = await ws.run(['build']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`steps/s.ts changed after ${ws.path('out/s.js')} was compiled`);
    ws.write('steps/s.ts', dynamicStep(2)); // the old text again, newer than everything: it is what was compiled
    const restored = await ws.build([]);
    expect(restored.run.code, restored.run.stderr).toBe(0);
    expect(ws.read('answer.txt')).toBe('42');
  });
});

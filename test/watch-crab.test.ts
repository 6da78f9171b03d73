/**
 * `pipe watch` on the Crab excess-map pipeline with WASM kernels, editing kernel sources on a COPY
 * of the kernels package (PIPE_KERNELS_ROOT points @pipe/kernels at it): a kernel edit recompiles
 * that kernel only and reruns only the tasks whose steps use it; a kernel that does not compile is
 * a diagnostic (nothing is built over the stale module), and the fix recovers. Where the native
 * addon is built, an edit of a Rust source rebuilds the addon.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';
import { WatchProcess } from './watch-rig.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS = path.join(REPO, 'packages/kernels');

/** The parts of the kernels package that identities, compiles and loaders read. */
function copyKernels(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-kernels-'));
  for (const part of [
    'assembly',
    'src',
    'build',
    'scripts',
    'asconfig.json',
    'package.json',
    'native/src',
    'native/Cargo.toml',
    'native/Cargo.lock',
    'native/build.rs',
  ]) {
    if (existsSync(path.join(KERNELS, part)))
      cpSync(path.join(KERNELS, part), path.join(root, part), { recursive: true });
  }
  // The build scripts resolve their tools (@napi-rs/cli) from the package's own location.
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  temps.push(root);
  return root;
}

/** The Crab pipeline as shipped in the repository, in a temp workspace. */
function crabWorkspace(): Workspace {
  const ws = new Workspace({ 'pipe.yaml': readFileSync(path.join(REPO, 'pipe.yaml'), 'utf8') });
  cpSync(path.join(REPO, 'pipelines'), ws.path('pipelines'), { recursive: true });
  temps.push(ws.root);
  return ws;
}

let watcher: WatchProcess | undefined;
/** Temp copies to delete after each test (a copied native/target is large). */
const temps: string[] = [];
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('pipe watch: kernel edits (Crab, --kernels wasm)', () => {
  it('recompiles the edited kernel and reruns only the tasks that use it', async () => {
    const kernels = copyKernels();
    const ws = crabWorkspace();
    const w = WatchProcess.start(ws, ['excess_map', '--kernels', 'wasm'], {
      PIPE_KERNELS_ROOT: kernels,
    });
    watcher = w;
    let end = await w.initialBuild(300_000);
    expect(end.status, w.stderr).toBe('succeeded');
    await w.event('watch-start');
    await w.event('idle');

    // cashStatistics is used by the excess_map step only.
    const source = path.join(kernels, 'assembly/cashStatistics.ts');
    const original = readFileSync(source, 'utf8');
    writeFileSync(source, `${original}\n// edited by the watch test\n`);
    const change = await w.next(
      (e) => e.event === 'change' && (e.paths as string[]).includes(source),
      'the change',
    );
    expect(change.paths).toEqual([source]);
    expect(change.kinds).toEqual(['kernel']);
    const rebuilt = await w.event('kernel-rebuilt', 180_000);
    expect(rebuilt).toMatchObject({ kernel: 'cashStatistics', backend: 'wasm' });
    end = await w.buildEnd(180_000);
    expect(end.status).toBe('succeeded');
    expect(end.ran).toEqual(['excess_map']);

    // A kernel that does not compile: its diagnostic, no build over the stale module, still watching.
    await w.event('idle');
    let from = w.mark();
    writeFileSync(source, `${original}\nexport function broken(): void { let x: i32 = "not a number"; }\n`);
    const diag = await w.next((e) => e.event === 'diagnostics', 'kernel diagnostics', 180_000);
    expect(diag.source).toBe('kernel-compile');
    expect(String(diag.message)).toMatch(/cashStatistics\.ts/);
    await w.event('idle');
    expect(w.between(from).map((e) => e.event)).not.toContain('build-start');
    expect(w.alive).toBe(true);

    // The fix: recompiled, and the excess map is rebuilt from the restored source.
    from = w.mark();
    writeFileSync(source, original);
    expect(await w.event('kernel-rebuilt', 180_000)).toMatchObject({ kernel: 'cashStatistics' });
    end = await w.buildEnd(180_000);
    expect(end.status).toBe('succeeded');
    // Back to the first build's key: restored from the cache or rerun, but nothing upstream runs.
    expect(end.ran.filter((id: string) => id !== 'excess_map')).toEqual([]);
    expect(
      w
        .between(from)
        .filter((e) => e.event === 'kernel-rebuilt')
        .map((e) => e.kernel),
    ).toEqual(['cashStatistics']);
  }, 600_000);

  // Found by helper-155: with the native (or js) kernels, an AssemblyScript edit was rebuilt and its tasks reran,
  // with maps no different: nothing said the edit was not what ran.
  it('says when the edited kernel is not the backend that runs', async () => {
    const kernels = copyKernels();
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  k:\n    step: ./steps/k.mjs\n    outputs: {o: out.txt}\n',
      'steps/k.mjs': `import { writeFileSync } from 'node:fs';
export default { name: 'k', version: '1', kernels: ['cashStatistics'], run(ctx) { writeFileSync(ctx.outputs.o, ctx.kernelBackend); } };
`,
    });
    const w = WatchProcess.start(ws, ['k', '--kernels', 'js'], { PIPE_KERNELS_ROOT: kernels });
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['k']);
    await w.event('idle');
    const source = path.join(kernels, 'assembly/cashStatistics.ts');
    writeFileSync(source, `${readFileSync(source, 'utf8')}\n// edited by the watch test\n`);
    expect(await w.event('kernel-rebuilt', 180_000)).toMatchObject({ kernel: 'cashStatistics' });
    const note = await w.next((e) => e.event === 'note', 'the note');
    expect(note.message).toBe(
      'the AssemblyScript of cashStatistics was rebuilt, but this watch runs the js kernels: the tasks using it rerun without that code (pipe watch --kernels wasm runs it)',
    );
    expect((await w.buildEnd()).ran).toEqual(['k']);
    expect(ws.read('out.txt')).toBe('js');
  }, 300_000);

  // Found by helper-155: the AssemblyScript compiler's own `in assembly/x.ts(3,40)`, relative to the kernels package,
  // in terminal colours (in --json too).
  it('says where a kernel does not compile, at file:line:col', async () => {
    const kernels = copyKernels();
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  k:\n    step: ./steps/k.mjs\n    outputs: {o: out.txt}\n',
      'steps/k.mjs': `import { writeFileSync } from 'node:fs';
export default { name: 'k', version: '1', kernels: ['cashStatistics'], run(ctx) { writeFileSync(ctx.outputs.o, 'k'); } };
`,
    });
    const w = WatchProcess.start(ws, ['k', '--kernels', 'wasm'], { PIPE_KERNELS_ROOT: kernels });
    watcher = w;
    expect((await w.initialBuild()).ran).toEqual(['k']);
    await w.event('idle');
    const source = path.join(kernels, 'assembly/cashStatistics.ts');
    const text = readFileSync(source, 'utf8');
    writeFileSync(source, `${text}\nexport function broken(): void { let x: i32 = "not a number"; }\n`);
    const diag = await w.next((e) => e.event === 'diagnostics', 'the compile error', 180_000);
    const line = text.split('\n').length + 1;
    expect(String(diag.message)).toMatch(
      new RegExp(`in ${source.replaceAll('.', '\\.')}:${line}:\\d+$`, 'm'),
    );
    expect(String(diag.message)).toMatch(/^ERROR TS2322: /);
  }, 300_000);

  const nativeBuilt =
    existsSync(path.join(KERNELS, 'build/native')) &&
    readdirSync(path.join(KERNELS, 'build/native')).some((f) => f.endsWith('.node'));
  const cargo = spawnSync('cargo', ['--version']).status === 0;
  if (!nativeBuilt || !cargo)
    console.log(
      `skipping the native watch test: ${!nativeBuilt ? 'the native addon is not built here' : 'cargo is not installed'}`,
    );
  it.runIf(nativeBuilt && cargo)(
    'rebuilds the native addon when its Rust source changes',
    async () => {
      const kernels = copyKernels();
      // Reuse the repository's compiled dependencies: a copy of native/target keeps the rebuild incremental.
      cpSync(path.join(KERNELS, 'native/target'), path.join(kernels, 'native/target'), { recursive: true });
      const ws = crabWorkspace();
      const w = WatchProcess.start(ws, ['excess_map', '--kernels', 'wasm'], {
        PIPE_KERNELS_ROOT: kernels,
      });
      watcher = w;
      expect((await w.initialBuild(300_000)).status).toBe('succeeded');
      await w.event('idle');
      const rust = path.join(kernels, 'native/src/cash_statistics.rs');
      writeFileSync(rust, `${readFileSync(rust, 'utf8')}\n// edited by the watch test\n`);
      expect(await w.event('kernel-rebuilt', 900_000)).toMatchObject({ backend: 'native' });
      const end = await w.buildEnd(180_000);
      expect(end.ran).toEqual(['excess_map']);
    },
    1_200_000,
  );
});

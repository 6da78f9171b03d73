// Kernel identities (what enters the engine's task keys), backend selection, and the WASM rebuild
// used by watch mode. Identities are computed over a copy of the package sources in a temp folder,
// so the tests can edit one kernel and see that only its identity moves.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelIdentity, kernelIdentityAt, kernelSourceFiles, v8EngineVersion } from '../src/identity.js';
import {
  isBackendUnavailable,
  loadKernels,
  referenceKernels,
  selectBackend,
  tryLoadKernels,
} from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { COMPILED_KERNELS, kernelSources } from '../src/registry.js';
import { rebuildWasmAt } from '../src/wasm/compile.js';

const ALL_KERNELS = Object.keys(referenceKernels);
let copy: string;

beforeEach(() => {
  copy = mkdtempSync(join(tmpdir(), 'pipe-kernels-'));
  for (const dir of ['src', 'assembly', 'native/src'])
    cpSync(join(packageRoot(), dir), join(copy, dir), { recursive: true });
  for (const file of ['native/Cargo.toml', 'asconfig.json'])
    cpSync(join(packageRoot(), file), join(copy, file));
});
afterEach(() => rmSync(copy, { recursive: true, force: true }));

function identities(backend: string): Map<string, string> {
  return new Map(ALL_KERNELS.map((k) => [k, JSON.stringify(kernelIdentityAt(copy, k, backend))]));
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  return ALL_KERNELS.filter((k) => before.get(k) !== after.get(k)).sort();
}

describe('kernelIdentity', () => {
  it('is the same for every backend of a kernel declared bit-identical, and names source hash only', () => {
    for (const name of COMPILED_KERNELS) {
      const ids = ['native', 'wasm', 'js'].map((b) => kernelIdentity(name, b));
      if (kernelSources(name)?.bitIdentical) {
        expect(new Set(ids.map((i) => JSON.stringify(i))).size).toBe(1);
        expect(ids[0]?.backend).toBeUndefined();
      } else {
        expect(ids.map((i) => i.backend)).toEqual(['native', 'wasm', 'js']);
      }
      expect(ids[0]?.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("keys a reference-only kernel on V8's own version, not on the patch count Node appends to it", () => {
    expect(v8EngineVersion('11.3.244.8-node.38')).toBe('11.3.244.8');
    expect(v8EngineVersion('12.4.254.21-node.33')).toBe('12.4.254.21');
    expect(v8EngineVersion('11.3.244.8')).toBe('11.3.244.8');
    const referenceOnly = ALL_KERNELS.find((k) => kernelSources(k) === undefined);
    expect(referenceOnly).toBeDefined();
    expect(kernelIdentity(referenceOnly!, 'native').compiler).toBe(
      `v8 ${process.versions.v8.replace(/-node\.\d+$/, '')}`,
    );
  });

  it('lists existing source files for every kernel of the reference set', () => {
    for (const name of ALL_KERNELS) {
      const files = kernelSourceFiles(name);
      const all = [...files.reference, ...files.assembly, ...files.native];
      expect(all.length, name).toBeGreaterThan(0);
      for (const f of all) expect(existsSync(f), `${name}: ${f}`).toBe(true);
    }
  });

  it('changes only for the kernel whose AssemblyScript, Rust or reference source was edited', () => {
    const before = identities('wasm');
    const edit = (rel: string) =>
      writeFileSync(join(copy, rel), `${readFileSync(join(copy, rel), 'utf8')}\n// edited\n`);
    edit('assembly/binEvents.ts');
    const afterAssembly = identities('wasm');
    expect(changed(before, afterAssembly)).toEqual(['binEvents']);
    edit('native/src/cash_statistics.rs');
    expect(changed(afterAssembly, identities('wasm'))).toEqual(['cashStatistics']);
    const beforeRef = identities('js');
    edit('src/reference/correlate.ts');
    expect(changed(beforeRef, identities('js'))).toEqual(['correlateDisk']);
  });

  it('changes for every compiled kernel when a shared helper they all use is edited', () => {
    const before = identities('native');
    writeFileSync(join(copy, 'native/src/common.rs'), '// edited\n', { flag: 'a' });
    expect(changed(before, identities('native'))).toEqual([...COMPILED_KERNELS].sort());
  });
});

describe('selectBackend and loadKernels', () => {
  const saved = process.env.PIPE_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIPE_KERNELS;
    else process.env.PIPE_KERNELS = saved;
  });

  it('honours PIPE_KERNELS and an explicit request, and returns an error value for an unknown backend', async () => {
    process.env.PIPE_KERNELS = 'js';
    expect(await selectBackend()).toBe('js');
    expect(await selectBackend('wasm')).toBe('wasm');
    const bad = await selectBackend('gpu');
    expect(isBackendUnavailable(bad) && bad.reason).toMatch(/unknown kernel backend "gpu"/);
    process.env.PIPE_KERNELS = 'nonsense';
    const load = await tryLoadKernels();
    expect(load.ok).toBe(false);
    await expect(loadKernels()).rejects.toThrow(/PIPE_KERNELS/);
  });

  it('prefers native, then WASM, by default', async () => {
    delete process.env.PIPE_KERNELS;
    const chosen = await selectBackend();
    const native = await selectBackend('native');
    expect(chosen).toBe(isBackendUnavailable(native) ? 'wasm' : 'native');
    if (isBackendUnavailable(native)) expect(native.hint).toMatch(/build:native/);
    const js = await loadKernels('js');
    expect(Object.keys(js).sort()).toEqual(Object.keys(referenceKernels).sort());
  });
});

describe('rebuildWasm', () => {
  it('returns the compiler diagnostics as a value and keeps the previous module', async () => {
    const first = await rebuildWasmAt(copy, 'stackAdd');
    expect(first).toEqual({ ok: true, built: ['stackAdd'], failures: [] });
    const module = join(copy, 'build', 'stackAdd.wasm');
    const before = statSync(module).mtimeMs;
    writeFileSync(
      join(copy, 'assembly/stackAdd.ts'),
      'export function stackAdd(): void { let x: i32 = "not a number"; }\n',
    );
    const broken = await rebuildWasmAt(copy, 'stackAdd');
    expect(broken.ok).toBe(false);
    expect(broken.failures[0]?.diagnostics).toMatch(/stackAdd\.ts/);
    expect(statSync(module).mtimeMs).toBe(before);
    const unknown = await rebuildWasmAt(copy, 'noSuchKernel');
    expect(unknown.failures[0]?.diagnostics).toMatch(/no AssemblyScript source/);
  });
});

describe('the @pipe/kernels/seam entry (what the engine loads on its main thread)', () => {
  it('loads neither the kernels nor their WASM and native wrappers', async () => {
    // A resolve hook prints every module the import loads; the seam must stay small, since every build that
    // runs a kernel step pays for it before its first task starts.
    const { spawnSync } = await import('node:child_process');
    const hooks = join(copy, 'hooks.mjs');
    writeFileSync(
      hooks,
      `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write(r.url + '\\n'); return r; }`,
    );
    const register = join(copy, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module'; import { pathToFileURL } from 'node:url'; register(pathToFileURL(${JSON.stringify(hooks)}));`,
    );
    const seam = join(packageRoot(), 'dist', 'seam.js');
    const r = spawnSync(
      process.execPath,
      ['--import', register, '--input-type=module', '-e', `await import(${JSON.stringify(seam)})`],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const loaded = r.stderr
      .split('\n')
      .filter((l) => l.includes('/kernels/dist/'))
      .map((l) => l.slice(l.indexOf('/kernels/dist/') + '/kernels/dist/'.length));
    expect(loaded).toContain('seam.js');
    expect(loaded).toContain('select.js');
    expect(
      loaded.filter((m) => m.startsWith('reference/') || m === 'index.js' || m === 'wasm/backend.js'),
    ).toEqual([]);
  });

  it('answers as the package does', async () => {
    const seam = await import('../src/seam.js');
    const backend = await selectBackend();
    expect(await seam.selectBackend()).toBe(backend);
    for (const k of ALL_KERNELS)
      expect(seam.kernelIdentity(k, backend as string)).toEqual(kernelIdentity(k, backend as string));
  });
});

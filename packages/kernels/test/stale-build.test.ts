// A kernel's code that is older than its sources (edited, or checked out, since the last build) is refused by name:
// the identity hashes the sources, so results of the old code would be kept under the new sources' key.
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { staleKernelBuild } from '../src/identity.js';
import { nativeAddonFile } from '../src/native/addon.js';
import { packageRoot } from '../src/paths.js';

const KERNELS = packageRoot();
let copy: string | undefined;
afterEach(() => {
  delete process.env.PIPE_KERNELS_ROOT;
  if (copy) rmSync(copy, { recursive: true, force: true });
  copy = undefined;
});

/** A copy of the kernels' sources and builds, timestamps kept, that PIPE_KERNELS_ROOT points the package at. */
function copyKernels(): string {
  copy = mkdtempSync(join(tmpdir(), 'pipe-stale-'));
  for (const part of ['assembly', 'build', 'native/src', 'native/Cargo.toml', 'src'])
    if (existsSync(join(KERNELS, part)))
      cpSync(join(KERNELS, part), join(copy, part), { recursive: true, preserveTimestamps: true });
  process.env.PIPE_KERNELS_ROOT = copy;
  return copy;
}

const later = (file: string) => {
  const t = new Date(Date.now() + 60_000);
  utimesSync(file, t, t);
};
/** An edit: other bytes, and a time after the build's. */
const edited = (file: string) => {
  appendFileSync(file, '\n// edited\n');
  later(file);
};

describe('staleKernelBuild', () => {
  it('is quiet for a build as new as its sources', () => {
    copyKernels();
    for (const backend of ['js', 'wasm', ...(nativeAddonFile() ? ['native'] : [])])
      expect(staleKernelBuild(['cashStatistics', 'correlateDisk'], backend)).toBeUndefined();
  });

  it("names an AssemblyScript source newer than the kernel's WASM module, for the wasm backend only", () => {
    const root = copyKernels();
    // Touched (or checked out again) with the text it was built from: the module's record of its sources says so
    // (src/built-from.ts), and `npm run build`, a turbo cache hit, would not make the module newer.
    later(join(root, 'assembly/cashStatistics.ts'));
    expect(staleKernelBuild(['cashStatistics'], 'wasm')).toBeUndefined();
    edited(join(root, 'assembly/cashStatistics.ts'));
    expect(staleKernelBuild(['correlateDisk', 'cashStatistics'], 'wasm')).toBe(
      'kernel cashStatistics (wasm backend): assembly/cashStatistics.ts changed after build/cashStatistics.wasm was built: build the kernels (npm run build) before building with them',
    );
    expect(staleKernelBuild(['correlateDisk'], 'wasm')).toBeUndefined();
    expect(staleKernelBuild(['cashStatistics'], 'js')).toBeUndefined();
  });

  it.skipIf(!nativeAddonFile())(
    'names a Rust source newer than the native addon, for the native backend',
    () => {
      const root = copyKernels();
      later(join(root, 'native/src/correlate_disk.rs'));
      expect(staleKernelBuild(['correlateDisk'], 'native')).toBeUndefined(); // touched: the bytes it was built from
      edited(join(root, 'native/src/correlate_disk.rs'));
      expect(staleKernelBuild(['correlateDisk'], 'native')).toMatch(
        /^kernel correlateDisk \(native backend\): native\/src\/correlate_disk\.rs changed after build\/native\/pipe-kernels\.\S+\.node was built/,
      );
      expect(staleKernelBuild(['correlateDisk'], 'wasm')).toBeUndefined();
    },
  );
});

describe('autoFallbackNote', () => {
  it('names an addon that is there but does not load, once an automatic choice passed it over; quiet when there is none', (ctx) => {
    const addon = nativeAddonFile();
    if (!addon) return ctx.skip(); // no native build here: nothing to break
    const root = copyKernels();
    const broken = join(root, 'build', 'native', basename(addon));
    writeFileSync(broken, 'not an ELF file');
    // A fresh process: the addon is loaded (or not) once per process.
    const ask = (env: NodeJS.ProcessEnv) =>
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(pathToFileURL(join(KERNELS, 'dist', 'select.js')).href)}); const b = await m.selectBackend(); console.log(JSON.stringify({ b, note: m.autoFallbackNote(b) ?? null, asked: m.autoFallbackNote(b, 'wasm') ?? null }))`,
        ],
        { env: { ...process.env, ...env, PIPE_KERNELS: '' }, encoding: 'utf8' },
      );
    const said = JSON.parse(ask({ PIPE_KERNELS_ROOT: root })) as {
      b: string;
      note: string | null;
      asked: string | null;
    };
    expect(said.b).toBe('wasm');
    expect(said.asked).toBeNull(); // a backend asked for is what the user said: no note
    expect(said.note).toContain(`native addon ${broken} failed to load`);
    expect(said.note).toContain('npm run build:native');
    expect(said.note?.split(broken).length).toBe(2); // the path once, not repeated from node's message
    rmSync(broken);
    expect(JSON.parse(ask({ PIPE_KERNELS_ROOT: root }))).toEqual({ b: 'wasm', note: null, asked: null });
  });
});

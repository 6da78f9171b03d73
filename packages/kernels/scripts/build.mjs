// The package build (`npm run build`, run by turbo after `npm ci`): TypeScript → dist/, every
// AssemblyScript kernel → build/<kernel>.wasm, and the native addon when cargo is present and
// PIPE_BUILD_NATIVE is not 0. Native is optional: a failed or impossible native build leaves the
// WASM backend in charge (PIPE_BUILD_NATIVE=1 makes it mandatory). `--no-native` skips it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const { rebuildWasm } = await import('../dist/wasm/compile.js');
const wasm = await rebuildWasm();
for (const failure of wasm.failures) process.stderr.write(`AssemblyScript kernel ${failure.kernel} failed to compile:\n${failure.diagnostics}\n`);
if (!wasm.ok) process.exit(1);

const mode = process.argv.includes('--no-native') ? '0' : (process.env.PIPE_BUILD_NATIVE ?? 'auto');
if (mode === '0') process.exit(0);
const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.status !== 0) {
  const line = 'pipe kernels: cargo not found, native addon not built (WASM will be used); install Rust (rustup) and run `npm run build:native -w @pipe/kernels`';
  process.stderr.write(`${line}\n`);
  process.exit(mode === '1' ? 1 : 0);
}
const native = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (native.status !== 0) {
  process.stderr.write('pipe kernels: native addon build failed (WASM will be used); rerun `npm run build:native -w @pipe/kernels` to see why\n');
  process.exit(mode === '1' ? 1 : 0);
}

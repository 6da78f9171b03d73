// Builds the Rust napi-rs addon into build/native/ (release, this platform) and records the rustc
// version that made it (it enters the kernels' identity). Usage: node scripts/build-native.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('@napi-rs/cli/package.json')), 'cli.mjs');
const outDir = join(root, 'build', 'native');
mkdirSync(outDir, { recursive: true });

const result = spawnSync(
  process.execPath,
  [cli, 'build', '--release', '--platform', '--no-js', '--manifest-path', 'native/Cargo.toml', '--target-dir', join(root, 'native', 'target'), '--output-dir', 'build/native', '--dts', 'index.d.ts'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CARGO_TERM_PROGRESS_WHEN: 'never' } },
);
if (result.status !== 0) process.exit(result.status ?? 1);

const rustc = execFileSync('rustc', ['-V'], { encoding: 'utf8' }).trim();
const meta = { version: 1, rustc, platform: process.platform, arch: process.arch, builtAt: new Date().toISOString() };
const temp = join(outDir, `meta.json.${process.pid}.tmp`);
writeFileSync(temp, `${JSON.stringify(meta, null, 2)}\n`);
renameSync(temp, join(outDir, 'meta.json'));

// The sources the addon was built from, by content: a source touched since is not stale (src/built-from.ts). From
// this package's compiled modules: a copy of the sources built elsewhere (pipe watch's tests) may have none, and its
// addon is then judged by time alone.
const compiled = await Promise.all([import('../dist/built-from.js'), import('../dist/native/addon.js')]).catch(() => undefined);
const [{ recordBuiltFrom }, { nativeAddonFile }] = compiled ?? [{}, { nativeAddonFile: () => undefined }];
const addon = nativeAddonFile();
const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)],
  );
if (addon) recordBuiltFrom(addon, [...sources(join(root, 'native', 'src')), join(root, 'native', 'Cargo.toml')].sort());
// Not recorded: a record of an earlier build must not vouch for this one.
else for (const f of readdirSync(outDir)) if (f.endsWith('.sources.json')) rmSync(join(outDir, f), { force: true });

/**
 * The kernels memo (fingerprint/kernel-memo.ts): the backend choice and kernel identities are taken from
 * `.pipe/kernels.memo` while every file the seam read them from keeps its stamp, and asked of the seam again when
 * one changes, when the request differs, when a file was modified as they were read (racily clean), or when the
 * memo is unreadable. A seam that cannot name its files is never memoised.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { chooseKernels } from '../src/fingerprint/kernel-memo.js';
import type { KernelSeam } from '../src/fingerprint/steps.js';

/** The seam's files (a stamped folder), and the workspace's `.pipe` where the memo is written. */
let dir: string;
let dotPipe: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-kmemo-'));
  dotPipe = mkdtempSync(path.join(tmpdir(), 'pipe-kmemo-ws-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dotPipe, { recursive: true, force: true });
});

/** A file last modified a minute ago (outside the racy window). */
function oldFile(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  const past = new Date(Date.now() - 60_000);
  utimesSync(f, past, past);
  return f;
}

/**
 * Kernels `names` (files `k.src`) and the backend file, all dated a minute ago, as is their folder (nothing racily
 * clean); the memo's path.
 */
function oldKernels(backend: string, ...names: string[]): string {
  for (const k of names) oldFile(`${k}.src`, `kernel ${k}`);
  oldFile('backend', backend);
  const past = new Date(Date.now() - 60_000);
  utimesSync(dir, past, past);
  return path.join(dotPipe, 'kernels.memo');
}

/** A seam whose kernel `k` is identified by the hash of file `k.src`, and whose backend is the `backend` file. */
function seam(loads: { n: number }, withFiles = true) {
  return async (): Promise<KernelSeam> => {
    loads.n++;
    return {
      async selectBackend(requested) {
        if (requested === 'bogus') return { error: 'unknown kernel backend "bogus"' };
        return requested ?? readFileSync(path.join(dir, 'backend'), 'utf8');
      },
      kernelIdentity(name, backend) {
        const text = readFileSync(path.join(dir, `${name}.src`));
        return { name, sourceHash: createHash('sha256').update(text).digest('hex'), compiler: 'c1', backend };
      },
      ...(withFiles
        ? {
            identityFiles: (names: readonly string[]) => ({
              files: [...names.map((n) => path.join(dir, `${n}.src`)), path.join(dir, 'backend')],
              dirs: [dir],
            }),
          }
        : {}),
    };
  };
}

it('answers from the memo while the files are unchanged, and asks the seam again when one changes', async () => {
  const memo = oldKernels('native', 'a', 'b');
  const loads = { n: 0 };
  const first = await chooseKernels(['b', 'a'], undefined, seam(loads), memo);
  expect(first.ok && first.backend).toBe('native');
  expect(loads.n).toBe(1);
  const again = await chooseKernels(['a', 'b'], undefined, seam(loads), memo);
  expect(loads.n).toBe(1); // from the memo: the seam is not loaded
  expect(again).toEqual({ ...first, files: { files: expect.any(Array), dirs: [dir] } });
  expect(again.ok && [...again.ids.keys()]).toEqual(['a', 'b']);
  expect(again.ok && again.files?.files.sort()).toEqual(
    ['a.src', 'b.src', 'backend'].map((f) => path.join(dir, f)),
  );

  // An edited kernel source (modified a minute ago, so the new answer is memoised too).
  oldFile('a.src', 'kernel a, edited');
  const edited = await chooseKernels(['a', 'b'], undefined, seam(loads), memo);
  expect(loads.n).toBe(2);
  expect(edited.ok && edited.ids.get('a')?.sourceHash).not.toBe(first.ok && first.ids.get('a')?.sourceHash);
  expect(edited.ok && edited.ids.get('b')).toEqual(first.ok && first.ids.get('b'));
  await chooseKernels(['a', 'b'], undefined, seam(loads), memo);
  expect(loads.n).toBe(2);

  // Another backend file (e.g. the native addon built or gone): chosen again.
  oldFile('backend', 'wasm');
  const rebuilt = await chooseKernels(['a', 'b'], undefined, seam(loads), memo);
  expect(loads.n).toBe(3);
  expect(rebuilt.ok && rebuilt.backend).toBe('wasm');

  // Another request, or another kernel set: an entry of its own; the first stays.
  const requested = await chooseKernels(['a', 'b'], 'js', seam(loads), memo);
  expect(requested.ok && requested.backend).toBe('js');
  expect(loads.n).toBe(4);
  await chooseKernels(['a'], undefined, seam(loads), memo);
  expect(loads.n).toBe(5);
  await chooseKernels(['a', 'b'], undefined, seam(loads), memo);
  await chooseKernels(['a', 'b'], 'js', seam(loads), memo);
  expect(loads.n).toBe(5);
});

it('does not memoise an answer read from a file modified just now, an error, or a seam without its files', async () => {
  oldFile('a.src', 'kernel a');
  writeFileSync(path.join(dir, 'backend'), 'native'); // modified now: racily clean
  const memo = path.join(dotPipe, 'kernels.memo');
  const loads = { n: 0 };
  await chooseKernels(['a'], undefined, seam(loads), memo);
  await chooseKernels(['a'], undefined, seam(loads), memo);
  expect(loads.n).toBe(2);

  oldFile('backend', 'native');
  expect(await chooseKernels(['a'], 'bogus', seam(loads), memo)).toEqual({
    ok: false,
    error: 'unknown kernel backend "bogus"',
  });
  await chooseKernels(['a'], 'bogus', seam(loads), memo);
  expect(loads.n).toBe(4);

  const bare = { n: 0 };
  await chooseKernels(['a'], undefined, seam(bare, false), path.join(dotPipe, 'bare.memo'));
  await chooseKernels(['a'], undefined, seam(bare, false), path.join(dotPipe, 'bare.memo'));
  expect(bare.n).toBe(2);
});

it("keeps the seam's note on an automatic choice (a broken native addon) for every build that uses the memo", async () => {
  const memo = oldKernels('wasm', 'a');
  const loads = { n: 0 };
  const noting = async (): Promise<KernelSeam> => ({
    ...(await seam(loads)()),
    // As @pipe/kernels' seam: a note only for the automatic choice (nothing requested).
    fallbackNote: (backend, requested) =>
      backend === 'wasm' && requested === undefined
        ? 'the kernels run as wasm: native addon x failed to load'
        : undefined,
  });
  const first = await chooseKernels(['a'], undefined, noting, memo);
  expect(first.ok && first.note).toBe('the kernels run as wasm: native addon x failed to load');
  const again = await chooseKernels(['a'], undefined, noting, memo);
  expect(loads.n).toBe(1);
  expect(again.ok && again.note).toBe(first.ok && first.note);
  // Asked for (even the backend the note names): no note.
  const asked = await chooseKernels(['a'], 'wasm', noting, memo);
  expect(asked.ok && asked.backend).toBe('wasm');
  expect(asked.ok && asked.note).toBeUndefined();
});

it('an unreadable memo is ignored and replaced', async () => {
  const memo = oldKernels('native', 'a');
  writeFileSync(memo, '{"format": "pipe-kernels-memo", "version": 1, "entr');
  const loads = { n: 0 };
  const got = await chooseKernels(['a'], undefined, seam(loads), memo);
  expect(got.ok && got.backend).toBe('native');
  expect(JSON.parse(readFileSync(memo, 'utf8')).entries).toHaveLength(1);
  await chooseKernels(['a'], undefined, seam(loads), memo);
  expect(loads.n).toBe(1);
});

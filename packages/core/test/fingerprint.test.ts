/** The fingerprint: canonical encoding, key stability, the fast record encoder, and step code hashes. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { identityOf } from '@pipe/cache/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/fingerprint/canonical.js';
import {
  BUILT_CODE_HASHES,
  codeHash,
  knownCodeHashes,
  seedCodeHashes,
  sourceOf,
  writeBuiltCodeHashes,
} from '../src/fingerprint/code-hash.js';
import { encodeRecord, keyOf, makeRecord } from '../src/fingerprint/record.js';

const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('-0'));

describe('canonical encoding', () => {
  it('ignores key order and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson(-0)).toBe('0');
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });

  it('the record encoder writes exactly the canonical encoding of the record', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), json),
        fc.dictionary(fc.string(), fc.array(fc.tuple(fc.string(), fc.string()))),
        fc.dictionary(fc.string(), fc.option(fc.string(), { nil: null })),
        fc.option(fc.array(fc.string()), { nil: undefined }),
        fc.option(fc.record({ id: fc.string(), data: json }), { nil: undefined }),
        fc.dictionary(fc.string(), fc.string()),
        (params, inputs, env, argv, item, outputs) => {
          const record = makeRecord({
            step: {
              name: 's',
              version: '1',
              code: 'c',
              kernels: [{ name: 'k', sourceHash: 'h', compiler: 'x', backend: 'wasm' }],
            },
            params: params as Record<string, unknown>,
            inputs,
            env,
            ...(argv ? { argv } : {}),
            ...(item ? { item } : {}),
            outputs,
          });
          expect(encodeRecord(record)).toBe(canonicalJson(record));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the key follows an input's file order (the step gets them so), and changes with any hash", () => {
    const parts = (inputs: Array<[string, string]>) => ({
      step: { name: 's', version: '1', code: '', kernels: [] },
      params: { a: 1 },
      inputs: { x: inputs },
      env: {},
      outputs: { o: 'out/o.txt' },
    });
    const a = keyOf(
      makeRecord(
        parts([
          ['p/1', 'aa'],
          ['p/2', 'bb'],
        ]),
      ),
    );
    expect(
      keyOf(
        makeRecord(
          parts([
            ['p/2', 'bb'],
            ['p/1', 'aa'],
          ]),
        ),
      ),
    ).not.toBe(a);
    expect(
      keyOf(
        makeRecord(
          parts([
            ['p/2', 'bc'],
            ['p/1', 'aa'],
          ]),
        ),
      ),
    ).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('code hash', () => {
  function pkg() {
    const root = mkdtempSync(path.join(tmpdir(), 'pipe-code-'));
    mkdirSync(path.join(root, 'src/steps'), { recursive: true });
    mkdirSync(path.join(root, 'dist/steps'), { recursive: true });
    writeFileSync(
      path.join(root, 'src/steps/s.ts'),
      "import { helper } from '../lib/helper.js';\nimport { z } from 'zod';\nexport default helper;\n",
    );
    mkdirSync(path.join(root, 'src/lib'), { recursive: true });
    writeFileSync(path.join(root, 'src/lib/helper.ts'), 'export const helper = 1;\n');
    writeFileSync(path.join(root, 'src/lib/unused.ts'), 'export const unused = 1;\n');
    writeFileSync(path.join(root, 'dist/steps/s.js'), "import { helper } from '../lib/helper.js';\n");
    mkdirSync(path.join(root, 'dist/lib'), { recursive: true });
    writeFileSync(path.join(root, 'dist/lib/helper.js'), 'export const helper = 1;\n');
    return root;
  }

  /** pkg() with a second step module t importing the same helper; every file dated a minute ago (not racy). */
  function twoModules() {
    const root = pkg();
    const mod = path.join(root, 'dist/steps/s.js');
    const other = path.join(root, 'dist/steps/t.js');
    writeFileSync(other, "import { helper } from '../lib/helper.js';\n");
    writeFileSync(path.join(root, 'src/steps/t.ts'), "import { helper } from '../lib/helper.js';\n");
    const old = new Date(Date.now() - 60_000);
    for (const f of ['steps/s', 'steps/t', 'lib/helper'])
      for (const [dir, ext] of [
        ['src', 'ts'],
        ['dist', 'js'],
      ])
        utimesSync(path.join(root, dir!, `${f}.${ext}`), old, old);
    return { root, mod, other };
  }

  it('hashes the TypeScript sources of a dist module and its relative imports, not bare ones', () => {
    const root = pkg();
    const mod = path.join(root, 'dist/steps/s.js');
    expect(sourceOf(mod)).toBe(path.join(root, 'src/steps/s.ts'));
    const h = codeHash(mod);
    // The compiled files are watched with them (they do not enter the hash).
    expect(h.files).toEqual(
      ['dist/lib/helper.js', 'dist/steps/s.js', 'src/lib/helper.ts', 'src/steps/s.ts'].map((f) =>
        path.join(root, f),
      ),
    );
    expect(h.stale).toBeUndefined();
    writeFileSync(path.join(root, 'src/lib/unused.ts'), 'export const unused = 2;\n');
    expect(codeHash(mod).hash).toBe(h.hash);
    writeFileSync(path.join(root, 'src/lib/helper.ts'), 'export const helper = 2;\n');
    expect(codeHash(mod).hash).not.toBe(h.hash);
  });

  it('does not follow type-only imports (TypeScript erases them): their modules never run', () => {
    const root = pkg();
    const mod = path.join(root, 'dist/steps/s.js');
    writeFileSync(
      path.join(root, 'src/steps/s.ts'),
      [
        "import type { Geometry } from '../lib/geometry.js';",
        "export type { Axis } from '../lib/axis.js';",
        "import { type Flag } from '../lib/flag.js';",
        "import { helper } from '../lib/helper.js';",
        'export default helper;',
        '',
      ].join('\n'),
    );
    for (const f of ['geometry', 'axis', 'flag'])
      writeFileSync(path.join(root, `src/lib/${f}.ts`), `export interface ${f} { a: number }\n`);
    const h = codeHash(mod);
    // `import { type Flag }` may compile to `import {}`, which loads the module: followed.
    expect(h.files).toContain(path.join(root, 'src/lib/flag.ts'));
    expect(h.files).not.toContain(path.join(root, 'src/lib/geometry.ts'));
    expect(h.files).not.toContain(path.join(root, 'src/lib/axis.ts'));
    writeFileSync(path.join(root, 'src/lib/geometry.ts'), 'export interface Geometry { b: string }\n');
    writeFileSync(path.join(root, 'src/lib/axis.ts'), 'export interface Axis { b: string }\n');
    expect(codeHash(mod).hash).toBe(h.hash);
    writeFileSync(path.join(root, 'src/lib/flag.ts'), 'export interface Flag { b: string }\n');
    expect(codeHash(mod).hash).not.toBe(h.hash);
  });

  it('says a module is stale when a source changed after its compiled file, or has none', () => {
    const root = pkg();
    const mod = path.join(root, 'dist/steps/s.js');
    const helper = path.join(root, 'src/lib/helper.ts');
    const compiled = path.join(root, 'dist/lib/helper.js');
    const old = new Date(Date.now() - 60_000);
    for (const f of ['src/steps/s.ts', 'src/lib/helper.ts', 'dist/steps/s.js', 'dist/lib/helper.js'])
      utimesSync(path.join(root, f), old, old);
    expect(codeHash(mod).stale).toBeUndefined();
    // Edited, not compiled yet: its results would be keyed by code that did not make them.
    writeFileSync(helper, 'export const helper = 5;\n');
    expect(codeHash(mod).stale).toBe(
      `${helper} changed after ${compiled} was compiled: build the package (npm run build, or tsc -b) before building with it`,
    );
    // Compiled: fine again (the compiled file's stamp moved, so the remembered answer is not reused).
    writeFileSync(compiled, 'export const helper = 5;\n');
    expect(codeHash(mod).stale).toBeUndefined();
    // Saved unchanged, then compiled by tsc -b: it writes no new helper.js but its .tsbuildinfo, so not stale.
    utimesSync(compiled, old, old);
    writeFileSync(helper, 'export const helper = 5;\n');
    expect(codeHash(mod).stale).toMatch(/changed after/);
    writeFileSync(path.join(root, 'dist/.tsbuildinfo'), '{}');
    expect(codeHash(mod).stale).toBeUndefined();
    rmSync(compiled);
    expect(codeHash(mod).stale).toMatch(
      /helper\.ts has no compiled helper\.js in .*dist\/lib: build the package/,
    );
  });

  it('remembers a hash (also from an earlier run) only while its files keep their stamps', () => {
    const root = pkg();
    const mod = path.join(root, 'dist/steps/s.js');
    const old = new Date(Date.now() - 60_000);
    for (const f of ['src/steps/s.ts', 'src/lib/helper.ts', 'dist/steps/s.js', 'dist/lib/helper.js'])
      utimesSync(path.join(root, f), old, old);
    const first = codeHash(mod);
    const [known] = knownCodeHashes([mod]);
    expect(known?.[2]).toEqual(first);
    // An earlier run's value is trusted while the stamps hold (here a planted one, to see it is used)...
    seedCodeHashes([[mod, known![1], { hash: 'from-the-pipeline-cache', files: first.files }]]);
    expect(codeHash(mod).hash).toBe('from-the-pipeline-cache');
    // ...and recomputed once a file changes, even to the same size.
    writeFileSync(path.join(root, 'src/lib/helper.ts'), 'export const helper = 3;\n');
    const after = codeHash(mod).hash;
    expect(after).not.toBe('from-the-pipeline-cache');
    expect(after).not.toBe(first.hash);
    // A file modified just now (within a clock tick) is not remembered: the next ask hashes again.
    expect(knownCodeHashes([mod])).toEqual([]);
  });

  it('checks several remembered hashes with one stat per shared file, taken once for the question', () => {
    const { root, mod, other } = twoModules();
    const first = { s: codeHash(mod), t: codeHash(other) };
    const seen = new Map();
    expect(codeHash(mod, seen)).toEqual(first.s);
    const afterS = seen.size;
    expect(codeHash(other, seen)).toEqual(first.t);
    // t's own two files (source and compiled) were statted; helper's were taken for s already.
    expect(seen.size).toBe(afterS + 2);
    const helper = path.join(root, 'src/lib/helper.ts');
    expect(seen.get(helper)).toEqual(identityOf(statSync(helper, { bigint: true })));
    // The identities taken for the question decide it: an edit after they were taken is seen by the next question.
    writeFileSync(helper, 'export const helper = 4;\n');
    expect(codeHash(mod, seen)).toEqual(first.s);
    expect(codeHash(mod).hash).not.toBe(first.s.hash);
  });

  it("uses the hashes a package's build recorded in its dist/ while their files keep their stamps", () => {
    const { root, mod, other } = twoModules();
    const dist = path.join(root, 'dist');
    // Recorded by the build (here for s only); t gets a planted entry with its files' real stamps, to see that a
    // process which has not hashed t yet takes the recorded value...
    expect(writeBuiltCodeHashes(dist, [mod])).toBe(1);
    const file = path.join(dist, BUILT_CODE_HASHES);
    const stampOf = (f: string) => [
      path.join(root, f),
      identityOf(statSync(path.join(root, f), { bigint: true })),
    ];
    const planted = [
      other,
      [stampOf('src/steps/t.ts'), stampOf('src/lib/helper.ts')],
      { hash: 'recorded-by-the-build', files: [] },
    ];
    writeFileSync(file, JSON.stringify([...JSON.parse(readFileSync(file, 'utf8')), planted]));
    expect(codeHash(other).hash).toBe('recorded-by-the-build');
    // ...and hashes again once one of them changes.
    writeFileSync(path.join(root, 'src/lib/helper.ts'), 'export const helper = 4;\n');
    expect(codeHash(other).hash).not.toBe('recorded-by-the-build');
  });

  it('watches an import of a file not there yet, and hashes it once it is (nothing remembered meanwhile)', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pipe-code-'));
    writeFileSync(path.join(root, 'step.mjs'), "import { label } from './label.mjs';\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(root, 'step.mjs'), old, old);
    const before = codeHash(path.join(root, 'step.mjs'));
    expect(before.files).toEqual([path.join(root, 'label.mjs'), path.join(root, 'step.mjs')]);
    expect(knownCodeHashes([path.join(root, 'step.mjs')])).toEqual([]);
    writeFileSync(path.join(root, 'label.mjs'), "export const label = 'x';\n");
    const after = codeHash(path.join(root, 'step.mjs'));
    expect(after.hash).not.toBe(before.hash);
    writeFileSync(path.join(root, 'label.mjs'), "export const label = 'y';\n");
    expect(codeHash(path.join(root, 'step.mjs')).hash).not.toBe(after.hash);
  });

  it('hashes plain JS when the package ships no src', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pipe-code-'));
    writeFileSync(path.join(root, 'step.mjs'), "import './a.mjs';\n");
    writeFileSync(path.join(root, 'a.mjs'), 'export {};\n');
    expect(codeHash(path.join(root, 'step.mjs')).files).toEqual([
      path.join(root, 'a.mjs'),
      path.join(root, 'step.mjs'),
    ]);
  });

  it("follows CommonJS require (tsc's CommonJS output), folder indexes and plain template-literal imports", () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pipe-code-'));
    mkdirSync(path.join(root, 'lib/util'), { recursive: true });
    writeFileSync(
      path.join(root, 'step.js'),
      [
        'const h = require("./lib/helper");',
        "const u = require('./lib/util');",
        'const t = import(`./lib/tmpl.mjs`);',
        // computed at run time: cannot be followed, and must not be taken for a file named "./lib/${name}"
        'const d = import(`./lib/${name}.mjs`);',
        'module.exports = { run() {} };',
      ].join('\n'),
    );
    writeFileSync(path.join(root, 'lib/helper.js'), 'module.exports = 1;\n');
    writeFileSync(path.join(root, 'lib/util/index.js'), 'module.exports = 2;\n');
    writeFileSync(path.join(root, 'lib/tmpl.mjs'), 'export default 3;\n');
    const step = path.join(root, 'step.js');
    const first = codeHash(step);
    expect(first.files).toEqual(
      ['lib/helper.js', 'lib/tmpl.mjs', 'lib/util/index.js', 'step.js'].map((f) => path.join(root, f)),
    );
    writeFileSync(path.join(root, 'lib/helper.js'), 'module.exports = 10;\n');
    const second = codeHash(step);
    expect(second.hash).not.toBe(first.hash);
    writeFileSync(path.join(root, 'lib/util/index.js'), 'module.exports = 20;\n');
    expect(codeHash(step).hash).not.toBe(second.hash);
  });
});

/** A step module that does not parse: pipe names the line (node's import() error says only what is wrong). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

describe('pipe plan: a step module with a syntax error', () => {
  it('names the file, line and column of the error', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/bad.mjs, outputs: [a.txt]}\n',
      'steps/bad.mjs': 'export default {\n  name: "bad", version: "1",\n  run() { const x = ; },\n};\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(`Unexpected token ';' (at ${ws.path('steps/bad.mjs')}:3:21)`);
  });

  // Found by helper-113: an error in a module the step imports was reported as the step's, with no place.
  it('names the imported module and line when the error is there', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/ok.mjs, outputs: [a.txt]}\n',
      'steps/ok.mjs':
        'import { label } from "./lib/label.mjs";\nexport default { name: "ok", version: "1", run() { label(); } };\n',
      'steps/lib/label.mjs': 'export function label(t) {\n  return (t;\n}\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(`Unexpected token ';' (at ${ws.path('steps/lib/label.mjs')}:2:12)`);
  });
});

describe('pipe plan: a step importing a name its helper does not export', () => {
  // Found by helper-155: node names the name and the module, not the import (a helper saved empty mid-write).
  it('names the file, line and column of that import', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/ok.mjs, outputs: [a.txt]}\n',
      'steps/ok.mjs':
        'import { label } from "./lib/label.mjs";\nexport default { name: "ok", version: "1", run() { label(); } };\n',
      'steps/lib/label.mjs':
        'import x, { size,\n  clip } from "./clip.mjs";\nexport const label = () => clip(x, size);\n',
      'steps/lib/clip.mjs': 'export default 1;\nexport const size = 2;\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(
      `does not provide an export named 'clip' (at ${ws.path('steps/lib/label.mjs')}:2:3)`,
    );
  });
});

describe('pipe plan: a step whose version is a number', () => {
  // Found by helper-150: `version: 1` was refused as "does not default-export a step", which it does.
  it('says which key is wrong and how to write it', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/v.mjs, outputs: [a.txt]}\n',
      'steps/v.mjs': 'export default { name: "v", version: 1, run() {} };\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("'version' is a number (1), not a string: write version: '1'");
  });
});

describe('pipe build: a step module with keys pipe does not read', () => {
  it('warns once per module, at its step:, with the way to validate params; the build still runs', async () => {
    const step = `import { writeFileSync } from 'node:fs';
export default { name: 'show', version: '1', params: { r: { type: 'number' } }, validatParams() {},
  run(ctx) { writeFileSync(ctx.outputs.o, typeof ctx.params.r); } };
`;
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  a: {step: ./steps/show.mjs, params: {r: 1}, outputs: {o: a.txt}}\n  b: {step: ./steps/show.mjs, params: {r: 2}, outputs: {o: b.txt}}\n',
      'steps/show.mjs': step,
    });
    const run = await ws.run(['build', 'a', 'b']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      "pipe.yaml:3:13: warning: the step module of target 'a' exports 'params' in its step, which pipe does not read: a step has 'name', 'version', 'run', 'validateParams', 'outputs', 'kernels', 'warm'",
    );
    expect(run.stderr).toContain("hint: to check a target's params, write validateParams(p) (docs/steps.md)");
    expect(run.stderr).toContain("exports 'validatParams' in its step");
    expect(run.stderr).toContain("hint: did you mean 'validateParams'?");
    // Once per module, not once per target using it.
    expect(run.stderr.match(/exports 'params'/g)).toHaveLength(1);
    expect(ws.read('a.txt')).toBe('number');
  });
});

describe("pipe plan: a step outside the repository that imports one of pipe's packages", () => {
  // Found by helper-142: following docs/steps.md in a workspace of one's own, `import … from '@pipe/astro'` failed
  // with node's "Cannot find package" alone; the packages are not published, the docs' npm install is the way.
  it('says how to install it from the checkout pipe runs from', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/maps.mjs, outputs: [a.txt]}\n',
      'steps/maps.mjs':
        'import { readDataset } from "@pipe/astro";\nexport default { name: "maps", version: "1", run() { readDataset; } };\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("Cannot find package '@pipe/astro'");
    const packages = path.resolve(import.meta.dirname, '..', 'packages');
    expect(plan.stderr).toContain(
      `pipe's packages are not published: install @pipe/astro from pipe's checkout into the step's folder or one above it (npm install ${packages}/astro, see docs/steps.md)`,
    );
  });
});

describe('pipe build: a step written in TypeScript and compiled to CommonJS', () => {
  it('runs: its exports.default (with __esModule) is the step, as TypeScript and Babel mean it', async () => {
    // What `tsc` makes of `export default {…}` without "type": "module": node's import gives module.exports as the
    // default, the step one level down (before, 'does not default-export a step').
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  a: {step: ./steps/upper.cjs, inputs: {x: x.txt}, outputs: {o: a.txt}}\n',
      'x.txt': 'hi\n',
      'steps/upper.cjs': [
        '"use strict";',
        'Object.defineProperty(exports, "__esModule", { value: true });',
        'const fs = require("node:fs");',
        'exports.default = {',
        '  name: "upper", version: "1",',
        '  run(ctx) { fs.writeFileSync(ctx.outputs.o, fs.readFileSync(ctx.inputs.x[0], "utf8").toUpperCase()); },',
        '};',
        '',
      ].join('\n'),
    });
    const build = await ws.run(['build', 'a']);
    expect(build.stderr).toContain('ran       a');
    expect(build.code).toBe(0);
    expect(ws.read('a.txt')).toBe('HI\n');
  });
});

describe('pipe build: a step module that throws', () => {
  it("names the place in the module where it threw, besides the error's message", async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/boom.mjs, outputs: [a.txt]}\n',
      'steps/boom.mjs':
        'export default {\n  name: "boom", version: "1",\n  run() {\n    JSON.parse("{oops");\n  },\n};\n',
    });
    const build = await ws.run(['build', 'a']);
    expect(build.code).toBe(1);
    expect(build.stderr).toMatch(
      new RegExp(
        `FAILED +a: step failed: .* in JSON at position 1 \\(at ${ws.path('steps/boom.mjs')}:4:10\\)\n`,
      ),
    );
  });
});

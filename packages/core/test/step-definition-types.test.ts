/**
 * The step contract's TypeScript types, as a step author uses them (docs/steps.md: `import type { StepDefinition }
 * from '@pipe/core'`): checked by the compiler, since vitest does not type-check.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'pipe-step-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The compiler's errors for `source`, a module beside a copy of nothing: it imports the contract by path. */
function typeErrors(source: string): string[] {
  const file = path.join(dir, 'step.ts');
  writeFileSync(file, source);
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const contract = path.resolve(import.meta.dirname, '../src/model/step.js');

describe('StepDefinition', () => {
  // Found by helper-142 following docs/steps.md: a TypeScript step whose run writes its output and returns nothing,
  // as the docs' own example and the line-counts step do, did not compile ("Type 'void' is not assignable").
  it('takes a run that returns nothing, plain or async, and one that returns a result', () => {
    const errors = typeErrors(`import type { StepDefinition } from ${JSON.stringify(contract)};
export const plain: StepDefinition<{ who: string }> = {
  name: 'hello', version: '1',
  run(ctx) { void ctx.params.who; },
};
export const later: StepDefinition = { name: 'later', version: '1', async run() { await Promise.resolve(); } };
export const result: StepDefinition = { name: 'result', version: '1', run: () => ({ metadata: { n: 1 } }) };
`);
    expect(errors).toEqual([]);
  });

  it('still refuses a run that returns something else', () => {
    const errors = typeErrors(`import type { StepDefinition } from ${JSON.stringify(contract)};
export const wrong: StepDefinition = { name: 'wrong', version: '1', run: () => 42 };
`);
    expect(errors.join('\n')).toContain("Type 'number' is not assignable");
  });
});

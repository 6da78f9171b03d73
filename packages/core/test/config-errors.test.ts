import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline, renderDiagnostic } from '../src/config/index.js';
import { expandArgv } from '../src/execute/executor.js';
import type { Diagnostic } from '../src/model/types.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

async function diagnosticsOf(
  files: Record<string, string>,
  options: { paramOverrides?: Record<string, string>; configFile?: string } = {},
): Promise<{ dir: string; diagnostics: Diagnostic[] }> {
  const dir = makeWorkspace(files);
  dirs.push(dir);
  const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir, ...options });
  // Errors of single targets (a missing input) are deferred to the commands that need the target.
  if (result.ok && result.pipeline.deferred) return { dir, diagnostics: result.pipeline.deferred };
  if (result.ok) throw new Error('expected the pipeline to be rejected');
  return { dir, diagnostics: result.diagnostics };
}

/** code, file (relative), line, col and hint of each error, in report order. */
function summary(dir: string, diagnostics: Diagnostic[]) {
  return diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => ({
      code: d.code,
      at: d.span ? `${path.relative(dir, d.span.file)}:${d.span.line}:${d.span.col}` : undefined,
      ...(d.hint ? { hint: d.hint } : {}),
    }));
}

describe('loadPipeline: every problem is reported with its place', () => {
  it('reports all YAML syntax errors', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: x\n  b: [1, 2\n',
    });
    expect(summary(dir, diagnostics).map((d) => d.code)).toEqual(['yaml-syntax', 'yaml-syntax']);
    expect(diagnostics.map((d) => d.span?.file)).toEqual([
      path.join(dir, 'pipe.yaml'),
      path.join(dir, 'pipe.yaml'),
    ]);
    // Each at the bracket left open (yaml finds it where the next line starts).
    expect(diagnostics.map((d) => `${d.span!.line}:${d.span!.col}`)).toEqual(['3:6', '4:6']);
    expect(diagnostics[0]!.message).toBe(
      'Flow map in block collection must be sufficiently indented and end with a }',
    );
  });

  it('a key indented unlike the key above it: one error, at the key, with both indentations', async () => {
    const less = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, x, "{outputs.o}"]\n   inputs: {src: x}\n    outputs: {o: out.txt}\n',
    });
    // yaml also reports line 6 (lined up with line 4, not with the misaligned line 5): a consequence, not told.
    expect(summary(less.dir, less.diagnostics)).toEqual([
      {
        code: 'yaml-syntax',
        at: 'pipe.yaml:5:4',
        hint: 'keys of one mapping start at the same column (YAML counts the spaces)',
      },
    ]);
    expect(less.diagnostics[0]!.message).toBe(
      "'inputs' is indented 3 spaces, less than the key above it ('command', 4)",
    );
    // More than a `key: value` above: yaml says "Nested mappings are not allowed in compact mappings" on that line.
    const more = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, x, "{outputs.o}"]\n    description: copies\n\n     outputs: {o: out.txt}\n',
    });
    expect(summary(more.dir, more.diagnostics)).toEqual([
      {
        code: 'yaml-syntax',
        at: 'pipe.yaml:7:6',
        hint: "keys of one mapping start at the same column; to nest it under 'description', that key's value must start on the next line ('description:' alone)",
      },
    ]);
    expect(more.diagnostics[0]!.message).toBe(
      "'outputs' is indented 5 spaces, more than the key above it ('description', 4)",
    );
    // Two misaligned lines, each its own error.
    const two = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, x, "{outputs.o}"]\n   inputs: {src: x}\n     outputs: {o: out.txt}\n',
    });
    expect(summary(two.dir, two.diagnostics).map((d) => d.at)).toEqual(['pipe.yaml:5:4', 'pipe.yaml:6:6']);
  });

  it('a missing input whose folder holds the name in another case or Unicode form: did you mean it', async () => {
    const nfd = 'cafe\u0301.txt'; // é decomposed, as macOS writes names
    const { diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    inputs: {i: caf\u00e9.txt}\n    command: [cp, "{inputs.i}", "{outputs.o}"]\n    outputs: {o: out/a.txt}\n  b:\n    inputs: {i: data.txt}\n    command: [cp, "{inputs.i}", "{outputs.o}"]\n    outputs: {o: out/b.txt}\n',
      [nfd]: 'x',
      'Data.TXT': 'y',
    });
    const hints = diagnostics.filter((d) => d.code === 'missing-input').map((d) => d.hint);
    expect(hints).toEqual([
      `did you mean '${nfd}'? Its name differs only in letter case, Unicode normalisation (é composed or not) or blanks, and file names are matched exactly`,
      "did you mean 'Data.TXT'? Its name differs only in letter case, Unicode normalisation (é composed or not) or blanks, and file names are matched exactly",
    ]);
  });

  // Lines ended by a CR alone (classic Mac OS) are lines for YAML and for gammapy's Python; yaml read the whole file as
  // one line ("Nested mappings are not allowed in compact mappings" at 1:9), its diagnostic showing all of it.
  it('a file whose lines end with a CR alone: read line by line, problems at their line', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\rtargets:\r  a:\r    command: [cp, x, "{outputs.o}"]\r    ouputs: {o: out.txt}\r',
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([['unknown-key', 'pipe.yaml:5:5']]);
    const [head, line, squiggle] = renderDiagnostic(diagnostics[0]!, { cwd: dir }).split('\n');
    expect(head).toMatch(/^pipe\.yaml:5:5: error: unknown key 'ouputs'/);
    expect(line).toBe(' 5 |     ouputs: {o: out.txt}');
    expect(squiggle).toBe('   |     ^~~~~~');
  });

  it('an unclosed quote is reported at the quote that opens it, once (not at the end of the file)', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  a:\n    command: [echo, "x]\n    outputs: [o]\n',
    });
    expect(summary(dir, diagnostics)).toEqual([{ code: 'yaml-syntax', at: 'pipe.yaml:4:21' }]);
    expect(diagnostics[0]!.message).toBe('Missing closing "quote');
    const single = await diagnosticsOf({ 'pipe.yaml': "version: 1\nconfig: 'a.yaml\ntargets: {}\n" });
    expect(summary(single.dir, single.diagnostics)).toEqual([{ code: 'yaml-syntax', at: 'pipe.yaml:2:9' }]);
  });

  it('an unquoted {placeholder}: one error per broken line, and a hint to quote it', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, x, "{outputs.o}"]\n    outputs: {o: out/{item}.txt}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'yaml-syntax',
        at: 'pipe.yaml:5:22',
        hint: 'quote a value with {…} in it: YAML reads {x} as a map (e.g. "out/{item}.txt")',
      },
    ]);
    const inList = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, {inputs.src}, "{outputs.o}"]\n    inputs: {src: pipe.yaml}\n    outputs: {o: out.txt}\n',
    });
    expect(summary(inList.dir, inList.diagnostics)).toEqual([
      {
        code: 'wrong-type',
        at: 'pipe.yaml:4:19',
        hint: 'YAML reads an unquoted {inputs.src} as a map: quote it, "{inputs.src}"',
      },
    ]);
    const asString = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: "cp {inputs.src} {outputs.o}"\n    inputs: {src: pipe.yaml}\n    outputs: {o: out.txt}\n',
    });
    expect(asString.diagnostics[0]!.hint).toBe('write it as a list: [cp, "{inputs.src}", "{outputs.o}"]');
  });

  it("a glob over another target's output that matches nothing yet: one error, that it reads an output", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: [cp, x, "{outputs.out}"]\n    outputs: {out: build/a.out}\n  t:\n    command: [cat, "{inputs.src}"]\n    inputs: {src: "build/*.out"}\n    outputs: {out: res/t.txt}\n',
    });
    expect(summary(dir, diagnostics).map((d) => `${d.code} ${d.at}`)).toEqual([
      'glob-matches-output pipe.yaml:8:19',
    ]);
  });

  it('a glob that matches only folders (one per night) says so, with a pattern into them', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  n:\n    foreach: {glob: "raw/*/"}\n    command: [echo, "{item}"]\n    outputs: {o: "out/{item}.txt"}\n  a:\n    inputs: {x: "raw/n*"}\n    command: [cat, "{inputs.x}"]\n    outputs: {o: out/a.txt}\n',
      'raw/n1/a.fits': '1',
      'raw/n2/b.fits': '2',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'empty-foreach',
        at: 'pipe.yaml:4:14',
        hint: "it matches only folders (raw/n1, raw/n2): a glob names files, e.g. 'raw/*/*'",
      },
      {
        code: 'missing-input',
        at: 'pipe.yaml:8:17',
        hint: "it matches only folders (raw/n1, raw/n2): a glob names files, e.g. 'raw/n*/*'",
      },
    ]);
  });

  it("a glob that matches no file says what is there: no such folder, or the folder's files (an extension's typo)", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  n:\n    foreach: {glob: "raw/*.fits"}\n    command: [echo, "{item}"]\n    outputs: {o: "out/{item}.txt"}\n  m:\n    foreach: {glob: "nights/*.fits"}\n    command: [echo, "{item}"]\n    outputs: {o: "out/m/{item}.txt"}\n  a:\n    inputs: {x: "raw/*.fts"}\n    command: [cat, "{inputs.x}"]\n    outputs: {o: out/a.txt}\n',
      'raw/r1.fit': '1',
      'raw/r2.fit': '2',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'empty-foreach',
        at: 'pipe.yaml:4:14',
        hint: "'raw' holds 2 files, none matching: 'r1.fit', 'r2.fit'",
      },
      { code: 'empty-foreach', at: 'pipe.yaml:8:14', hint: "the folder 'nights' does not exist" },
      {
        code: 'missing-input',
        at: 'pipe.yaml:12:17',
        hint: "paths are relative to the file that declares the target; outputs of other targets are found by their exact path; 'raw' holds 2 files, none matching: 'r1.fit', 'r2.fit'",
      },
    ]);
  });

  it("a foreach over a config list (Snakemake's expand) says that ${config…} is not substituted there", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\nconfig: c.yaml\ntargets:\n  t:\n    foreach: "${config.samples}"\n    command: [echo, "{item}"]\n    outputs: ["o/{item}"]\n',
      'c.yaml': 'samples: [a, b]\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'wrong-type',
        at: 'pipe.yaml:5:14',
        hint: '${config…} is not substituted in foreach: list the items here, or glob their files',
      },
    ]);
  });

  it('a ${config…} as an item of a foreach list is refused too (it was an item of that name)', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\nconfig: c.yaml\ntargets:\n  t:\n    foreach: ["${config.samples}", b]\n    command: [echo, "{item}"]\n    outputs: ["o/{item}"]\n',
      'c.yaml': 'samples: [a, b]\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'bad-item',
        at: 'pipe.yaml:5:15',
        hint: 'list the items here, or glob their files',
      },
    ]);
    expect(diagnostics[0]!.message).toBe(
      "foreach item '${config.samples}' of target 't': ${config…} is not substituted in foreach",
    );
  });

  it('warns about a broken symbolic link a glob leaves out (a data disk not mounted drops an item)', async () => {
    const dir = makeWorkspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  n:\n    foreach: {glob: "raw/*.txt"}\n    inputs: {x: "raw/{item}.txt"}\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    outputs: {o: "out/{item}.txt"}\n',
      'raw/a.txt': '1',
    });
    dirs.push(dir);
    symlinkSync('/nonexistent/pipe-test/b.txt', path.join(dir, 'raw/b.txt'));
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.span?.line, d.message])).toEqual([
      [
        'broken-link',
        4,
        "foreach of target 'n': 'raw/b.txt' matches glob 'raw/*.txt' but is a symbolic link to '/nonexistent/pipe-test/b.txt', which does not exist, so it is left out",
      ],
    ]);
  });

  it('an error of the whole pipeline reports, for a command on some targets, only their own missing inputs', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `version: 1
default: [a]
targets:
  d:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: {target: e}}
    outputs: {o: out/d.txt}
  e:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: {target: d}}
    outputs: {o: out/e.txt}
  a:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: a.txt}
    outputs: {o: out/a.txt}
  b:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: b.txt}
    outputs: {o: out/b.txt}
  c:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: {target: b}}
    outputs: {o: out/c.txt}
`,
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (result.ok) throw new Error('expected the pipeline to be rejected');
    const codes = (d: Diagnostic[]) => summary(dir, d).map((x) => `${x.code} ${x.at}`);
    expect(codes(result.diagnostics)).toEqual([
      'cycle pipe.yaml:10:17',
      'missing-input pipe.yaml:14:17',
      'missing-input pipe.yaml:18:17',
    ]);
    // c needs b: b's missing input concerns it; a's does not. None named: the default (a).
    expect(codes(result.relevantTo!(['c']))).toEqual([
      'cycle pipe.yaml:10:17',
      'missing-input pipe.yaml:18:17',
    ]);
    expect(codes(result.relevantTo!([]))).toEqual(['cycle pipe.yaml:10:17', 'missing-input pipe.yaml:14:17']);
  });

  it('a misspelt value of a fixed set (executor: slrum) gets the closest one', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ndefaults: {executor: slrum}\ntargets: {}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'invalid-value', at: 'pipe.yaml:2:22', hint: "did you mean 'slurm'?" },
    ]);
  });

  it("reports a target's other problems along with its shape errors (read as the hints suggest)", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a:
            comand: [cat, "{inputs.x}"]
            inputs: {x: {target: nope}}
            outputs: [out/a.txt]
          b:
            command: [echo]
            outputs: [out/a.txt]
            resources: {cpus: two}
      `,
    });
    expect(summary(dir, diagnostics).map((d) => `${d.code} ${d.at}`)).toEqual([
      'unknown-key pipe.yaml:4:5',
      'unknown-target pipe.yaml:5:17',
      'duplicate-output pipe.yaml:9:15',
      'wrong-type pipe.yaml:10:23',
    ]);
  });

  it("points a misspelt key's other problems at the key written (`param:` read as params was the whole target)", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a:
            command: [cat, "{inputs.x}", "{params.gain}"]
            input: {x: nothere.txt}
            param: {gain: 2}
            outputs: [out/a.txt]
      `,
    });
    // Before: '{params.gain}' named no param (the target's keys were read as its params) and the missing
    // input was placed at the target's first key.
    expect(summary(dir, diagnostics).map((d) => `${d.code} ${d.at}`)).toEqual([
      'unknown-key pipe.yaml:5:5',
      'missing-input pipe.yaml:5:16',
      'unknown-key pipe.yaml:6:5',
    ]);
  });

  it('a YAML merge key (<<: *anchor) shares keys between targets, as YAML 1.1 and PyYAML read it', async () => {
    const dir = makeWorkspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  a: &base {command: [echo], outputs: [a.txt]}\n  b: {<<: *base, outputs: [b.txt]}\n',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const b = result.pipeline.targets.get('b')!;
    expect([b.command, b.outputs]).toEqual([['echo'], { 0: 'b.txt' }]);
  });

  // Found by fuzzing: nested aliases threw yaml's ReferenceError out of doc.toJS() as a stack trace.
  it('aliases that expand to millions of nodes (the billion laughs) are refused at the first alias', async () => {
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
    ].join('\n');
    const { dir, diagnostics } = await diagnosticsOf({ 'pipe.yaml': `version: 1\n${laughs}\ntargets: {}\n` });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'yaml-aliases',
        at: 'pipe.yaml:3:8',
        hint: 'write the repeated values out, or use fewer nested aliases',
      },
    ]);
    expect(diagnostics[0]!.message).toMatch(/^aliases expand to too many nodes \(Excessive alias count/);
    // The same in the parameter file.
    const config = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\nconfig: {file: params.yaml, schema: test.analysis}\ntargets:\n  a: {command: [echo], outputs: [a.txt]}\n',
      'params.yaml': `${laughs}\n`,
    });
    expect(summary(config.dir, config.diagnostics)).toEqual([
      {
        code: 'yaml-aliases',
        at: 'params.yaml:2:8',
        hint: 'write the repeated values out, or use fewer nested aliases',
      },
    ]);
  });

  // Found by an adversarial review: it was called an alias bomb ("use fewer nested aliases"), at the first alias.
  it('an alias used before its anchor is said so, at that alias', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\nvars: {a: &ok x, b: *ok, c: *later, d: &later y}\ntargets: {}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'yaml-alias-unresolved',
        at: 'pipe.yaml:2:29',
        hint: 'YAML reads top to bottom: put the anchor (&later) on a value above its first use',
      },
    ]);
    expect(diagnostics[0]!.message).toBe('alias *later names no anchor set before it');
  });

  // A parameter file whose alias comes before its anchor, or whose << merges a list or a number: PyYAML (gammapy's
  // reader) refuses both; pipe crashed with a stack trace (exit 70: toJS() threw "Unresolved alias", "Merge sources must
  // be maps or map aliases") or, for `<<: 5`, dropped the merge and went on.
  it('a parameter file with an alias before its anchor or a merge of no mapping: an error at its place, no crash', async () => {
    const config = (text: string) =>
      diagnosticsOf({
        'pipe.yaml':
          'version: 1\nconfig: {file: params.yaml, schema: test.analysis}\ntargets:\n  a: {command: [echo], outputs: [a.txt]}\n',
        'params.yaml': text,
      });
    const early = await config('geom: {binsz: *b}\nb: &b 0.1\n');
    expect(summary(early.dir, early.diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['yaml-alias-unresolved', 'params.yaml:1:15'],
    ]);
    const list = await config('l: &l [1]\ngeom: {<<: [*l], binsz: 0.1}\n');
    expect(summary(list.dir, list.diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['yaml-merge', 'params.yaml:2:13'],
    ]);
    expect(list.diagnostics[0]!.message).toBe(
      'a merge key (<<) takes a mapping, an alias of one or a list of them, not a list (*l)',
    );
    const number = await config('geom: {<<: 5, binsz: 0.1}\n');
    expect(summary(number.dir, number.diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['yaml-merge', 'params.yaml:1:12'],
    ]);
    // A list of mappings, inline or by alias, is a merge PyYAML takes.
    const fine = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\nconfig: {file: params.yaml, schema: test.analysis}\ntargets:\n  a: {command: [echo], outputs: [a.txt]}\n',
      'params.yaml': 'm: &m {binsz: 0.1}\ngeom: {<<: [*m, {x: 1}]}\n',
    }).catch((e: Error) => e.message);
    expect(fine).toBe('expected the pipeline to be rejected');
  });

  // Found by giving --config a folder: "cannot read …: EISDIR: illegal operation on a directory, read".
  it('a --config path that is a folder, a link to nowhere or a loop of links says which', async () => {
    const dir = makeWorkspace({
      'pipe.yaml':
        'version: 1\nconfig: {file: params.yaml, schema: test.analysis}\ntargets:\n  a: {command: [echo], outputs: [a.txt]}\n',
      'folder/x.txt': 'x',
    });
    dirs.push(dir);
    symlinkSync('nowhere.yaml', path.join(dir, 'dangling.yaml'));
    symlinkSync('loop-b.yaml', path.join(dir, 'loop-a.yaml'));
    symlinkSync('loop-a.yaml', path.join(dir, 'loop-b.yaml'));
    const messageFor = async (configFile: string) => {
      const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir, configFile });
      return result.ok ? 'loaded' : result.diagnostics.map((d) => d.message).join('\n');
    };
    const said = (name: string, why: string) =>
      `--config ${name}: cannot read ${path.join(dir, name)}: ${why}`;
    expect(await messageFor('folder')).toBe(said('folder', 'a folder, not a file'));
    expect(await messageFor('dangling.yaml')).toBe(
      said('dangling.yaml', "a symbolic link to 'nowhere.yaml', which does not exist"),
    );
    expect(await messageFor('loop-a.yaml')).toBe(said('loop-a.yaml', 'a loop of symbolic links'));
    expect(await messageFor('missing.yaml')).toBe(said('missing.yaml', 'file not found'));
  });

  // Found by breaking a gammapy config: an anchor set on a merge key's inline value (`<<: &centre {…}`) is set for
  // PyYAML, which registers it as it reads the node; pipe replaced the node by its pairs and lost the anchor, so a later
  // alias crashed the command (exit 70, "ReferenceError: Unresolved alias"). (config-duplicate-keys.test.ts: the same
  // for an anchor on an overridden key.)
  it("an anchor on a merge key's inline value still names that value, as PyYAML reads it", async () => {
    const dir = makeWorkspace({
      'pipe.yaml': [
        'version: 1',
        'targets:',
        '  a:',
        '    command: [echo, "{params.cone.lon}", "{params.centre.lat}", "{params.copy.x}"]',
        '    params:',
        '      cone: {<<: &c {lon: 83.6, lat: 22.0}, radius: 5}',
        '      more: {<<: [&d {x: 1}], y: 2}',
        '      centre: *c',
        '      copy: *d',
        '    outputs: [a.txt]',
      ].join('\n'),
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => renderDiagnostic(d)).join('\n'));
    expect(result.pipeline.targets.get('a')!.params).toEqual({
      cone: { radius: 5, lon: 83.6, lat: 22.0 },
      more: { y: 2, x: 1 },
      centre: { lon: 83.6, lat: 22.0 },
      copy: { x: 1 },
    });
  });

  // Found by an adversarial review: gammapy reads its config with PyYAML, which applies << merge keys; pipe refused
  // them as an unknown key '<<'.
  it('applies << merge keys as PyYAML does: own keys win, then the merged maps in order', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': [
        'version: 1',
        'targets:',
        '  a:',
        '    command: [echo, "{params.e.min}", "{params.e.max}", "{params.f.nbins}"]',
        '    params:',
        '      base: &b {min: 1, max: 10, nbins: 5}',
        '      other: &o {nbins: 7, extra: z}',
        '      e: {<<: *b, max: 20}',
        '      f: {<<: [*o, *b]}',
        '    outputs: [a.txt]',
      ].join('\n'),
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.pipeline.targets.get('a')!.params).toMatchObject({
      e: { min: 1, max: 20, nbins: 5 },
      f: { nbins: 7, extra: 'z', min: 1, max: 10 },
    });
  });

  // Found by fuzzing: a byte that is not UTF-8 became U+FFFD, and an output named 'flux_err\uFFFD' was refused
  // as a map the step does not compute.
  it('a file that is not UTF-8 is refused at the first bad byte, by line and column', async () => {
    const dir = makeWorkspace({});
    dirs.push(dir);
    const bytes = Buffer.concat([
      Buffer.from('version: 1\n# é ok\ntargets:\n  a: {command: [echo, é'),
      Buffer.from([0xe9]), // Latin-1 é
      Buffer.from('], outputs: [a.txt]}\n'),
    ]);
    writeFileSync(path.join(dir, 'pipe.yaml'), bytes);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.diagnostics;
    expect(summary(dir, errors)).toEqual([
      {
        code: 'not-utf8',
        at: 'pipe.yaml:4:24',
        hint: 'YAML files are read as UTF-8: save the file in that encoding',
      },
    ]);
    expect(errors[0]!.message).toBe(
      'the file is not UTF-8 text: byte 0xE9 at line 4, column 24 (byte offset 52) is not valid UTF-8',
    );
  });

  it('a tab in an indentation is said alone, not with the indentation errors of every line after it', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n\tcommand: [echo, hi]\n    outputs: [a.txt]\n  b:\n    command: [echo, b]\n    outputs: [b.txt]\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'yaml-syntax',
        at: 'pipe.yaml:4:1',
        hint: 'indent with spaces: YAML reads a tab as no indentation',
      },
    ]);
  });

  it('a data file given as the pipeline or config (gzip, FITS) is named for what it is', async () => {
    const dir = makeWorkspace({});
    dirs.push(dir);
    const fits = Buffer.concat([
      Buffer.from('SIMPLE  =                    T'.padEnd(2880)),
      Buffer.from([0, 0x80, 0xff]),
    ]);
    for (const [bytes, kind] of [
      [Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]), 'gzip-compressed data'],
      [fits, 'a FITS file'],
    ] as const) {
      writeFileSync(path.join(dir, 'pipe.yaml'), bytes);
      const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
      const errors = result.ok ? [] : result.diagnostics;
      expect(summary(dir, errors).map((e) => [e.code, e.hint])).toEqual([
        ['not-utf8', `this is ${kind}, not YAML text: name the YAML file here, and the data in it`],
      ]);
    }
    // UTF-16 (with a byte-order mark, or without: every other byte 0) is text in another encoding, not data.
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: 1\n', 'utf16le')]),
      Buffer.from('version: 1\ntargets: {}\n', 'utf16le'),
    ]) {
      writeFileSync(path.join(dir, 'pipe.yaml'), bytes);
      const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
      const errors = result.ok ? [] : result.diagnostics;
      expect(summary(dir, errors).map((e) => e.hint)).toEqual([
        'this file is UTF-16 text: YAML files are read as UTF-8, save it in that encoding',
      ]);
    }
  });

  it('a quoted number (version: "1", cpus: "2") is refused with the number to write', async () => {
    const { dir, diagnostics } = await diagnosticsOf({ 'pipe.yaml': 'version: "1"\ntargets: {}\n' });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'invalid-value', at: 'pipe.yaml:1:10', hint: 'write it without quotes, as a number: 1' },
    ]);
    const cpus = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {command: [echo], outputs: [x], resources: {cpus: "2"}}\n',
    });
    expect(summary(cpus.dir, cpus.diagnostics)).toEqual([
      { code: 'wrong-type', at: 'pipe.yaml:3:56', hint: 'write it without quotes, as a number: 2' },
    ]);
  });

  it('a glob with a brace left open says so', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  n:\n    foreach: {glob: "raw/{a,b.txt"}\n    command: [echo, "{item}"]\n    outputs: {o: "out/{item}.txt"}\n  m:\n    inputs: {x: "raw/{a,b*.txt"}\n    command: [cat, "{inputs.x}"]\n    outputs: {o: out/m.txt}\n',
      'raw/a.txt': '1',
    });
    expect(summary(dir, diagnostics).map((d) => d.hint)).toEqual([
      "the '{' at character 5 is never closed with '}': it is read as a literal '{'",
      "the '{' at character 5 is never closed with '}': it is read as a literal '{'",
    ]);
  });

  it('an unknown step names the registered steps it extends, or all of them', async () => {
    const registered = fixtureRegistry().names();
    const prefix = registered[0]!.slice(0, -2);
    const close = await diagnosticsOf({
      'pipe.yaml': `version: 1\ntargets:\n  a:\n    step: ${prefix.slice(0, 3)}\n    outputs: {o: out.txt}\n`,
    });
    expect(close.diagnostics[0]!.hint).toMatch(/^did you mean '/);
    const far = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  a:\n    step: zzzzzzzzzzzz\n    outputs: {o: out.txt}\n',
    });
    expect(far.diagnostics[0]!.hint).toBe(
      `registered steps: ${registered.join(', ')}, and command; a module path starts with ./ or ../`,
    );
  });

  it('reports unknown keys with "did you mean", wrong types and formats, all at once', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a:
            command: [echo, hi]
            ouputs: [build/a.txt]
            resources: {cpus: two, mem: 4GB, time: '1:75:00'}
          b:
            step: test.copy
            inputs: {x: 3}
            foreach: {globb: '*.fits'}
      `,
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'unknown-key', at: 'pipe.yaml:5:5', hint: "did you mean 'outputs'?" },
      { code: 'wrong-type', at: 'pipe.yaml:6:23' },
      { code: 'invalid-value', at: 'pipe.yaml:6:33' },
      { code: 'invalid-value', at: 'pipe.yaml:6:44' },
      { code: 'wrong-type', at: 'pipe.yaml:9:17' },
      { code: 'unknown-key', at: 'pipe.yaml:10:15', hint: "did you mean 'glob'?" },
    ]);
    expect(diagnostics[1]!.message).toBe("'resources.cpus' of target 'a': expected number, got string 'two'");
    expect(diagnostics[2]!.message).toContain('memory must look like 4G');
  });

  it("says what a Snakemake rule's shell, script, run or threads is here", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a:
            shell: "sort {input} > {output}"
            outputs: [build/a.txt]
            threads: 4
      `,
    });
    expect(summary(dir, diagnostics).filter((d) => d.code === 'unknown-key')).toEqual([
      {
        code: 'unknown-key',
        at: 'pipe.yaml:4:5',
        hint: "pipe runs no shell: command: [program, arg, ...] with {inputs.x}, {outputs.y} (shell syntax: [sh, -c, '...'])",
      },
      {
        code: 'unknown-key',
        at: 'pipe.yaml:6:5',
        hint: 'resources: {cpus: N}; a command reads them from the environment variable PIPE_CPUS',
      },
    ]);
  });

  it("an unknown key in foreach is answered with every form foreach takes, the list too (not only {glob}'s and {items}' keys)", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          b: {command: [echo, '{item}'], foreach: {list: [x, y]}, outputs: ['b/{item}.txt']}
      `,
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'unknown-key',
        at: 'pipe.yaml:3:44',
        hint: 'foreach is a list of items ([a, b]), {glob: PATTERN} or {items: TARGET}',
      },
    ]);
  });

  it('rejects a command written as a string, with the list to write instead', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        'version: 1\ntargets:\n  a:\n    command: python plot.py --out x.png\n    outputs: [x.png]\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'command-not-array',
        at: 'pipe.yaml:4:14',
        hint: 'write it as a list: [python, plot.py, --out, x.png]',
      },
    ]);
    // Shell syntax in it: split into words it would reach the program as a literal '>', so a shell is suggested.
    const shell = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  a:\n    command: echo hi > x.txt\n    outputs: [x.txt]\n',
    });
    expect(summary(shell.dir, shell.diagnostics)[0]?.hint).toBe(
      'it uses shell syntax, so run it with a shell: [sh, -c, "echo hi > x.txt"] (outputs and inputs as "$0", "$1" after it: [sh, -c, \'echo hi > "$0"\', "{outputs.o}"])',
    );
  });

  it('a missing input path given with --param names the override, not the template, and where it was looked for', async () => {
    const { diagnostics } = await diagnosticsOf(
      {
        'pipe.yaml':
          'version: 1\nconfig: cfg/c.yaml\ntargets:\n  a:\n    inputs: {mask: "${config.mask}"}\n    command: [cp, "{inputs.mask}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
        'cfg/c.yaml': 'mask: m.fits\n',
        'cfg/m.fits': 'x',
      },
      { paramOverrides: { 'config.mask': 'nonexist.fits' } },
    );
    const d = diagnostics.find((x) => x.code === 'missing-input')!;
    expect(d.message).toBe(
      "input 'mask' of target 'a': file 'cfg/nonexist.fits' does not exist (value from --param config.mask=nonexist.fits)",
    );
    expect(d.at).toBeUndefined();
    expect(d.hint).toContain("relative to the config file's folder");
  });

  // Found by helper-110: "the config file has no key 'n' at 'a'" blamed the file, which has it.
  it('a --param that replaces a map by a value is blamed for the keys below it, in params and input paths', async () => {
    const { diagnostics } = await diagnosticsOf(
      {
        'pipe.yaml':
          'version: 1\nconfig: c.yaml\ntargets:\n  a:\n    params: {n: "${config.a.n}"}\n    inputs: {x: "${config.a.dir}/x.txt"}\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    outputs: {o: out.txt}\n',
        'c.yaml': 'a:\n  n: 1\n  dir: d\n',
        'd/x.txt': 'x',
      },
      { paramOverrides: { 'config.a': '1' } },
    );
    expect(diagnostics.map((d) => [d.message, d.hint])).toEqual([
      [
        "'${config.a.n}': --param config.a=1 made 'a' the value 1, which has no key 'n'",
        'override the key itself: --param config.a.n=…',
      ],
      [
        "'${config.a.dir}': --param config.a=1 made 'a' the value 1, which has no key 'dir'",
        'override the key itself: --param config.a.dir=…',
      ],
    ]);
  });

  // Found by helper-110: `${config.x}` in a foreach glob was not substituted ("matches no file").
  it('a foreach glob takes ${config.…}; a wildcard inside the config value is literal, and the hint says so', async () => {
    const pipeline = (glob: string) =>
      `version: 1\nconfig: c.yaml\ntargets:\n  each:\n    foreach: {glob: "${glob}"}\n    command: [cp, "{item.files}", "{outputs.o}"]\n    outputs: {o: "out/{item}.txt"}\n`;
    const dir = makeWorkspace({
      'pipe.yaml': pipeline('${config.dir}/*.txt'),
      'c.yaml': 'dir: runs\npat: runs/*.txt\n',
      'runs/a.txt': 'a',
    });
    dirs.push(dir);
    const loaded = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('; '));
    expect(loaded.pipeline.targets.get('each')?.foreach).toMatchObject({
      kind: 'glob',
      pattern: 'runs/*.txt',
    });
    const { diagnostics } = await diagnosticsOf({
      'pipe.yaml': pipeline('${config.pat}'),
      'c.yaml': 'pat: runs/*.txt\n',
      'runs/a.txt': 'a',
    });
    expect(diagnostics.map((d) => d.hint)).toEqual([
      `'runs' holds one file, none matching: 'a.txt'; its '*' or '?' came from a config value or variable, which is taken as a literal path: write the wildcard in the pipeline file (e.g. "\${config.dir}/*.fits")`,
    ]);
    // An optional value left unset is refused for a fan-out (helper-112: "no task" would retire the target's outputs).
    const unset = await diagnosticsOf({
      'pipe.yaml': pipeline('${config.dir?}/*.txt'),
      'c.yaml': 'other: 1\n',
      'runs/a.txt': 'a',
    });
    expect(unset.diagnostics.map((d) => [d.code, d.message])).toEqual([
      [
        'foreach-glob-unset',
        "the foreach glob of target 'each' (${config.dir?}/*.txt) names a config value that is unset: a fan-out needs its pattern",
      ],
    ]);
  });

  // Found by helper-110: `command: [true]` said "expected string, got boolean true" with no way out.
  it('a word YAML reads as a boolean, number or null where a string goes: quote it', async () => {
    const { diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  t:\n    command: [true, 1.10, ~]\n    outputs: {o: x}\n',
    });
    expect(diagnostics.map((d) => d.hint)).toEqual([
      'YAML reads an unquoted "true" as a boolean: quote it, "true"',
      'YAML reads an unquoted "1.10" as a number: quote it, "1.10"',
      'YAML reads an unquoted "~" as null: quote it, "~"',
    ]);
    // An empty item is no word to quote (helper-112: it was told to quote "null").
    const empty = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  t:\n    command:\n      - echo\n      -\n    outputs: {o: x}\n',
    });
    expect(empty.diagnostics.map((d) => [d.message, d.hint])).toEqual([
      ["'command.1' of target 't': expected string, got null (an empty value)", undefined],
    ]);
  });

  it('reports unknown steps, targets and placeholders with "did you mean"', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {step: test.scael, params: {factor: 1}, outputs: [a.txt]}
          b:
            command: [cat, '{inputs.sorce}', '{item}']
            inputs: {source: {target: aa}}
            needs: [c]
            outputs: [b.txt]
      `,
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'unknown-step', at: 'pipe.yaml:3:13', hint: "did you mean 'test.scale'?" },
      { code: 'unknown-placeholder', at: 'pipe.yaml:5:20', hint: "did you mean 'source'?" },
      { code: 'item-outside-foreach', at: 'pipe.yaml:5:38' },
      { code: 'unknown-target', at: 'pipe.yaml:6:22', hint: "did you mean 'a'?" },
      { code: 'unknown-target', at: 'pipe.yaml:7:13' },
    ]);
  });

  it('reports {item.…} and a dotted param that reaches nothing; a dotted param that exists is fine', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a:
            command: [echo, '{params.opt.level}', '{params.opt.levle}', '{item.id}']
            params: {opt: {level: 3}}
            outputs: [a.txt]
      `,
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:4:43',
        hint: 'a dotted name reaches into a structured param: {params.a.b} is params.a.b',
      },
      { code: 'unknown-placeholder', at: 'pipe.yaml:4:65', hint: '{item} exists only in foreach targets' },
    ]);
    expect(
      expandArgv(['{params.opt.level}', 'x{params.opt}'], {
        inputs: {},
        outputs: {},
        params: { opt: { level: 3 } },
      }),
    ).toEqual(['3', 'x{"level":3}']);
  });

  it('expands {inputs.NAME} inside a larger argument to its one file, and refuses one of several files', () => {
    const req = { inputs: { one: ['/w/a b.txt'], two: ['/w/a b.txt', '/w/c.txt'] }, outputs: {}, params: {} };
    expect(expandArgv(['--in={inputs.one}', '{inputs.two}'], req)).toEqual([
      '--in=/w/a b.txt',
      '/w/a b.txt',
      '/w/c.txt',
    ]);
    expect(() => expandArgv(['--in={inputs.two}'], req)).toThrow(
      `argument '--in={inputs.two}': input 'two' has 2 files, and a placeholder inside a larger argument stands for one; give it an argument of its own ("{inputs.two}", one argument per file)`,
    );
  });

  // helper-112: {resources.cpu} (singular) was told to take a param; any CPU name reads PIPE_CPUS.
  it('points every CPU name under resources to PIPE_CPUS, and other resources to a param', async () => {
    const { diagnostics } = await diagnosticsOf({
      'pipe.yaml':
        "version: 1\ntargets:\n  a:\n    command: [run, '{resources.cpu}', '{resources.cpus_per_task}', '{resources.ncpus}', '{resources.mem_mb}']\n    outputs: {o: a.txt}\n",
    });
    const cpus = 'a command reads its CPUs from the environment variable PIPE_CPUS (resources.cpus)';
    expect(diagnostics.map((d) => d.hint)).toEqual([
      cpus,
      cpus,
      cpus,
      'resources are not substituted in a command (only its CPUs reach it, as PIPE_CPUS): give it the value as a param, and write {params.mem_mb}',
    ]);
  });

  it("refuses Snakemake's placeholders and ${config.…} in a command, which would reach the program as written", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        config: c.yaml
        targets:
          a:
            command: [cp, '{input}', '{output}', '{threads}', '\${config.x.y}', '{config.x.y}', '{params}']
            inputs: {src: c.yaml}
            params: {p: 1}
            outputs: {o: a.txt}
          b:
            foreach: [u, v]
            command: [echo, '{wildcards.sample}', '{log}', '{x}', '{resources.mem}', "print(f'{output}', 1)"]
            outputs: ['b/{item}.txt']
      `,
      'c.yaml': 'x: {y: 1}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'unknown-placeholder', at: 'pipe.yaml:5:19', hint: 'name one: {inputs.src}' },
      { code: 'unknown-placeholder', at: 'pipe.yaml:5:30', hint: 'name one: {outputs.o}' },
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:5:42',
        hint: 'a command reads its CPUs from the environment variable PIPE_CPUS (resources.cpus)',
      },
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:5:55',
        hint: 'take it as a param, params: {y: "${config.x.y}"}, and write {params.y}',
      },
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:5:72',
        hint: 'take it as a param, params: {y: "${config.x.y}"}, and write {params.y}',
      },
      { code: 'unknown-placeholder', at: 'pipe.yaml:5:88', hint: 'name one: {params.p}' },
      { code: 'unknown-placeholder', at: 'pipe.yaml:11:21', hint: "write {item} for the foreach item's id" },
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:11:43',
        hint: "a command's stdout and stderr go to its task's log, .pipe/logs/<build>/<task>.log",
      },
      {
        code: 'unknown-placeholder',
        at: 'pipe.yaml:11:59',
        hint: 'resources are not substituted in a command (only its CPUs reach it, as PIPE_CPUS): give it the value as a param, and write {params.mem}',
      },
    ]);
    expect(diagnostics.find((d) => d.span?.col === 55)?.message).toBe(
      "'${config.x.y}' is not substituted in a command",
    );
    expect(diagnostics.find((d) => d.span?.col === 30)?.message).toBe("'{output}' is not a placeholder");
  });

  it('warns about a workspace file in a command that is not an input (editing it would rerun nothing)', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          plot: {command: [node, plot.js, '{outputs.png}', --flag, ./declared.js], inputs: {s: declared.js}, outputs: {png: p.png}}
      `,
      'plot.js': 'x',
      'declared.js': 'y',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.severity, d.span?.line, d.span?.col, d.hint])).toEqual([
      ['undeclared-command-file', 'warning', 3, 26, 'declare it, e.g. inputs: {script: plot.js}'],
    ]);
  });

  it('warns about a workspace program run by its path that is not an input; a bare name is looked up on PATH', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [./run.sh, '{outputs.o}'], outputs: {o: a.txt}}
          b: {command: [run.sh, '{outputs.o}'], outputs: {o: b.txt}}
          c: {command: ['{inputs.s}', '{outputs.o}'], inputs: {s: run.sh}, outputs: {o: c.txt}}
      `,
      'run.sh': '#!/bin/sh\n',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.span?.line, d.span?.col, d.hint])).toEqual([
      [
        'undeclared-command-file',
        3,
        17,
        'declare it and run it from there: inputs: {script: ./run.sh}, command: ["{inputs.script}", …]',
      ],
    ]);
  });

  it("warns about a command path in an included file written relative to that file's folder (commands run in the root)", async () => {
    const dir = makeWorkspace({
      'pipe.yaml': 'version: 1\ninclude: [sub/more.yaml]\ntargets: {}\n',
      'sub/more.yaml': 'targets:\n  u: {command: [cp, local.txt, "{outputs.o}"], outputs: {o: out/u.txt}}\n',
      'sub/local.txt': 'L',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.span?.line, d.message, d.hint])).toEqual([
      [
        'command-path-not-in-root',
        2,
        "target 'u' runs with 'local.txt', but commands run in the workspace root, where there is no such file (sub/local.txt is one)",
        "declare it as an input, relative to this file (inputs: {x: local.txt}, then '{inputs.x}'), or write 'sub/local.txt'",
      ],
    ]);
  });

  it('loads a command with an inline script longer than a file name may be (no ENAMETOOLONG)', async () => {
    // A '.' makes it look like a path; one component of 300 characters makes stat throw ENAMETOOLONG.
    const script = `console.log(${'1.5+'.repeat(75)}0)`;
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          t: {command: [node, -e, '${script}', '{outputs.o}'], outputs: {o: o.txt}}
      `,
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(true);
  });

  it("warns about a command that names its own output's final path (the task could only fail), before it exists", async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          hard: {command: [cp, in.txt, build/hard.txt], inputs: {i: in.txt}, outputs: {o: build/hard.txt}}
      `,
      'in.txt': 'x',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.severity, d.span?.line, d.span?.col, d.hint])).toEqual([
      [
        'output-path-in-command',
        'warning',
        3,
        32,
        "pass '{outputs.o}' instead: the program then writes a temporary file that pipe puts in place when the task succeeds",
      ],
    ]);
  });

  it('warns when an input that may be several files is embedded in a longer argument (joined with spaces)', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          t: {command: [cat, '--in={inputs.many}', '--one={inputs.one}', '{inputs.many}'], inputs: {many: 'd/*.txt', one: d/a.txt}, outputs: [o.txt]}
      `,
      'd/a.txt': 'a',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.span?.col])).toEqual([['embedded-input-list', 22]]);
  });

  // Found by helper-142: a Snakemake user's `tr a-z A-Z < {input}` split into words failed at run time only, with
  // tr's "extra operand '<'" in the task's log; no shell runs a command, so the load says so with the sh -c form.
  it('warns about a redirect or pipe operator given as an argument (no shell runs a command)', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          up: {command: [tr, a-z, A-Z, '<', '{inputs.t}'], inputs: {t: in.txt}, outputs: {o: o.txt}}
          ok: {command: [sh, -c, 'tr a-z A-Z < "$1" > "$2"', sh, '{inputs.t}', '{outputs.o}'], inputs: {t: in.txt}, outputs: {o: p.txt}}
      `,
      'in.txt': 'x',
    });
    dirs.push(dir);
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.warnings.map((d) => [d.code, d.severity, d.span?.line, d.span?.col, d.message])).toEqual([
      [
        'shell-operator-in-command',
        'warning',
        3,
        32,
        "target 'up' runs with '<' as an argument: no shell runs a command, so the program gets '<' itself, not a redirect",
      ],
    ]);
    expect(result.warnings[0]?.hint).toContain(
      `[sh, -c, 'prog < "$1" > "$2"', sh, "{inputs.NAME}", "{outputs.NAME}"]`,
    );
  });

  it('reports a cycle with its path, at the edge that closes it', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [x], inputs: [{target: c}], outputs: [a]}
          b: {command: [x], inputs: [{target: a}], outputs: [b]}
          c: {command: [x], needs: [b], outputs: [c]}
      `,
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'cycle', at: 'pipe.yaml:4:30', hint: 'remove one of the references along the cycle' },
    ]);
    expect(diagnostics[0]!.message).toBe('dependency cycle: a -> c -> b -> a');
  });

  it('reports missing input files and globs that match nothing, but not outputs of other targets', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [x], inputs: [data/missing.fits, 'data/*.fits', 'target:b'], outputs: [a.fits]}
          b: {command: [x], inputs: [a.fits], outputs: [b.fits]}
      `,
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['missing-input', 'pipe.yaml:3:30'],
      ['missing-input', 'pipe.yaml:3:49'],
      ['missing-input', 'pipe.yaml:3:64'],
    ]);
    expect(diagnostics[2]!.hint).toBe("to read another target's outputs, write {target: NAME}");
  });

  it("refuses a per-item input or a foreach glob that reads another target's output as raw data", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          gen: {command: [x], outputs: [data/gen.txt]}
          each: {foreach: [gen, raw], inputs: {src: 'data/{item}.txt'}, command: [x], outputs: ['out/{item}.o']}
          globbed: {foreach: {glob: 'out/*.o'}, command: [x], outputs: ['res/{item}.r']}
      `,
      'data/raw.txt': 'raw',
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at, d.hint])).toEqual([
      ['input-is-output', 'pipe.yaml:4:45', 'read it as {target: gen}'],
      // (Not also "matches no file": that it reads an output is the problem.)
      [
        'glob-matches-output',
        'pipe.yaml:5:22',
        "fan out over the target's items with {items: each} (its step emits them), or narrow the glob to raw files",
      ],
    ]);
    expect(diagnostics[0]!.message).toBe(
      "input 'src' of target 'each': for item 'gen', 'data/gen.txt' is an output of target 'gen'",
    );
  });

  it("refuses a listed item's output that is another target's declared path", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          each: {foreach: [c, d], command: [x], outputs: {o: 'out/{item}.o'}}
          bb: {command: [x], outputs: {o: out/c.o}}
      `,
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['duplicate-output', 'pipe.yaml:4:35'],
    ]);
    expect(diagnostics[0]!.message).toMatch(
      /^'out\/c\.o' \(target 'bb'\) is also written by target 'each', for item 'c' \('out\/\{item\}\.o', .*pipe\.yaml:3:54\)$/,
    );
  });

  it('refuses placeholders in output paths (they would name files literally)', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {params: {n: 1}, command: [x], outputs: ['out/{params.n}.txt', 'out/\${config.name}.txt', 'out/$NAME.txt', 'out/ok.txt']}
      `,
    });
    expect(summary(dir, diagnostics).map((d) => d.code)).toEqual(Array(3).fill('output-placeholder'));
    expect(diagnostics.map((d) => d.message)).toEqual([
      "output 'out/{params.n}.txt' of target 'a' contains '{params.n}': output paths take no placeholder but {item}",
      "output 'out/${config.name}.txt' of target 'a' contains '${config.name}': output paths take no placeholder but {item}",
      "output 'out/$NAME.txt' of target 'a' contains '$NAME': output paths take no placeholder but {item}",
    ]);
  });

  it('refuses foreach list items that would put a product outside its folder or repeat another path', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          l: {foreach: [ok, ../data/raw, /abs, '', x/./y, x//y], command: [x], outputs: ['out/{item}.txt']}
      `,
    });
    const found = summary(dir, diagnostics);
    // Each at the item, not at the list.
    expect(found.map((d) => [d.code, d.at])).toEqual(
      ['3:21', '3:34', '3:40', '3:44', '3:51'].map((at) => ['bad-item', `pipe.yaml:${at}`]),
    );
    expect(diagnostics.map((d) => d.message)).toEqual([
      `foreach of target 'l': item id "../data/raw" has a '..' segment: its files would leave their folder`,
      `foreach of target 'l': item id "/abs" is an absolute path`,
      "foreach of target 'l': an item id must be a non-empty string",
      `foreach of target 'l': item id "x/./y" has an empty or '.' segment: write it as "x/y"`,
      `foreach of target 'l': item id "x//y" has an empty or '.' segment: write it as "x/y"`,
    ]);
  });

  it('reports two targets writing one path at both places, and foreach outputs without {item}', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [x], outputs: [build/out.fits]}
          b: {command: [x], outputs: {map: build/out.fits}}
          c: {command: [x], foreach: [r1, r2], outputs: [build/c.fits]}
      `,
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['duplicate-output', 'pipe.yaml:4:36'],
      ['foreach-output-without-item', 'pipe.yaml:5:50'],
    ]);
    expect(diagnostics[0]!.related).toEqual([
      {
        message: "'build/out.fits' first declared here, by target 'a'",
        span: { file: path.join(dir, 'pipe.yaml'), line: 3, col: 31, length: 14 },
      },
    ]);
    expect(diagnostics[1]!.hint).toBe("e.g. 'build/c_{item}.fits'");
  });

  it('Slurm settings sbatch would refuse or pipe sets itself: each an error where it is written, before anything runs', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        defaults:
          resources: {partition: "gpu nodes", mem: 1G}
        targets:
          a:
            command: [x]
            outputs: {o: build/a.txt}
            resources: {account: "a;b", extra_sbatch_options: [--qos=high, --output=/tmp/x, "-N 2", --time=10]}
      `,
    });
    expect(
      diagnostics.map((d) => [
        d.code,
        `${path.relative(dir, d.span!.file)}:${d.span!.line}:${d.span!.col}`,
        d.message,
      ]),
    ).toEqual([
      [
        'invalid-value',
        'pipe.yaml:3:26',
        "'defaults.resources.partition': a Slurm partition name is letters, digits and _ . , -",
      ],
      [
        'invalid-value',
        'pipe.yaml:8:26',
        "'resources.account' of target 'a': a Slurm account name is letters, digits and _ . , -",
      ],
      [
        'invalid-value',
        'pipe.yaml:8:68',
        "'resources.extra_sbatch_options.1' of target 'a': sbatch option '--output' is not allowed (the executor sets it, or it is unsafe)",
      ],
      [
        'invalid-value',
        'pipe.yaml:8:85',
        "'resources.extra_sbatch_options.2' of target 'a': sbatch option '-N 2' must be of the form --name or --name=value",
      ],
      [
        'invalid-value',
        'pipe.yaml:8:93',
        "'resources.extra_sbatch_options.3' of target 'a': sbatch option '--time' is not passed as it is: pipe asks Slurm for it from resources.time (sent as --time): write it there",
      ],
    ]);
  });

  it('a token under remote_cache: where a token goes instead', async () => {
    const { diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        remote_cache: {url: 'http://cache:8080/', token: abc}
        targets:
          a: {command: [x], outputs: {o: build/a.txt}}
      `,
    });
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['unknown-key', "unknown key 'token' in 'remote_cache'"],
    ]);
    expect(diagnostics[0]?.hint).toMatch(/PIPE_REMOTE_CACHE_TOKEN/);
  });

  /** down reads one item's product of up by its path. */
  const ITEM_BY_PATH = `
        version: 1
        targets:
          up: {command: [x], foreach: [a, b], outputs: {o: 'build/{item}.txt'}}
          down: {command: [x], inputs: {i: build/b.txt}, outputs: {o: build/down.txt}}
      `;

  it("an input naming one item's product of a foreach target by its path: one error, with what to write", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': ITEM_BY_PATH,
    });
    // Not "would overwrite" and "does not exist" besides, which contradict each other.
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'input-is-item-output',
        at: 'pipe.yaml:4:36',
        hint: 'read all of them, {target: up, output: o}, or item by item from a foreach over the same items, {target: up, output: o, per_item: true}',
      },
    ]);
    expect(diagnostics[0]?.message).toBe(
      "input 'i' of target 'down' is 'build/b.txt', the output 'o' of up[b]: one item's product cannot be read by its path",
    );
  });

  it("an input naming one item's product by its path once that product exists: the error gives both readings", async () => {
    // After `up` was built, build/b.txt is there: the checks cannot tell its product from a file of the user's.
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': ITEM_BY_PATH,
      'build/b.txt': 'made by up[b]',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'output-is-input',
        at: 'pipe.yaml:3:52',
        hint: "give the outputs of 'up' a folder of their own, where no input is read from; or, if 'build/b.txt' is the product up[b] wrote, read all of them, {target: up, output: o}, or item by item from a foreach over the same items, {target: up, output: o, per_item: true}",
      },
    ]);
  });

  it('refuses outputs that name no file, go into .pipe/, or would overwrite a pipeline file or an input, all at once', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        config: cfg.yaml
        include: [sub/pipe.yaml]
        targets:
          c: {command: [x], outputs: {o: build/dir/}}
          d: {command: [x], outputs: {o: ''}}
          e: {command: [x], outputs: {o: .pipe/evil.txt}}
          f: {command: [x], outputs: {o: pipe.yaml}}
          g: {command: [x], params: {k: '\${config.k}'}, outputs: {o: cfg.yaml}}
          i: {command: [x], inputs: [in.txt], outputs: {o: in.txt}}
          j: {command: [x], foreach: {glob: 'data/*.txt'}, outputs: {o: 'cal/{item}.txt'}}
          k: {command: [x], inputs: [cal/gain.txt], outputs: {o: build/k.txt}}
          l: {command: [x], foreach: [pipe, q], outputs: {o: 'sub/{item}.yaml'}}
          m: {command: [x], foreach: [p, q], outputs: {o: 'sub/{item}.yml'}}
          n: {command: [x], foreach: {glob: 'data/*.txt'}, inputs: {c: 'cal2/{item}.txt'}, outputs: {o: 'build/n/{item}'}}
          o: {command: [x], outputs: {o: cal2/a.txt}}
      `,
      'cfg.yaml': 'k: 1\n',
      'sub/pipe.yaml': 'targets: {}\n',
      'in.txt': 'in',
      'data/a.txt': 'a',
      'data/gain.txt': 'g',
      'cal/gain.txt': 'g',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'output-not-a-file',
        at: 'pipe.yaml:5:34',
        hint: "name the file, e.g. 'build/dir/c.txt'; declare each file of a folder as an output (or write one archive)",
      },
      {
        code: 'output-not-a-file',
        at: 'pipe.yaml:6:34',
        hint: "an output is a file path relative to the workspace root, e.g. 'build/d.txt'",
      },
      {
        code: 'output-in-state-folder',
        at: 'pipe.yaml:7:34',
        hint: "write products elsewhere, e.g. 'build/evil.txt'",
      },
      {
        code: 'output-is-source',
        at: 'pipe.yaml:8:34',
        hint: 'a product is written to a path of its own, e.g. under build/',
      },
      {
        code: 'output-is-source',
        at: 'pipe.yaml:9:62',
        hint: 'a product is written to a path of its own, e.g. under build/',
      },
      // Not a cycle of one: the output is the problem.
      {
        code: 'output-is-input',
        at: 'pipe.yaml:10:52',
        hint: "write the product to a path of its own, e.g. 'build/in.txt'",
      },
      {
        code: 'output-is-input',
        at: 'pipe.yaml:11:65',
        hint: "give the outputs of 'j' a folder of their own, where no input is read from; or, if 'cal/gain.txt' is the product j[gain] wrote, read all of them, {target: j, output: o}, or item by item from a foreach over the same items, {target: j, output: o, per_item: true}",
      },
      {
        code: 'output-is-source',
        at: 'pipe.yaml:13:54',
        hint: 'a product is written to a path of its own, e.g. under build/',
      },
      {
        code: 'output-is-input',
        at: 'pipe.yaml:16:34',
        hint: "give the outputs of 'o' a folder of their own, where no input is read from",
      },
    ]);
    expect(diagnostics.map((d) => d.message)).toEqual([
      "output 'build/dir/' of target 'c' ends with '/': it names a folder, and an output is a file",
      "output '' of target 'd' names the workspace folder, not a file",
      "output '.pipe/evil.txt' of target 'e' is inside .pipe/, pipe's own folder (state, cache, logs)",
      "output 'pipe.yaml' of target 'f' is the pipeline file, pipe.yaml: a build would overwrite it",
      "output 'cfg.yaml' of target 'g' is the config file, cfg.yaml: a build would overwrite it",
      "output 'in.txt' of target 'i' is also its input 'default': its task would overwrite the file it reads",
      "output 'cal/{item}.txt' of target 'j' is, for item 'gain', 'cal/gain.txt': input 'default' of target 'k', which a build would overwrite",
      "output 'sub/{item}.yaml' of target 'l' is (for item 'pipe') an included pipeline file, sub/pipe.yaml: a build would overwrite it",
      "output 'cal2/a.txt' of target 'o' is input 'c' of target 'n' ('cal2/{item}.txt') for item 'a', which a build would overwrite",
    ]);
    expect(diagnostics[6]!.related).toEqual([
      {
        message: "'cal/gain.txt' read here",
        span: { file: path.join(dir, 'pipe.yaml'), line: 12, col: 30, length: 12 },
      },
    ]);
  });

  it("refuses a path another target's {item} output names, and two {item} outputs that name one file, at both places", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {command: [x], foreach: {glob: 'd/*.txt'}, outputs: {o: 'build/{item}.out'}}
          b: {command: [x], outputs: {o: build/x.out}}
          h: {command: [x], outputs: {o: build/y.out}}
          g: {command: [x], foreach: {glob: 'd/*.txt'}, outputs: {o: 'build/x_{item}.out'}}
          list: {step: test.copy, outputs: [build/list.json]}
          c: {command: [x], foreach: {items: list}, outputs: {o: 'out/{item}.txt'}}
          e: {command: [x], foreach: {items: list}, outputs: {o: 'out/q_{item}.txt', log: 'out/{item}.log'}}
          f: {command: [x], outputs: {o: out/summary.txt}}
          l1: {command: [x], foreach: [x1, y], outputs: {o: 'lst/{item}.t'}}
          l2: {command: [x], foreach: ['1'], outputs: {o: 'lst/x{item}.t'}}
      `,
      'd/x.txt': 'x',
      'd/x_x.txt': 'x',
    });
    // h's build/y.out is no item of a: d/y.txt is not there (a load with it would refuse it). c and e fan out over
    // items a step emits: their paths are not known at load (expandGraph checks them), so f's out/summary.txt and
    // e's out/q_{item}.txt are not refused for what an id might be.
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'duplicate-output',
        at: 'pipe.yaml:4:34',
        hint: "every output path belongs to one target: give the outputs of 'a' a folder of their own (e.g. 'build/a/{item}.out')",
      },
      {
        code: 'duplicate-output',
        at: 'pipe.yaml:6:62',
        hint: "every output path belongs to one target: give the outputs of 'g' a folder of their own (e.g. 'build/g/x_{item}.out')",
      },
      {
        code: 'duplicate-output',
        at: 'pipe.yaml:12:51',
        hint: "every output path belongs to one target: give the outputs of 'l2' a folder of their own (e.g. 'lst/l2/x{item}.t')",
      },
    ]);
    const file = path.join(dir, 'pipe.yaml');
    expect(diagnostics.map((d) => d.message)).toEqual([
      `'build/x.out' (target 'b') is also written by target 'a', for item 'x' ('build/{item}.out', ${file}:3:62)`,
      `'build/x_x.out' (item 'x' of target 'g') is also written by target 'a', for item 'x_x' ('build/{item}.out', ${file}:3:62)`,
      `'lst/x1.t' (item '1' of target 'l2') is also written by target 'l1', for item 'x1' ('lst/{item}.t', ${file}:11:53)`,
    ]);
    expect(diagnostics[0]!.related).toEqual([
      {
        message: "'build/{item}.out' declared here, by target 'a'",
        span: { file, line: 3, col: 62, length: 18 },
      },
    ]);
  });

  it("an included file's output written relative to its folder: the hint gives the workspace path meant", async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ninclude: [sub/more.yaml]\ntargets: {}\n',
      'sub/more.yaml': 'targets:\n  a: {command: [x], outputs: [../out/a.txt, ../../b.txt]}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      {
        code: 'output-outside-workspace',
        at: 'sub/more.yaml:2:31',
        hint: "outputs are relative to the workspace root, not to the folder of the file declaring them (inputs are): write 'out/a.txt'",
      },
      {
        code: 'output-outside-workspace',
        at: 'sub/more.yaml:2:45',
        hint: 'outputs are paths relative to the workspace root',
      },
    ]);
  });

  it('a target name with a non-ASCII letter: the hint says the letters are ASCII ones', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ntargets:\n  ünï: {command: [x], outputs: [a.txt]}\n',
    });
    expect(summary(dir, diagnostics)).toContainEqual({
      code: 'invalid-target-name',
      at: 'pipe.yaml:3:3',
      hint: 'use ASCII letters (a-z, A-Z), digits, _ . - and start with an ASCII letter or _',
    });
  });

  it('an absolute output path is refused as absolute, with the relative path when it is in the workspace', async () => {
    const dir = makeWorkspace({});
    dirs.push(dir);
    writeFileSync(
      path.join(dir, 'pipe.yaml'),
      `version: 1\ntargets:\n  a: {command: [x], outputs: ["${dir}/build/a.txt", /elsewhere/b.txt]}\n`,
    );
    const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(
      result.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => ({ message: d.message, hint: d.hint })),
    ).toEqual([
      {
        message: `output '${dir}/build/a.txt' is an absolute path`,
        hint: "outputs are paths relative to the workspace root: write 'build/a.txt'",
      },
      {
        message: "output '/elsewhere/b.txt' is an absolute path",
        hint: 'outputs are paths relative to the workspace root',
      },
    ]);
  });

  it('refuses in an included file the keys only the root file is read for (they would be ignored)', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ninclude: [inc.yaml]\ntargets: {}\n',
      'inc.yaml':
        'config: c.yaml\ndefaults: {executor: local}\nvars: {X: ./d}\nremote_cache: {mode: read}\ndefault: [a]\ntargets: {}\n',
    });
    expect(summary(dir, diagnostics)).toEqual(
      ['1:1', '2:1', '3:1', '4:1', '5:1'].map((at) => ({
        code: 'root-only-key',
        at: `inc.yaml:${at}`,
        hint: 'move it to the pipe.yaml that includes this file',
      })),
    );
  });

  it("points at each name of 'default:' that is no target, with a hint, for the commands that build it; an empty list is refused", async () => {
    const targets = 'targets:\n  count: {command: [x], outputs: [c]}\n  plot: {command: [y], outputs: [p]}\n';
    // Not a load error: `pipe build plot` works; `pipe build` (the default) reports these.
    const issuesOf = async (text: string) => {
      const dir = makeWorkspace({ 'pipe.yaml': text });
      dirs.push(dir);
      const result = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
      if (!result.ok) throw new Error('expected the pipeline to load');
      return { dir, diagnostics: result.pipeline.defaultIssues ?? [] };
    };
    const listed = await issuesOf(`version: 1\ndefault: [plot, cuont]\n${targets}`);
    expect(summary(listed.dir, listed.diagnostics)).toEqual([
      { code: 'unknown-target', at: 'pipe.yaml:2:17', hint: "did you mean 'count'?" },
    ]);
    expect(listed.diagnostics[0]!.message).toBe("'default' names unknown target 'cuont'");
    const single = await issuesOf(`version: 1\ndefault: plto\n${targets}`);
    expect(summary(single.dir, single.diagnostics)).toEqual([
      { code: 'unknown-target', at: 'pipe.yaml:2:10', hint: "did you mean 'plot'?" },
    ]);
    expect((await issuesOf(`version: 1\ndefault: plot\n${targets}`)).diagnostics).toEqual([]);
    // Nothing close (a config whose workflow steps name the targets otherwise): the targets there are.
    const far = await issuesOf(`version: 1\ndefault: excess_map\n${targets}`);
    expect(summary(far.dir, far.diagnostics)).toEqual([
      { code: 'unknown-target', at: 'pipe.yaml:2:10', hint: "the pipeline's targets: count, plot" },
    ]);
    const empty = await diagnosticsOf({ 'pipe.yaml': `version: 1\ndefault: []\n${targets}` });
    expect(summary(empty.dir, empty.diagnostics).map((d) => d.at)).toEqual(['pipe.yaml:2:10']);
  });

  it('reports duplicate target names across included files, pointing at both', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': 'version: 1\ninclude: [pipelines/*.yaml]\ntargets:\n  a: {command: [x], outputs: [a]}\n',
      'pipelines/more.yaml': 'targets:\n  a: {command: [y], outputs: [b]}\n',
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['duplicate-target', 'pipelines/more.yaml:2:3'],
    ]);
    expect(diagnostics[0]!.related![0]!.span).toMatchObject({
      file: path.join(dir, 'pipe.yaml'),
      line: 4,
      col: 3,
    });
  });

  it('reports unknown ${config.x} references with "did you mean" from the config file', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        config: params.yaml
        targets:
          a:
            step: test.copy
            params: {r: '\${config.geom.widht}', s: 'x \${env.HOME}'}
            outputs: [a]
      `,
      'params.yaml': 'geom: {width: 5, binsz: 0.02}\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'unknown-config-key', at: 'pipe.yaml:6:18', hint: "did you mean 'width'?" },
      {
        code: 'env-in-params',
        at: 'pipe.yaml:6:47',
        hint: "list HOME under the target's env: and read it in the step (it then enters the task's key)",
      },
    ]);
  });

  it('maps step param issues back to the config file when the value came from ${config...}', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        config: {file: params.yaml, schema: test.analysis}
        targets:
          a:
            step: test.scale
            params:
              factor: -1
              window: \${config.window}
            outputs: [a]
      `,
      'params.yaml': 'geom:\n  binsz: -0.1\nwindow:\n  size: 2.5\n',
    });
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'invalid-config', at: 'params.yaml:2:10', hint: 'degrees per pixel, e.g. 0.02' },
      { code: 'invalid-param', at: 'params.yaml:4:9' },
      { code: 'invalid-param', at: 'pipe.yaml:7:15', hint: 'e.g. 2.5' },
    ]);
    expect(diagnostics.find((d) => d.span?.line === 7)!.message).toBe(
      "param 'factor' of target 'a' (step 'test.scale'): factor must be positive",
    );
  });

  it('refuses an integer a number cannot hold exactly (file:line:col, and in --param); 2^53 − 1 and floats pass', async () => {
    const files = {
      'pipe.yaml': [
        'version: 1',
        'config: params.yaml',
        'targets:',
        '  a: {command: [echo, "{params.big}"], params: {big: 12345678901234567890, ok: 9007199254740991,',
        '      hex: 0x20000000000001, neg: -0x20000000000001, f: 1.5e300}, outputs: [a.txt]}',
      ].join('\n'),
      'params.yaml': 'seed: 9007199254740993\n',
    };
    const { dir, diagnostics } = await diagnosticsOf(files);
    const hint =
      'quote it to keep it as text ("12345678901234567890"); integers beyond 2^53 (9007199254740992) lose digits as numbers';
    // (-0x… is a string in YAML 1.2's core schema, as yaml reads it: no number, no loss)
    expect(summary(dir, diagnostics)).toEqual([
      { code: 'inexact-integer', at: 'pipe.yaml:4:54', hint },
      { code: 'inexact-integer', at: 'pipe.yaml:5:12', hint },
    ]);
    expect(diagnostics[0]!.message).toBe(
      'the integer 12345678901234567890 cannot be held exactly (it would be read as 12345678901234567000)',
    );
    // Quoted, it is text and loads; in the config file, and in an override, it is refused too.
    const quoted = { ...files, 'pipe.yaml': files['pipe.yaml'].replace(/((?:0x)?[0-9]{14,})/g, '"$1"') };
    const config = await diagnosticsOf(quoted);
    expect(summary(config.dir, config.diagnostics)).toEqual([
      { code: 'inexact-integer', at: 'params.yaml:1:7', hint },
    ]);
    const overridden = await diagnosticsOf(
      { ...quoted, 'params.yaml': 'seed: 1\n' },
      { paramOverrides: { 'a.big': '98765432109876543210' } },
    );
    expect(overridden.diagnostics.map((d) => [d.code, d.message])).toEqual([
      [
        'inexact-integer',
        '--param a.big=98765432109876543210: the integer 98765432109876543210 cannot be held exactly',
      ],
    ]);
  });

  // Found by an adversarial review: 1.0e400 or .inf reached the task key and crashed the build (exit 70,
  // "cannot encode Infinity canonically") with no place named.
  it('refuses a number that is not finite (.inf, .nan, 1e400) at its place, and in --param', async () => {
    const files = {
      'pipe.yaml':
        'version: 1\ntargets:\n  a: {command: [echo], params: {x: .inf, y: -1.0e400, z: .nan, ok: 1.0e300}, outputs: [a.txt]}\n',
    };
    const { dir, diagnostics } = await diagnosticsOf(files);
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['not-finite', 'pipe.yaml:3:36'],
      ['not-finite', 'pipe.yaml:3:45'],
      ['not-finite', 'pipe.yaml:3:58'],
    ]);
    expect(diagnostics[1]!.message).toBe('the number -1.0e400 is not finite (it reads as -Infinity)');
    const overridden = await diagnosticsOf(
      { 'pipe.yaml': 'version: 1\ntargets:\n  a: {command: [echo], params: {x: 1}, outputs: [a.txt]}\n' },
      { paramOverrides: { 'a.x': '1e999' } },
    );
    expect(overridden.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['not-finite', '--param a.x=1e999: the number 1e999 is not finite'],
    ]);
  });

  it('rejects --param overrides of unknown keys, with "did you mean"', async () => {
    const { diagnostics } = await diagnosticsOf(
      {
        'pipe.yaml':
          'version: 1\nconfig: params.yaml\ntargets:\n  stack: {step: test.scale, params: {factor: 2}, outputs: [s]}\n',
        'params.yaml': 'excess_map: {correlation_radius: 0.1 deg}\n',
      },
      {
        paramOverrides: {
          'excess_map.corelation_radius': '0.2 deg',
          'stack.factr': '3',
          'stak.factor': '1',
          factor: '4', // the param without its target
        },
      },
    );
    expect(diagnostics.map((d) => [d.code, d.hint])).toEqual([
      ['unknown-param-override', "did you mean 'excess_map.correlation_radius'?"],
      ['unknown-param-override', "did you mean 'stack.factor'?"],
      ['unknown-param-override', "did you mean 'stack.factor'?"],
      ['unknown-param-override', "did you mean 'stack.factor'?"],
    ]);
    expect(diagnostics[1]!.message).toBe("--param factor=4: no config key 'factor' and no target 'factor'");
    expect(diagnostics[2]!.message).toBe("--param stack.factr=3: target 'stack' has no param 'factr'");
  });

  // Found by `pipe build --param report=5` in pipelines/examples/line-counts: "'report' is not a target (and the
  // pipeline has no config file)" — it is one.
  it('a --param key that is a target alone says so, with its params', async () => {
    const pipe = (config: string) =>
      `version: 1\n${config}targets:\n  report: {step: test.scale, params: {factor: 2, title: t}, outputs: [s]}\n  bare: {command: [echo], outputs: [b]}\n`;
    for (const files of [
      { 'pipe.yaml': pipe('') },
      { 'pipe.yaml': pipe('config: params.yaml\n'), 'params.yaml': 'x: 1\n' },
    ]) {
      const { diagnostics } = await diagnosticsOf(files, { paramOverrides: { report: '5', bare: '1' } });
      expect(diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
        [
          'unknown-param-override',
          "--param bare=1: 'bare' is a target, not a param: name one of its params",
          "target 'bare' has no params",
        ],
        [
          'unknown-param-override',
          "--param report=5: 'report' is a target, not a param: name one of its params",
          '--param report.factor=… or --param report.title=…',
        ],
      ]);
    }
  });

  it('refuses a --param key that names a param of two targets (a dotted target name and a nested param)', async () => {
    const { diagnostics } = await diagnosticsOf(
      {
        'pipe.yaml': `
          version: 1
          config: params.yaml
          targets:
            fit.v2: {command: [x], params: {p: 1}, outputs: [build/fit2.txt]}
            fit: {command: [x], params: {v2: {p: 1}}, outputs: [build/fit.txt]}
            map: {command: [x], params: {r: 1}, outputs: [build/map.txt]}
        `,
        'params.yaml': 'map: {r: 2}\n',
      },
      { paramOverrides: { 'fit.v2.p': '9', 'fit.v2.x': '1', 'map.r': '3' } },
    );
    expect(diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      [
        'ambiguous-param-override',
        "--param fit.v2.p=9: 'fit.v2.p' names param 'p' of target 'fit.v2' and param 'v2.p' of target 'fit'",
        'a --param key cannot tell them apart: rename the param (or the target) in one of them',
      ],
      // Neither has it: the longest name is the target meant.
      ['unknown-param-override', "--param fit.v2.x=1: target 'fit.v2' has no param 'x'", undefined],
      [
        'ambiguous-param-override',
        "--param map.r=3: 'map' is a target and 'map.r' a config key",
        "write 'config.map.r' for the config file",
      ],
    ]);
  });

  it('reports an overridden value that the step rejects, naming the override', async () => {
    const { diagnostics } = await diagnosticsOf(
      { 'pipe.yaml': 'version: 1\ntargets:\n  s: {step: test.scale, params: {factor: 2}, outputs: [s]}\n' },
      { paramOverrides: { 's.factor': '-3' } },
    );
    expect(diagnostics.map((d) => d.message)).toEqual([
      "param 'factor' of target 's' (step 'test.scale'): factor must be positive (value from --param s.factor=-3)",
    ]);
    // No place in a file: the value is the override's, not the target's in pipe.yaml.
    expect(diagnostics[0]!.span).toBeUndefined();
  });

  it('reports steps whose module is missing or not a step', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          a: {step: ./steps/nope.mjs, outputs: [a]}
          b: {step: ./broken.mjs, outputs: [b]}
      `,
      'broken.mjs': 'export default { name: "broken" };\n',
    });
    expect(summary(dir, diagnostics).map((d) => [d.code, d.at])).toEqual([
      ['step-load-failed', 'pipe.yaml:3:13'],
      ['step-load-failed', 'pipe.yaml:4:13'],
    ]);
  });

  it('shows a window of a long line, control bytes as ?: a FITS file given as a config is no screenful of binary', () => {
    // A FITS header is 2880-byte blocks of 80-column cards without a newline; its data is binary.
    const cards =
      `${'SIMPLE  =                    T'.padEnd(80)}${'BITPIX  =                  -32'.padEnd(80)}`.repeat(
        36,
      );
    const text = `${cards}\x00\x01\x1b[31m${'\x00'.repeat(5000)}`;
    const d: Diagnostic = {
      code: 'yaml-syntax',
      severity: 'error',
      message: 'the file is not UTF-8 text',
      span: { file: '/ws/mask.fits', line: 1, col: cards.length + 1, length: 1 },
    };
    const [head, line, squiggle] = renderDiagnostic(d, { cwd: '/ws', readSource: () => text }).split('\n');
    expect(head).toBe(`mask.fits:1:${cards.length + 1}: error: the file is not UTF-8 text`);
    expect(line!.length).toBeLessThan(200);
    expect(line).toMatch(/^ 1 \| …/);
    expect([...line!].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toEqual([]);
    // The squiggle still points at the first bad byte, shown as '?'.
    expect(line![squiggle!.indexOf('^')]).toBe('?');
    // …after the last header card's padding.
    expect(line!.slice(0, squiggle!.indexOf('^'))).toMatch(/^ 1 \| … {40}$/);
  });

  it('renders a diagnostic with its source line, a squiggle and the hint', async () => {
    const { dir, diagnostics } = await diagnosticsOf({
      'pipe.yaml': `
        version: 1
        targets:
          stack:
            step: test.copy
            ouputs: {map: build/stack.fits}
      `,
    });
    expect(renderDiagnostic(diagnostics[0]!, { cwd: dir })).toMatchInlineSnapshot(`
      "pipe.yaml:5:5: error: unknown key 'ouputs' in target 'stack'
       5 |     ouputs: {map: build/stack.fits}
         |     ^~~~~~
        hint: did you mean 'outputs'?"
    `);
  });
});

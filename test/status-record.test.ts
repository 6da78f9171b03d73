/**
 * `pipe status BUILD`: what decided what a build made (its --config and --param values, its kernel backend) and where
 * it ran (host, pipe's and Node's versions), as its record keeps them — what a referee asks of a product a year on.
 * Runs the real binary.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { finished, Workspace } from './rig.js';

describe('pipe status of one build', () => {
  it('names its config file, its --param values, the host and the versions; a build of commands has no kernels', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\nconfig: {file: base.yaml}\ntargets:\n  t:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: data/1.txt}\n    params: {label: "${config.label}"}\n    outputs: {o: out.txt}\n',
      'base.yaml': 'label: one\n',
      'other.yaml': 'label: two\n',
      'data/1.txt': 'one\n',
    });
    const built = await ws.run([
      'build',
      't',
      '--config',
      'other.yaml',
      '--param',
      'config.label=three words',
    ]);
    expect(built.code, built.stderr).toBe(0);
    const status = await ws.run(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('\nconfig    other.yaml\n');
    // Found by helper-150: pipe log wrote a --config path with a space unquoted, so the line did not run as a command.
    ws.write('my other.yaml', 'label: four\n');
    expect((await ws.run(['build', 't', '--config', 'my other.yaml'])).code).toBe(0);
    expect((await ws.run(['log'])).stdout).toMatch(/succeeded +t --config 'my other\.yaml' +\(1 ran\)\n$/);
    expect(status.stdout).toContain("\nparam     'config.label=three words'\n");
    expect(status.stdout).toContain(`\nhost      ${hostname()} (pipe `);
    expect(status.stdout).toContain(`, node ${process.version})\n`);
    expect(status.stdout).not.toContain('\nkernels ');
    const json = JSON.parse((await ws.run(['status', '--json'])).stdout) as Record<string, unknown>;
    expect(json['host']).toBe(hostname());
    expect(json['versions']).toEqual({ pipe: expect.any(String), node: process.version });
    expect(json['usesKernels']).toBe(false);
  });

  // Found by helper-150: a survey pipeline built with -f beside the workspace's pipe.yaml was logged as `table` alone,
  // which `pipe build table` then refused (unknown target).
  it('names the pipeline file given by -f, in pipe log and pipe status', async () => {
    const target =
      'version: 1\ntargets:\n  NAME:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: data/1.txt}\n    outputs: {o: NAME.txt}\n';
    const ws = new Workspace({
      'pipe.yaml': target.replaceAll('NAME', 'main'),
      'survey.yaml': target.replaceAll('NAME', 'table'),
      'data/1.txt': 'one\n',
    });
    expect((await ws.run(['-f', 'survey.yaml', 'build', 'table'])).code).toBe(0);
    expect((await ws.run(['build', 'main'])).code).toBe(0);
    const log = (await ws.run(['log'])).stdout.split('\n');
    expect(log[0]).toMatch(/succeeded +-f survey\.yaml table +\(1 ran\)$/);
    expect(log[1]).toMatch(/succeeded +main +\(1 ran\)$/);
    const first = log[0]!.split(' ')[0]!;
    expect((await ws.run(['status', first])).stdout).toContain('\nfile      survey.yaml\ntargets   table\n');
    expect((await ws.run(['status'])).stdout).not.toContain('\nfile ');
    // Its target asked for without -f: the hint names the file a build of it was given.
    const refused = await ws.run(['build', 'table']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("error: unknown target 'table'");
    expect(refused.stderr).toMatch(
      /hint: 'table' is a target of survey\.yaml \(build \S+ was given -f survey\.yaml\): pipe -f survey\.yaml …/,
    );
  });

  it('log and status find the records of a folder built only with -f (no pipe.yaml there)', async () => {
    const ws = new Workspace({
      'a.yaml':
        'version: 1\ntargets:\n  one:\n    command: [cp, "{inputs.x}", "{outputs.o}"]\n    inputs: {x: in.txt}\n    outputs: {o: one.txt}\n',
      'in.txt': 'x\n',
      'sub/keep': '',
    });
    expect((await ws.run(['-f', 'a.yaml', 'build', 'one'])).code).toBe(0);
    const log = await ws.run(['log']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/succeeded +-f a\.yaml one +\(1 ran\)\n$/);
    // From a subfolder too, as with a pipe.yaml; and `status` of the last build.
    const inSub = await finished(ws.spawnIn('sub', ['status']));
    expect(inSub.code, inSub.stderr).toBe(0);
    expect(inSub.stdout).toContain('\nfile      a.yaml\ntargets   one\n');
  });
});

// A bad value in a gammapy analysis config, as a user meets it: `pipe build excess_map --config bad.yaml` on a copy
// of the shipped Crab config with one value broken. Each problem is reported exactly once (not again by every step
// that reads the section), at the config file's line:column of the value itself, with its hint; nothing runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crabWorkspace, REPO_ROOT, type Workspace } from './rig.js';

const CRAB = readFileSync(path.join(REPO_ROOT, 'pipelines/excess_map/crab.yaml'), 'utf8');

interface Case {
  name: string;
  /** Replace `from` (must occur once in crab.yaml) by `to`. */
  from: string;
  to: string;
  /** The text the diagnostic must point at (in the edited line; its first occurrence there). */
  at: string;
  message: string;
  hint?: string;
}

const CASES: Case[] = [
  {
    name: 'a dataset type outside the enum',
    from: 'type: 3d',
    to: 'type: 4d',
    at: '4d',
    message: `'datasets.type': value "4d" is not one of: 1d, 3d`,
    hint: "'type: 3d'",
  },
  {
    name: 'a background method outside the enum',
    from: 'method: fov_background',
    to: 'method: wrong',
    at: 'wrong',
    message: `'datasets.background.method': value "wrong" is not one of: reflected, fov_background, ring`,
    hint: "use 'fov_background' or 'ring'",
  },
  {
    name: 'a safe-mask method outside the enum',
    from: 'methods: [aeff-default]',
    to: 'methods: [aeff-default, nope]',
    at: 'nope',
    message: `'datasets.safe_mask.methods.1': value "nope" is not one of: aeff-default,`,
  },
  {
    name: 'a map too large to hold in memory',
    from: 'binsize: 0.02 deg',
    to: 'binsize: 0.00001 deg',
    at: '0.00001 deg',
    message: `'datasets.geom.wcs.binsize': a 200000 × 200000 pixel map with 20 energy bins`,
    hint: 'a larger binsize or a smaller width',
  },
  {
    name: 'an energy unit for an angle',
    from: 'binsize: 0.02 deg',
    to: 'binsize: 0.02 TeV',
    at: '0.02 TeV',
    message: `'datasets.geom.wcs.binsize': invalid unit for angle: 'TeV'`,
    hint: 'use one of deg, degree',
  },
  {
    name: 'a negative map width (at the value, not at geom.wcs)',
    from: 'width: {width: 2.0 deg',
    to: 'width: {width: -2.0 deg',
    at: '-2.0 deg',
    message: `'datasets.geom.wcs.width.width': width must be > 0`,
  },
  {
    name: 'events in required_irf (gammapy accepts the key, then skips every run)',
    from: 'required_irf: [aeff, edisp, psf, bkg]',
    to: 'required_irf: [aeff, events, edisp, psf, bkg]',
    at: 'events',
    message: `'observations.required_irf.1': 'events' is not an IRF`,
    hint: "remove 'events'",
  },
  {
    name: 'an unknown key inside geom.wcs',
    from: 'binsize_irf: 0.2 deg}',
    to: 'binsize_irf: 0.2 deg, binsze: 0.05 deg}',
    at: 'binsze',
    message: `'datasets.geom.wcs.binsze': unknown key 'binsze'`,
    hint: "did you mean 'binsize'?",
  },
  {
    name: 'a misspelt section: that key alone, not the checks its missing section fails on defaults',
    from: 'datasets:',
    to: 'dataset:',
    at: 'dataset',
    message: `'dataset': unknown key 'dataset'`,
    hint: "did you mean 'datasets'?",
  },
  {
    name: 'a string where an integer is expected',
    from: 'max: 10.0 TeV, nbins: 10}',
    to: 'max: 10.0 TeV, nbins: ten}',
    at: 'ten',
    message: `'datasets.geom.axes.energy.nbins': expected an integer, got string "ten"`,
  },
  {
    name: 'a string where an angle is expected',
    from: 'correlation_radius: 0.1 deg',
    to: 'correlation_radius: big',
    at: 'big',
    message: `'excess_map.correlation_radius': cannot read "big" as an angle`,
    hint: 'write a number and a unit',
  },
  {
    name: "a string where a step's number is expected (the excess-map step's own check)",
    from: 'correlation_radius: 0.1 deg}',
    to: 'correlation_radius: 0.1 deg, parameters: {n_sigma: three}}',
    at: 'three',
    message:
      "param 'excess_map.parameters.n_sigma' of target 'excess_map' (step 'astro.excess_map'): n_sigma must be a positive number",
  },
  {
    name: "a misspelt safe-mask parameter (gammapy's SafeMaskMaker raises TypeError; never a silent default)",
    from: 'safe_mask: {methods: [aeff-default]}',
    to: 'safe_mask: {methods: [aeff-default], parameters: {offset_maxx: 2 deg}}',
    at: '2 deg',
    message:
      "param 'datasets.safe_mask.parameters.offset_maxx' of target 'datasets' (step 'astro.reduce_observation'): SafeMaskMaker has no parameter 'offset_maxx' (did you mean 'offset_max'?)",
  },
  {
    name: 'a bare number for an angle (astropy refuses it; no unit is assumed)',
    from: 'correlation_radius: 0.1 deg',
    to: 'correlation_radius: 0.1',
    at: '0.1',
    message: `'excess_map.correlation_radius': angle needs a unit`,
    hint: 'write e.g. "0.1 deg"',
  },
  {
    name: 'reversed energy_edges of the excess map (at load, not when its task runs)',
    from: 'correlation_radius: 0.1 deg}',
    to: 'correlation_radius: 0.1 deg, energy_edges: {min: 2 TeV, max: 1 TeV, nbins: 1}}',
    at: '{min: 2 TeV',
    message:
      "param 'excess_map.energy_edges' of target 'excess_map' (step 'astro.excess_map'): energy bounds must satisfy 0 < min < max, got 2…1 TeV",
  },
  {
    name: "an ExcessMapEstimator parameter pipe would otherwise ignore (gammapy's default spectrum is assumed)",
    from: 'correlation_radius: 0.1 deg}',
    to: 'correlation_radius: 0.1 deg, parameters: {spectral_model: pl}}',
    at: 'pl',
    message:
      "param 'excess_map.parameters.spectral_model' of target 'excess_map' (step 'astro.excess_map'): a spectral_model is not supported",
  },
  {
    name: 'a FoV background parameter that is not a number',
    from: 'parameters: {method: scale}',
    to: 'parameters: {method: scale, min_counts: many}',
    at: 'many',
    message:
      "param 'datasets.background.parameters.min_counts' of target 'datasets' (step 'astro.reduce_observation'): min_counts must be a number",
  },
  // Refusals of what gammapy 1.0 takes without complaint say what gammapy makes of it.
  {
    name: 'a correlation radius of 0 (gammapy: NaN everywhere)',
    from: 'correlation_radius: 0.1 deg}',
    to: 'correlation_radius: 0 deg}',
    at: '0 deg',
    message:
      "'excess_map.correlation_radius': correlation_radius must be > 0: the maps sum the counts over a disk of that radius (gammapy 1.0 takes 0 deg and gives NaN everywhere)",
  },
  {
    name: 'n_sigma 0 (gammapy: errors of zero width)',
    from: 'correlation_radius: 0.1 deg}',
    to: 'correlation_radius: 0.1 deg, parameters: {n_sigma: 0}}',
    at: '0}}',
    message:
      "param 'excess_map.parameters.n_sigma' of target 'excess_map' (step 'astro.excess_map'): n_sigma must be a positive number of standard deviations: gammapy 1.0 takes 0 and makes errors of 0 σ, which mean nothing",
  },
  {
    name: 'obs_time with more starts than stops (gammapy drops the unpaired start)',
    from: 'required_irf: [aeff, edisp, psf, bkg]}',
    to: 'required_irf: [aeff, edisp, psf, bkg], obs_time: {start: [2004-12-04T22:00:00, 2004-12-06T22:00:00], stop: [2004-12-09T00:00:00]}}',
    at: '{start',
    message:
      "'observations.obs_time': obs_time start and stop are both one time, or lists of the same length (one interval each): here 2 starts and 1 stops, which gammapy 1.0 pairs in order, silently dropping the 1 left unpaired",
    hint: 'give one stop per start',
  },
];

function edit(text: string, from: string, to: string): string {
  expect(text.split(from).length, `'${from}' occurs once in crab.yaml`).toBe(2);
  return text.replace(from, to);
}

/** 1-based line:column of the first `at` on the line where `to` was written. */
function locate(text: string, to: string, at: string): string {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes(to));
  const col = lines[line]!.indexOf(at, lines[line]!.indexOf(to));
  expect(line >= 0 && col >= 0, `'${at}' in the edited line`).toBe(true);
  return `${line + 1}:${col + 1}`;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('pipe build excess_map --config bad.yaml: each config problem once, at its value', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = crabWorkspace();
  });
  afterAll(() => ws?.remove('.'));

  it.each(CASES)(
    '$name',
    async (c) => {
      const text = edit(CRAB, c.from, c.to);
      ws.write('bad.yaml', text);
      const r = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
      const output = r.stdout + r.stderr;
      expect(r.code, output).not.toBe(0);
      expect(r.code, output).not.toBeNull();
      // The message, once, with the file and the value's line:column.
      expect(count(output, c.message), output).toBe(1);
      expect(count(output, 'error:'), output).toBe(1);
      expect(output).toMatch(/\b1 error\b/);
      const where = `bad.yaml:${locate(text, c.to, c.at)}: error: ${c.message}`;
      expect(output, output).toContain(where);
      if (c.hint) {
        expect(count(output, 'hint:'), output).toBe(1);
        expect(output).toMatch(new RegExp(`hint: [^\\n]*${c.hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
      // Nothing ran.
      expect(ws.exists('build/excess_map/observations.json')).toBe(false);
    },
    60_000,
  );

  it('a --config file that is missing or not YAML: that one error, not one per config placeholder', async () => {
    const missing = await ws.run(['build', 'excess_map', '--config', 'nowhere.yaml']);
    const out = missing.stdout + missing.stderr;
    expect(missing.code, out).toBe(2);
    expect(out).toContain(
      `error: --config nowhere.yaml: cannot read ${ws.path('nowhere.yaml')}: file not found`,
    );
    expect(out).toMatch(/\b1 error\b/);
    ws.write('broken.yaml', 'observations: {datastore: [unclosed\n');
    const broken = await ws.run(['build', 'excess_map', '--config', 'broken.yaml']);
    const out2 = broken.stdout + broken.stderr;
    expect(broken.code, out2).toBe(2);
    expect(out2).toMatch(/broken\.yaml:\d+:\d+: error: Flow/);
    expect(out2).not.toContain('pipe.yaml');
  });

  it("a data store path of the config that does not exist: the config value's rules in the hint, not pipe.yaml's", async () => {
    const text = edit(CRAB, '$GAMMAPY_DATA/hess-dl3-dr1', '$GAMMAPY_DATA/hess-dl3-drX');
    ws.write('bad.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(2);
    expect(output).toContain(
      `bad.yaml:${locate(text, '$GAMMAPY_DATA/hess-dl3-drX', '$GAMMAPY_DATA')}: error: input 'index'`,
    );
    expect(output).toContain('hint: the path is this value of bad.yaml: relative to that file');
    expect(output).not.toContain('relative to the file that declares the target');
  });

  it('several problems: every one reported, each once', async () => {
    let text = edit(CRAB, 'type: 3d', 'type: 4d');
    text = edit(text, 'binsize: 0.02 deg', 'binsize: 0.02 TeV');
    text = edit(text, 'correlation_radius: 0.1 deg', 'correlation_radius: -0.1 deg');
    ws.write('bad.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'bad.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).not.toBe(0);
    expect(count(output, 'error:'), output).toBe(3);
    expect(output).toMatch(/\b3 errors\b/);
    for (const [to, at, message] of [
      ['type: 4d', '4d', "'datasets.type'"],
      ['binsize: 0.02 TeV', '0.02 TeV', "'datasets.geom.wcs.binsize'"],
      ['correlation_radius: -0.1 deg', '-0.1 deg', "'excess_map.correlation_radius'"],
    ] as const) {
      expect(count(output, message), output).toBe(1);
      expect(output).toContain(`bad.yaml:${locate(text, to, at)}: error: ${message}`);
    }
  }, 60_000);

  it('every unsupported estimator parameter is reported, not only the first', async () => {
    const text = edit(
      CRAB,
      'excess_map: {correlation_radius: 0.1 deg}',
      'excess_map: {correlation_radius: 0.1 deg, parameters: {correlate_off: maybe, spectral_model: pl}}',
    );
    ws.write('two.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'two.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(2);
    expect(output).toContain(
      "param 'excess_map.parameters.correlate_off' of target 'excess_map' (step 'astro.excess_map'): correlate_off must be true or false, got \"maybe\"",
    );
    expect(output).toContain(
      "param 'excess_map.parameters.spectral_model' of target 'excess_map' (step 'astro.excess_map'): a spectral_model is not supported",
    );
    expect(output).toMatch(/\b2 errors\b/);
  }, 60_000);

  // A config saved on Windows (a byte-order mark, CRLF) by someone who aligns with tabs and writes run numbers as
  // the files name them: gammapy's PyYAML refuses the tab and reads 010 as 8; each is told at its line:column.
  it('a config with a BOM and CRLF line ends: a tab and a leading-zero integer told at their places', async () => {
    let text = edit(CRAB, 'nbins: 10}', 'nbins: 010}');
    text = edit(text, 'type: 3d', 'type:\t3d');
    text = edit(text, 'stack: true', 'stack:');
    ws.write('windows.yaml', `\ufeff${text.replace(/\n/g, '\r\n')}`);
    const r = await ws.run(['build', 'excess_map', '--config', 'windows.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(2);
    expect(output).toContain(
      `windows.yaml:${locate(text, 'type:\t3d', '\t')}: error: a tab between the values: gammapy's YAML reader (PyYAML) refuses the file`,
    );
    expect(output).toContain(
      `windows.yaml:${locate(text, 'nbins: 010}', '010')}: error: 010 with its leading zero is the octal number 8 for gammapy's YAML reader (PyYAML, YAML 1.1) and 10 for pipe's (YAML 1.2)`,
    );
    expect(output).toContain(
      `windows.yaml:${locate(text, 'stack:', 'stack:').replace(/:\d+$/, ':9')}: error: 'datasets.stack': null (a key without a value) is not allowed here`,
    );
    expect(output).toMatch(/\b3 errors\b/);
  }, 60_000);

  // gammapy (PyYAML) reads a key set twice as its last value: two excess_map sections run with the second. pipe
  // refused the file ("Map keys must be unique"); it reads it as gammapy does and warns at the ignored one.
  it('a section written twice: the last one is read, as gammapy reads it, with a warning at the first', async () => {
    const text = `${CRAB}excess_map: {correlation_radius: 0.2 deg}\n`;
    ws.write('twice.yaml', text);
    const r = await ws.run(['plan', 'excess_map', '--config', 'twice.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(0);
    const line =
      text.split('\n').findIndex((l) => l.startsWith('excess_map: {correlation_radius: 0.1 deg}')) + 1;
    expect(output).toContain(
      `twice.yaml:${line}:1: warning: 'excess_map' is set again on line ${text.split('\n').length - 1}: only the last value is read`,
    );
    expect(output).not.toContain('Map keys must be unique');
  }, 60_000);

  // Found by writing a list where a key goes: node's "Warning: Keys with collection values will be stringified due to
  // JS Object restrictions" three times on stderr, then "unknown key '[ a, b ]'" pointing at the whole section.
  it('a key that is a list: one error at the key, no warnings of node', async () => {
    const text = edit(CRAB, 'correlation_radius: 0.1 deg}', 'correlation_radius: 0.1 deg, [a, b]: c}');
    ws.write('listkey.yaml', text);
    const r = await ws.run(['build', 'excess_map', '--config', 'listkey.yaml']);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(2);
    expect(output).toContain(
      `listkey.yaml:${locate(text, '[a, b]: c', '[a, b]')}: error: a key that is a list: no target, field or setting is named so (PyYAML, gammapy's config reader, refuses such a key too: "found unhashable key")`,
    );
    expect(count(output, 'error:'), output).toBe(1);
    expect(output).not.toContain('Warning:');
  });

  // Found by giving --config a YAML list: the same problem was reported twice at 1:1 ("a config file must be a map of
  // keys to values", then the schema's "expected a mapping, got a list").
  it('a config file that is a list or a bare value: one error, at its first line', async () => {
    for (const text of ['- observations\n- datasets\n', 'just some words\n']) {
      ws.write('notmap.yaml', text);
      const r = await ws.run(['build', 'excess_map', '--config', 'notmap.yaml']);
      const output = r.stdout + r.stderr;
      expect(r.code, output).toBe(2);
      expect(output).toContain('notmap.yaml:1:1: error: a config file must be a map of keys to values');
      expect(count(output, 'error:'), output).toBe(1);
      expect(output).toMatch(/\b1 error\b/);
    }
  });

  it('an empty config file: its errors point at the file, saying it sets nothing', async () => {
    ws.write('empty.yaml', '# nothing yet\n');
    const r = await ws.run(['build', 'excess_map', '--config', 'empty.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "empty.yaml:1:1: error: 'datasets.type': pipe's excess_map pipeline reduces 3D datasets; got '1d' (empty.yaml sets nothing, so the defaults apply)",
    );
  });

  it('the same problem set by --param is reported once, naming the override', async () => {
    ws.write('good.yaml', CRAB);
    const r = await ws.run([
      'build',
      'excess_map',
      '--config',
      'good.yaml',
      '--param',
      'config.datasets.background.method=wrong',
    ]);
    const output = r.stdout + r.stderr;
    expect(r.code, output).not.toBe(0);
    expect(count(output, 'is not one of: reflected, fov_background, ring'), output).toBe(1);
    expect(count(output, 'error:'), output).toBe(1);
    // A misspelt key that --param adds: named as the override's, not blamed on the config file's first line.
    const typo = await ws.run([
      'build',
      'excess_map',
      '--config',
      'good.yaml',
      '--param',
      'config.excess_map.correlation_radiu=0.2 deg',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "'excess_map.correlation_radiu': unknown key 'correlation_radiu' (value from --param config.excess_map.correlation_radiu=0.2 deg)",
    );
    expect(typo.stderr).not.toMatch(/good\.yaml:1:1/);
  }, 60_000);
});

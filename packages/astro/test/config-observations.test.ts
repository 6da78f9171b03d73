// The observations section as gammapy 1.0 reads it: obs_ids or an obs_file (never both), a time range, stack: false
// refused when several runs feed one excess map, the obs_file format, and gammapy's default data store — for a plain
// config the pipeline's four targets are generated with it, and they must stay equal to pipelines/excess_map/pipe.yaml.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  mjdTtToIsoUtc,
  parseTime,
  readAnalysisConfig,
  readWorkflowConfig,
  timeIntervals,
  workflowTargets,
} from '../src/config/index.js';
import { parseObsList } from '../src/dl3/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CRAB = parse(readFileSync(path.join(repo, 'pipelines/excess_map/crab.yaml'), 'utf8'));

function withObservations(observations: Record<string, unknown>, datasets: Record<string, unknown> = {}) {
  return {
    ...CRAB,
    observations: { ...CRAB.observations, ...observations },
    datasets: { ...CRAB.datasets, ...datasets },
  };
}

const paths = (config: unknown) => readAnalysisConfig(config).issues.map((i) => i.path.join('.'));

describe('observations section rules (gammapy Analysis._make_obs_table_selection, get_excess_map)', () => {
  it('refuses obs_ids and obs_file together, at obs_file', () => {
    expect(paths(withObservations({ obs_ids: [23523], obs_file: 'runs.csv' }))).toEqual([
      'observations.obs_file',
    ]);
    expect(paths(withObservations({ obs_file: 'runs.csv' }))).toEqual([]);
  });

  it('refuses stack: false when the config lists several runs, at datasets.stack', () => {
    const issues = readAnalysisConfig(withObservations({ obs_ids: [23523, 23526] }, { stack: false })).issues;
    expect(issues.map((i) => i.path.join('.'))).toEqual(['datasets.stack']);
    expect(issues[0]!.message).toContain('Datasets must be stacked');
    // One run unstacked is what gammapy accepts (its excess map equals the stacked one's, checked with gammapy 1.0).
    expect(paths(withObservations({ obs_ids: [23523] }, { stack: false }))).toEqual([]);
  });

  it('obs_ids as integer strings, as pydantic coerces them; anything else is an error at its index', () => {
    const { config, issues } = readAnalysisConfig(withObservations({ obs_ids: ['23523', 23526] }));
    expect(issues).toEqual([]);
    expect(config.observations.obs_ids).toEqual([23523, 23526]);
    expect(paths(withObservations({ obs_ids: [23523, '2352x', 1.5] }))).toEqual([
      'observations.obs_ids.1',
      'observations.obs_ids.2',
    ]);
  });

  it('a run listed twice, a time range without stop or with start ≥ stop', () => {
    expect(paths(withObservations({ obs_ids: [23523, 23526, 23523] }))).toEqual(['observations.obs_ids.2']);
    expect(paths(withObservations({ obs_time: { start: '2004-12-04' } }))).toEqual([
      'observations.obs_time.stop',
    ]);
    expect(
      paths(withObservations({ obs_time: { start: '2004-12-05', stop: '2004-12-04T23:00:00' } })),
    ).toEqual(['observations.obs_time']);
  });
});

describe('obs_time with several intervals (astropy Time takes lists)', () => {
  it('reads lists of equal length; each interval needs start < stop, at its index', () => {
    const { config, issues } = readAnalysisConfig(
      withObservations({
        obs_time: {
          start: ['2004-04-17T00:00:00', '2004-04-15'],
          stop: ['2004-04-17T01:00:00', '2004-04-16'],
        },
      }),
    );
    expect(issues).toEqual([]);
    expect(timeIntervals(config.observations.obs_time)).toHaveLength(2);
    expect(
      paths(
        withObservations({
          obs_time: { start: ['2004-04-17', '2004-04-15'], stop: ['2004-04-18', '2004-04-14'] },
        }),
      ),
    ).toEqual(['observations.obs_time.start.1']);
    expect(paths(withObservations({ obs_time: { start: ['2004-04-17'], stop: '2004-04-18' } }))).toEqual([
      'observations.obs_time',
    ]);
    expect(
      paths(withObservations({ obs_time: { start: ['2004-04-17', 'soon'], stop: ['a', 'b'] } })),
    ).toEqual([
      'observations.obs_time.start.1',
      'observations.obs_time.stop.0',
      'observations.obs_time.stop.1',
    ]);
  });

  it('MJD (TT) back to the UTC a config writes', () => {
    const p = parseTime('2004-04-15T00:10:00');
    expect(p.ok && mjdTtToIsoUtc(p.value)).toBe('2004-04-15T00:10:00');
    const q = parseTime('2017-06-01T12:00:00');
    expect(q.ok && mjdTtToIsoUtc(q.value)).toBe('2017-06-01T12:00:00');
  });
});

describe('obs_file format (the first column, as astropy ascii with data_start=0 reads it)', () => {
  it('reads one id per line, CSV or whitespace, comments and blank lines skipped, in file order', () => {
    const r = parseObsList('# runs\n23592, first\n\n23523 second\r\n"23526"\n', 'runs.csv');
    expect(r).toEqual({ ok: true, value: { obsIds: [23592, 23523, 23526], lines: [2, 4, 5] } });
  });

  // gammapy: Table.read gives a float column, and obs_table.select_obs_id([23523.0, …]) selects those runs; pipe
  // refused the file ('"23523.0" is not an observation id').
  it('reads ids written as decimals (23523.0), as astropy reads them, and refuses a fraction', () => {
    expect(parseObsList('23523.0\n23526.\n2.3559e4\n', 'runs.csv')).toEqual({
      ok: true,
      value: { obsIds: [23523, 23526, 23559], lines: [1, 2, 3] },
    });
    const half = parseObsList('23523.5\n', 'runs.csv');
    expect(!half.ok && half.message).toBe(
      'runs.csv:1: "23523.5" is not an observation id (the first column must hold integer OBS_IDs)',
    );
  });

  // gammapy 1.0 reads the file with Table.read(path, format="ascii", data_start=0): a header line is data, and
  // select_obs_id fails on it (KeyError: 'No matches found for key OBS_ID'), for an ECSV file too. pipe took the
  // line as a header and built what gammapy refuses (found by a gammapy cross-check).
  it('refuses a header row (OBS_ID, or an ECSV header), as gammapy fails on it', () => {
    const ecsv =
      '# %ECSV 1.0\n# ---\n# datatype:\n# - {name: OBS_ID, datatype: int64}\nOBS_ID\n23523\n23526\n';
    const r = parseObsList(ecsv, 'runs.ecsv');
    expect(!r.ok && r.message).toBe(
      'runs.ecsv:5: "OBS_ID" is not an observation id: gammapy 1.0 reads every line of the file as a run id, a column header too (Table.read(format="ascii", data_start=0)), and fails on it ("No matches found for key OBS_ID"); remove the header line',
    );
    expect(parseObsList('OBS_ID\n23523\n', 'runs.csv').ok).toBe(false);
  });

  it('names the file and line of a cell that is not an id, and an empty file', () => {
    const bad = parseObsList('23523\n2352x\n', 'runs.csv');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toBe(
      'runs.csv:2: "2352x" is not an observation id (the first column must hold integer OBS_IDs)',
    );
    const total = parseObsList('23523\nTOTAL\n', 'runs.csv');
    expect(!total.ok && total.message).toMatch(
      /^runs\.csv:2: "TOTAL" is not an observation id \(the first column/,
    );
    expect(parseObsList('# nothing\n', 'runs.csv').ok).toBe(false);
    // A lone word is named with its line (it said "no observation id in the file").
    const word = parseObsList('# runs\nabc\n', 'runs.csv');
    expect(!word.ok && word.message).toMatch(
      /^runs\.csv:2: "abc" is not an observation id: gammapy 1\.0 reads/,
    );
  });
});

describe("gammapy's default data store", () => {
  const pipeline = parse(readFileSync(path.join(repo, 'pipelines/excess_map/pipe.yaml'), 'utf8'));

  it('a plain config with a datastore is left to the pipeline targets', () => {
    expect(workflowTargets(CRAB)).toBeUndefined();
  });

  it("without one, pipe.yaml's four targets are generated on $GAMMAPY_DATA/hess-dl3-dr1", () => {
    const { datastore: _, ...observations } = CRAB.observations;
    const generated = workflowTargets({ ...CRAB, observations });
    expect(generated).toBeDefined();
    const byName = Object.fromEntries(generated!.targets.map((t) => [t.name, t.target]));
    expect(Object.keys(byName)).toEqual(Object.keys(pipeline.targets));
    // Equal to the written templates, but for the store and the `${config.x}` params written as config subtrees.
    const fromYaml = JSON.parse(
      JSON.stringify(pipeline.targets)
        .replaceAll('${config.observations.datastore}', '$GAMMAPY_DATA/hess-dl3-dr1')
        .replace(/"\$\{config\.(\w+)\??\}"/g, '{"$config":[["$1"]]}'),
    );
    expect(byName).toEqual(fromYaml);
  });
});

describe('a data store given as one index file (gammapy DataStore.from_file)', () => {
  it('the selection reads that file alone, in the plain form and in a workflow step', () => {
    const plain = workflowTargets(withObservations({ datastore: 'store/index.fits.gz' }));
    const select = plain!.targets.find((t) => t.name === 'observations')!.target;
    expect((select.inputs as Record<string, unknown>)['index']).toEqual(['${config.observations.datastore}']);
    const steps = workflowTargets({
      ...CRAB,
      steps: [
        { name: 'a', type: 'data-selection', observations: { datastore: 'one.fits' } },
        { name: 'b', type: 'data-selection' },
        { type: 'excess-map' },
      ],
    });
    const index = Object.fromEntries(
      steps!.targets.map((t) => [t.name, (t.target.inputs as Record<string, unknown>)?.['index']]),
    );
    expect(index['a.observations']).toEqual(['${config.steps.0.observations.datastore}']);
    expect(index['b.observations']).toEqual([
      '${config.observations.datastore}/hdu-index.fits*',
      '${config.observations.datastore}/obs-index.fits*',
    ]);
  });
});

describe('workflow steps and the observations section', () => {
  const workflow = (steps: unknown[], shared: Record<string, unknown> = {}) => ({
    ...CRAB,
    ...shared,
    steps,
  });

  it("each selection reads its step's obs_file (else the shared one) as an input", () => {
    const config = workflow(
      [
        { name: 'a', type: 'data-selection', observations: { obs_file: 'a.csv' } },
        { name: 'b', type: 'data-selection' },
        { type: 'excess-map' },
      ],
      { observations: { ...CRAB.observations, obs_file: 'shared.csv' } },
    );
    expect(readWorkflowConfig(config).issues).toEqual([]);
    const inputs = Object.fromEntries(
      workflowTargets(config)!.targets.map((t) => [
        t.name,
        (t.target.inputs as Record<string, unknown>)?.['obs_file'],
      ]),
    );
    expect(inputs['a.observations']).toBe('${config.steps.0.observations.obs_file?}');
    expect(inputs['b.observations']).toBe('${config.observations.obs_file?}');
  });

  it('refuses unstacked datasets of several steps feeding one excess map, at the stack value', () => {
    const config = workflow([
      { name: 'a', type: 'data-selection', observations: { obs_ids: [23523] } },
      { name: 'b', type: 'data-selection', observations: { obs_ids: [23526] }, datasets: { stack: false } },
      { type: 'excess-map' },
    ]);
    const { issues } = readWorkflowConfig(config);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['steps.1.datasets.stack']);
    expect(issues[0]!.message).toContain("those of 'b' are not stacked");
  });

  it('a step whose merged observations list several runs with stack: false is refused there', () => {
    const config = workflow([
      {
        name: 'a',
        type: 'data-selection',
        observations: { obs_ids: [23523, 23526] },
        datasets: { stack: false },
      },
      { type: 'excess-map' },
    ]);
    expect(readWorkflowConfig(config).issues.map((i) => i.path.join('.'))).toEqual([
      'steps.0.datasets.stack',
    ]);
  });
});

// gammapy 1.0 reads its config with PyYAML (YAML 1.1, pure-Python scanner), pipe with a YAML 1.2 parser. Where the
// two read a text otherwise, pipe says so at the character: a tab between tokens (PyYAML refuses the file; YAML 1.2
// takes it as a space) and an integer with a leading zero (octal for PyYAML: `nbins: 010` is 8 bins for gammapy, 10
// for pipe; `obs_ids: [023523]` is run 10067). The expected places and readings are PyYAML 6.0's.
import { describe, expect, it } from 'vitest';
import { Parser, parse } from 'yaml';
import gammapySchema from '../src/config/gammapy-schema.js';
import { readAnalysisConfig } from '../src/config/index.js';
import { pyyamlTextIssues as issuesOf } from '../src/config/pyyaml-text.js';

/** The issues of `text`, its tokens from the yaml package's parser (as core hands them to the schema). */
const tokensOf = (text: string) => () => new Parser().parse(text);
const pyyamlTextIssues = (text: string) => issuesOf(text, tokensOf(text));

/** Each issue as line:col (1-based) and its message's start. */
function where(text: string): string[] {
  return pyyamlTextIssues(text).map((i) => {
    const before = text.slice(0, i.offset).split('\n');
    return `${before.length}:${before.at(-1)!.length + 1} ${i.message.split(':')[0]!.split(' with ')[0]}`;
  });
}

describe("PyYAML's reading of a gammapy config's text", () => {
  it('finds the tabs PyYAML refuses (yaml.safe_load: "found character \'\\t\' that cannot start any token")', () => {
    // Each line is one of PyYAML's refusals, at the column PyYAML names.
    expect(where('a:\t3d\n')).toEqual(['1:3 a tab between the values']);
    expect(where('a: {b:\t1}\n')).toEqual(['1:7 a tab between the values']);
    expect(where('a: [1,\t2]\n')).toEqual(['1:7 a tab between the values']);
    expect(where('a: 1\t# c\n')).toEqual(['1:5 a tab between the values']);
    expect(where('a: 1\t\n')).toEqual(['1:5 a tab between the values']);
    expect(where('a: 1\tdeg\n')).toEqual(['1:5 a tab between the values']);
    expect(where('a\t: 1\n')).toEqual(['1:2 a tab between the values']);
    expect(where('a:\n  -\tx\n')).toEqual(['2:4 a tab between the values']);
    expect(where('a: 1\n\t\nb: 2\n')).toEqual(['2:1 a tab between the values']);
    // One per line.
    expect(where('a: [1,\t2,\t3]\n')).toEqual(['1:7 a tab between the values']);
    // Inside quotes, comments and block scalars PyYAML keeps tabs.
    expect(where('a: "1\tdeg"\nb: \'x\ty\'\n# a\tcomment\nc: |\n  x\ty\n')).toEqual([]);
    // CRLF line ends and a byte-order mark move nothing.
    expect(where('\ufeffa: 1\r\nb:\t2\r\n')).toEqual(['2:3 a tab between the values']);
  });

  it('finds the integers PyYAML reads as octal, and only where the number differs', () => {
    expect(where('nbins: 010\n')).toEqual(['1:8 010']);
    const [obs] = pyyamlTextIssues('obs_ids: [023523, 23526]\n');
    expect(obs).toMatchObject({
      offset: 10,
      length: 6,
      message:
        "023523 with its leading zero is the octal number 10067 for gammapy's YAML reader (PyYAML, YAML 1.1) and 23523 for pipe's (YAML 1.2)",
      hint: 'write the number without the leading zero (23523), or quote it ("023523" is 23523 for both)',
    });
    // 07 is 7 either way, 00 is 0; 033787 holds an 8: PyYAML reads it as the string '033787', which pydantic turns
    // into 33787, as YAML 1.2 reads it; quoted, it is text for both.
    expect(where('a: [07, 00, 0, 033787, "010", 0x10, 10]\n')).toEqual([]);
  });

  // gammapy: `start: 2004-12-04` fails AnalysisConfig ("Input values did not match any of the formats": PyYAML gave
  // astropy a datetime.date); quoted, or with a time, it is read. pipe read the text as midnight UTC.
  // yaml.safe_load('[1e3, 1.0e5, -.5, 0o7, 1.0e+5, .5, 1., 0x1F, 1_000, 7]') gives
  // ['1e3', '1.0e5', '-.5', '0o7', 100000.0, 0.5, 1.0, 31, 1000, 7]: gammapy's nbins: 1e1 is refused (not an integer).
  it('finds the numbers PyYAML reads as text', () => {
    expect(where('a: [1e3, 1.0e5, -.5, 0o7, 1.0e+5, .5, 1., 0x1F, 1_000, 7, "1e3", 1e3 TeV]\n')).toEqual([
      "1:5 1e3 is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)",
      "1:10 1.0e5 is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)",
      "1:17 -.5 is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)",
      "1:22 0o7 is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)",
    ]);
  });

  // yaml.safe_load: "could not determine a constructor for the tag '!foo'" (and for !!python/tuple); the YAML 1.2
  // parser only warns ("Unresolved tag") and pipe built with the untagged value.
  it("finds the tags PyYAML's safe loader refuses", () => {
    expect(where('a: !foo 0.2 deg\nb: !!python/tuple [1]\nc: {d: !!merge x}\n')).toEqual([
      '1:4 the tag !foo',
      '2:4 the tag !!python/tuple',
      '3:8 the tag !!merge',
    ]);
    expect(
      where(
        'a: [!!str x, !!float 3, !!int "3", ! x, !<tag:yaml.org,2002:str> y, !!bool yes, !!null ~]\nb: !!map {c: !!seq [1]}\n',
      ),
    ).toEqual([]);
  });

  // Unquoted, 2006-07-30T04:40:00+04:00 is a datetime in that zone for PyYAML, which gammapy reads (and pipe too); as
  // text astropy's Time("2006-07-30T04:40:00+04:00") raises ValueError, so gammapy refuses the quoted form, and the
  // forms PyYAML's timestamp does not take (-0130, no seconds): pipe read them all.
  it('finds a time with a UTC offset that gammapy gets as text', () => {
    const at = (t: string) => where(t).map((w) => w.split(' ')[0]);
    expect(at('a: "2006-07-30T04:40:00+04:00"\n')).toEqual(['1:4']);
    expect(at("a: '2006-07-30 04:40:00-01:30'\n")).toEqual(['1:4']);
    expect(at("a: '2006-07-30 04:40:00 +4'\n")).toEqual(['1:4']);
    expect(at('a: 2006-07-30T04:40:00-0130\n')).toEqual(['1:4']);
    expect(at('a: 2006-07-30T04:40+04:00\n')).toEqual(['1:4']);
    expect(
      at('a: [2006-07-30T04:40:00+04:00, 2006-07-30 04:40:00.5 -01:30, "2006-07-30T04:40:00Z"]\n'),
    ).toEqual([]);
  });

  it('finds an unquoted date without a time, which gammapy refuses', () => {
    expect(where('obs_time: {start: 2004-12-04, stop: "2004-12-05"}\n')).toEqual([
      "1:19 2004-12-04 unquoted is a date for gammapy's YAML reader (PyYAML), which astropy's Time refuses",
    ]);
    expect(where("a: ['2004-12-04', 2004-12-04T22:00:00, 2004-12-04 22:00:00, 2004-12-4]\n")).toEqual([]);
  });

  // yaml.safe_load('[2004-12-04t22:00:00, "2004-12-04t22:00:00", 2004-12-04t22:00]') gives a datetime, then two
  // strings, which astropy's Time refuses ("does not match isot format"): gammapy reads the first only. pipe refused
  // all three ("cannot read … as a time").
  it('finds a time with a lower-case t that gammapy gets as text, and reads the one PyYAML reads', () => {
    expect(
      where('a: [2004-12-04t22:00:00, "2004-12-04t22:00:00", 2004-12-04t22:00, !!str 2004-12-04t22:00:00]\n'),
    ).toEqual(['1:26 "2004-12-04t22', '1:49 2004-12-04t22', '1:73 2004-12-04t22']);
    expect(pyyamlTextIssues('a: "2004-12-04t22:00:00"\n')).toEqual([
      {
        offset: 3,
        length: 21,
        message:
          '"2004-12-04t22:00:00" is text with a lower-case t for gammapy\'s YAML reader (PyYAML), which astropy\'s Time refuses: gammapy refuses the config',
        hint: 'write a capital T (2004-12-04T22:00:00)',
      },
    ]);
    const read = (t: string) =>
      readAnalysisConfig(
        parse(
          `observations: {obs_time: {start: ${t}, stop: 2005-01-01T00:00:00}}\ndatasets: {type: 3d, geom: {wcs: {skydir: {frame: icrs, lon: 1 deg, lat: 2 deg}}}}\n`,
        ),
      );
    const lower = read('2004-12-04t22:00:00');
    expect(lower.issues).toEqual([]);
    expect(lower.config.observations.obs_time?.start).toEqual(
      read('2004-12-04T22:00:00').config.observations.obs_time?.start,
    );
  });

  // yaml.safe_load('[!!float 1e3, !!float 010, !!str 010, !!str 2004-12-04, !!str 1e3, !!int 010]') gives
  // [1000.0, 10.0, '010', '2004-12-04', '1e3', 8]: the tag decides, not the pattern of the text (but !!int 010 is octal).
  it('reads a scalar as its !!float or !!str tag says', () => {
    expect(
      where('a: [!!float 1e3, !!float 010, !!str 010, !!str 2004-12-04, !!str 1e3, !!int 010, 1e3]\n'),
    ).toEqual(['1:77 010', "1:82 1e3 is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)"]);
  });

  it("is the gammapy schema's text check, and the YAML 1.2 reading of 23_523 is PyYAML's integer", async () => {
    const text = 'nbins: 010\na:\t1\n';
    expect(await gammapySchema.checkText(text, tokensOf(text))).toEqual(pyyamlTextIssues(text));
    // PyYAML reads 23_523 as 23523; YAML 1.2 as the text '23_523', which pydantic's int() takes as 23523 too.
    const { config, issues } = readAnalysisConfig(
      parse(
        'observations: {obs_ids: [23_523, 2_3526]}\ndatasets: {type: 3d, geom: {wcs: {skydir: {frame: icrs, lon: 1 deg, lat: 2 deg}}}}\n',
      ),
    );
    expect(issues).toEqual([]);
    expect(config.observations.obs_ids).toEqual([23523, 23526]);
  });
});

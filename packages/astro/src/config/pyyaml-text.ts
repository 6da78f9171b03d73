/**
 * Where gammapy's YAML reader reads a config's text otherwise than pipe's. gammapy 1.0 reads a config with PyYAML's
 * pure-Python SafeLoader (YAML 1.1), pipe with a YAML 1.2 parser: the two agree on nearly every file, but not on
 *  - a tab between tokens (after `key:`, after a comma in `[a,<tab>b]`, before a comment, inside a plain value):
 *    PyYAML skips only spaces there and refuses the file ("found character '\t' that cannot start any token"),
 *    YAML 1.2 takes a tab as a space;
 *  - an integer written with a leading zero (`nbins: 010`, `obs_ids: [023523]`): octal for PyYAML (8, 10067),
 *    decimal for YAML 1.2 (10, 23523), so gammapy would bin otherwise or look for another run;
 *  - a number YAML 1.2 reads and PyYAML does not (1e3, 1.0e5, -.5, 0o7: text for PyYAML, which needs a decimal
 *    point in a float and a sign in its exponent), so gammapy refuses it where an integer goes (nbins: 1e1);
 *  - a tag PyYAML's SafeLoader constructs nothing for (`!foo`, `!!python/tuple`): it refuses the file, where YAML 1.2
 *    warns and reads the value untagged;
 *  - a time with a UTC offset written as text (quoted, or in a form PyYAML's timestamp does not take): astropy's
 *    Time refuses it, where pipe read the zone as it does for PyYAML's datetimes;
 *  - a date without a time, unquoted (`start: 2004-12-04`): a datetime.date for PyYAML, which astropy's Time (gammapy's
 *    obs_time) refuses, so gammapy refuses the config; YAML 1.2 reads the text, which pipe read as midnight UTC;
 *  - a time with a lower-case t (`2004-12-04t22:00:00`): a datetime for PyYAML unquoted with its seconds, which pipe
 *    reads too; as text (quoted, `!!str`, no seconds) astropy's Time refuses it.
 * A scalar tagged `!!float` or `!!str` is read as the tag says by both (core's source.ts reads `!!float 3` as PyYAML
 * does), so the number and date patterns of its text are not held against it.
 * Each is told at its character, so that pipe refuses what gammapy refuses and never reads another number.
 */
import type { TextIssue, YamlTokens } from '@pipe/core';

/** Token types whose text may hold a tab for PyYAML too: quoted and block scalars, comments. */
const TAB_FREE = new Set(['comment', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar']);

/** PyYAML's YAML 1.1 date (resolver.py's timestamp without its time part): a datetime.date. */
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** A number for YAML 1.2's core schema (the yaml package's int and float tags, .inf and .nan aside). */
const YAML12_NUMBER =
  /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;

/** A number for PyYAML (resolver.py's int and float, YAML 1.1): a float needs a decimal point, an exponent its sign. */
const PYYAML_NUMBER =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)$/;

/** The tags PyYAML's SafeLoader constructs (tag:yaml.org,2002:…); '!' alone is the non-specific tag. */
const SAFE_TAGS = new Set([
  'null',
  'bool',
  'int',
  'float',
  'binary',
  'timestamp',
  'omap',
  'pairs',
  'set',
  'str',
  'seq',
  'map',
]);

/** Whether PyYAML's SafeLoader constructs a value for this tag as written (`!!float`, `!<tag:yaml.org,2002:str>`). */
function safeTag(source: string): boolean {
  if (source === '!') return true;
  const name = standardTagName(source);
  return name !== undefined && SAFE_TAGS.has(name);
}

/** A time with a numeric UTC offset, as pipe's obs_time reader takes one (quantity.ts parseTime). */
const OFFSET_TIME =
  /^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)? *[+-]\d{1,2}(?::?\d{2})?$/;

/** PyYAML's YAML 1.1 timestamp with a time (resolver.py): a datetime, its offset a time zone. */
const PYYAML_TIMESTAMP =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$/;

/** A date and time with a lower-case t between them: PyYAML's timestamp takes it, astropy's Time (as text) does not. */
const LOWER_T_TIME = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}t[0-9]{1,2}:[0-9]{1,2}/;

/** The name of a standard tag as written (`!!float`, `!<tag:yaml.org,2002:float>` → float); undefined for others. */
function standardTagName(source: string): string | undefined {
  return /^!!([\w-]+)$/.exec(source)?.[1] ?? /^!<tag:yaml\.org,2002:([\w-]+)>$/.exec(source)?.[1];
}

/** What makes a time astropy's Time refuses as text, and how to write it so that gammapy reads it. */
const TEXT_TIMES = [
  {
    pattern: OFFSET_TIME,
    what: 'a UTC offset',
    hint: (_: string, quoted: boolean) =>
      quoted
        ? 'write it unquoted (PyYAML then reads a time in that zone), or as UTC without the offset'
        : 'write the offset as +HH:MM after the seconds (2006-07-30T04:40:00+04:00), or the time in UTC',
  },
  {
    pattern: LOWER_T_TIME,
    what: 'a lower-case t',
    hint: (content: string) => `write a capital T (${content.replace('t', 'T')})`,
  },
];

/** PyYAML's YAML 1.1 octal integer (resolver.py: `[-+]?0[0-7_]+`). */
const OCTAL = /^[-+]?0[0-7_]+$/;

/** `tokens`: the text's YAML tokens, from the parser pipe loaded (this module imports none: see YamlTokens). */
export function pyyamlTextIssues(text: string, tokens: YamlTokens): TextIssue[] {
  const issues: TextIssue[] = [];
  const tabLines = new Set<number>();
  // The line of an offset: binary search over the line ends (a file may have a tab on each of thousands of lines).
  const ends: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) ends.push(i);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // The last tag seen, and where it ends: the scalar right after it carries it (`!!float 1e3` is a number for PyYAML,
  // `!!str 010` text for both), whatever the pattern of its text says.
  let lastTag: { name: string | undefined; end: number } | undefined;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const token = node as { type?: string; offset?: number; source?: string };
    if (
      typeof token.type === 'string' &&
      typeof token.source === 'string' &&
      typeof token.offset === 'number'
    ) {
      const tab = token.source.indexOf('\t');
      // A tab that indents a line is refused by the YAML parser itself (TAB_AS_INDENT), with its own message.
      if (tab >= 0 && !TAB_FREE.has(token.type) && token.type !== 'error') {
        const offset = token.offset + tab;
        const line = lineOf(offset);
        // One per line: a line with several tabs is fixed at once.
        if (!tabLines.has(line)) {
          tabLines.add(line);
          issues.push({
            offset,
            length: 1,
            message:
              "a tab between the values: gammapy's YAML reader (PyYAML) refuses the file (\"found character '\\t' that cannot start any token\")",
            hint: 'use spaces (tabs are kept only inside quotes and comments)',
          });
        }
      }
      if (token.type === 'tag')
        lastTag = { name: standardTagName(token.source), end: token.offset + token.source.length };
      const tag = lastTag && text.slice(lastTag.end, token.offset).trim() === '' ? lastTag.name : undefined;
      // (A %TAG directive renames the handles: such a file's tags are left to the YAML parser's warning.)
      if (token.type === 'tag' && !safeTag(token.source) && !/^%TAG/m.test(text))
        issues.push({
          offset: token.offset,
          length: token.source.length,
          message: `the tag ${token.source}: gammapy's YAML reader (PyYAML's safe loader) has no constructor for it and refuses the config`,
          hint: 'remove the tag (a value needs none in a gammapy config)',
        });
      const quoted = token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar';
      const content = quoted ? token.source.slice(1, -1) : token.source;
      // A time is a datetime for gammapy only as PyYAML's timestamp reads it, unquoted: as text (quoted, tagged !!str,
      // or a form the timestamp does not take) astropy's Time refuses a UTC offset (-0130, no seconds) and a t.
      if ((quoted || token.type === 'scalar') && (quoted || tag === 'str' || !PYYAML_TIMESTAMP.test(content)))
        for (const { pattern, what, hint } of TEXT_TIMES)
          if (pattern.test(content))
            issues.push({
              offset: token.offset,
              length: token.source.length,
              message: `${token.source} is text with ${what} for gammapy's YAML reader (PyYAML), which astropy's Time refuses: gammapy refuses the config`,
              hint: hint(content, quoted),
            });
      if (token.type === 'scalar' && tag !== 'str' && DATE.test(token.source))
        issues.push({
          offset: token.offset,
          length: token.source.length,
          message: `${token.source} unquoted is a date for gammapy's YAML reader (PyYAML), which astropy's Time refuses: gammapy refuses the config`,
          hint: `quote it ('${token.source}', midnight UTC for both) or give the time (${token.source}T00:00:00)`,
        });
      // 1e3, 1.0e5 (no sign), -.5, 0o7: numbers for YAML 1.2, text for PyYAML, which gammapy's int fields refuse
      // (nbins: 1e1) and its makers get as a string.
      // (033787, with an 8 or 9 after its leading zero, is text for PyYAML too, but pydantic's int() reads it as 33787,
      // as YAML 1.2 does: not told.)
      if (
        token.type === 'scalar' &&
        tag !== 'float' &&
        tag !== 'str' &&
        YAML12_NUMBER.test(token.source) &&
        !PYYAML_NUMBER.test(token.source) &&
        !/^[-+]?0[0-9]+$/.test(token.source)
      )
        issues.push({
          offset: token.offset,
          length: token.source.length,
          message: `${token.source} is text, not a number, for gammapy's YAML reader (PyYAML, YAML 1.1)`,
          hint: 'write it as PyYAML reads a number: a float with a decimal point and a signed exponent (1.0e+3), an integer in digits (1000)',
        });
      // (!!float 010 is 10.0 for PyYAML, and !!str 010 text, as for pipe.)
      if (token.type === 'scalar' && tag !== 'float' && tag !== 'str' && OCTAL.test(token.source)) {
        const octal = Number.parseInt(token.source.replace(/_/g, ''), 8);
        const decimal = /^[-+]?[0-9]+$/.test(token.source) ? Number(token.source) : Number.NaN;
        if (octal !== decimal)
          issues.push({
            offset: token.offset,
            length: token.source.length,
            message: `${token.source} with its leading zero is the octal number ${octal} for gammapy's YAML reader (PyYAML, YAML 1.1)${Number.isNaN(decimal) ? '' : ` and ${decimal} for pipe's (YAML 1.2)`}`,
            hint: `write the number without the leading zero${Number.isNaN(decimal) ? '' : ` (${decimal})`}, or quote it ("${token.source}" is ${Number.isNaN(decimal) ? 'the same text' : decimal} for both)`,
          });
      }
    }
    for (const value of Object.values(node)) if (value && typeof value === 'object') visit(value);
  };
  for (const token of tokens()) visit(token);
  return issues;
}

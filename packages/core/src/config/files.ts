/**
 * Reading the pipeline's files: the root pipe.yaml and, through `include:`, the files whose
 * targets it merges. Every file is parsed and its top level validated; targets are validated one
 * by one, so one broken target does not hide the errors of the others.
 */
import path from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { brokenLinks, linkTrouble } from '../graph/items.js';
import type { Diagnostic } from '../model/types.js';
import { makeDiagnostic } from './diagnostics.js';
import { salvageTarget } from './salvage.js';
import { type PipeFileDoc, PipeFileSchema, TARGET_NAME_PATTERN, TargetSchema } from './schema.js';
import { keyNode, nodeAt, validateShape } from './schema-issues.js';
import { readSource, type SourceFile, spanOf } from './source.js';
import type { TargetSource } from './targets.js';

/** The top level of a file with targets left unchecked (each is validated on its own). */
const FileTopLevel = PipeFileSchema.extend({ targets: z.record(z.string(), z.unknown()).optional() });

export interface PipelineFile {
  source: SourceFile;
  /** The validated top level (targets excluded), or undefined when it is malformed. */
  top: Omit<PipeFileDoc, 'targets'> | undefined;
  isRoot: boolean;
}

export interface ReadFilesResult {
  files: PipelineFile[];
  targets: TargetSource[];
  /** Targets that exist but whose shape is invalid (references to them are not "unknown"). */
  brokenTargets: Set<string>;
  /** The `include:` globs, absolute: a file they come to match changes the pipeline. */
  includeGlobs: string[];
  diagnostics: Diagnostic[];
}

/** Read the root file and everything it includes (transitively, each file once). */
export async function readPipelineFiles(rootFile: string): Promise<ReadFilesResult> {
  const result: ReadFilesResult = {
    files: [],
    targets: [],
    brokenTargets: new Set(),
    diagnostics: [],
    includeGlobs: [],
  };
  const seen = new Set<string>([rootFile]);
  const queue: Array<{ file: string; from?: Diagnostic['span'] }> = [{ file: rootFile }];
  while (queue.length > 0) {
    const { file, from } = queue.shift()!;
    const read = await readSource(file, from);
    result.diagnostics.push(...read.diagnostics);
    if (!read.source) continue;
    const source = read.source;
    const isRoot = file === rootFile;
    if (read.diagnostics.some((d) => d.severity === 'error')) {
      // A file that does not parse has no trustworthy structure; its syntax errors are the report.
      result.files.push({ source, top: undefined, isRoot });
      continue;
    }
    const js = source.doc.toJS() ?? {};
    const top = validateShape(source, FileTopLevel, js);
    result.files.push({ source, top: top.ok ? top.value : undefined, isRoot });
    if (!top.ok) result.diagnostics.push(...top.diagnostics);
    if (!isRoot) result.diagnostics.push(...rootOnlyKeys(source));
    if (isRoot && top.ok && top.value.version === undefined) {
      result.diagnostics.push(
        makeDiagnostic({
          code: 'missing-version',
          message: 'the root pipeline file must declare its format version',
          at: spanOf(source, source.doc.contents) ?? { file, line: 1, col: 1, length: 1 },
          hint: "add 'version: 1' at the top",
        }),
      );
    }
    collectTargets(source, js, result);
    if (!top.ok) continue;
    (top.value.include ?? []).forEach((pattern, i) => {
      const span = spanOf(source, nodeAt(source, ['include', i]));
      if (isDynamicPattern(pattern)) result.includeGlobs.push(path.resolve(path.dirname(file), pattern));
      for (const included of expandInclude(path.dirname(file), pattern)) {
        if (!seen.has(included)) {
          seen.add(included);
          queue.push({ file: included, from: span });
        }
      }
      // A link the glob leaves out (a pipeline on a disk not mounted): its targets are missing, said here.
      const links = isDynamicPattern(pattern) ? brokenLinks(pattern, path.dirname(file)) : [];
      for (const link of links)
        result.diagnostics.push(
          makeDiagnostic({
            code: 'broken-link',
            severity: 'warning',
            message: `include '${pattern}': '${path.relative(path.dirname(file), link)}' is ${linkTrouble(link)}, so its targets are left out`,
            at: span,
            hint: 'mount or restore what it points to (the next command sees it), or remove the link',
          }),
        );
      if (
        isDynamicPattern(pattern) &&
        links.length === 0 &&
        expandInclude(path.dirname(file), pattern).length === 0
      ) {
        result.diagnostics.push(
          makeDiagnostic({
            code: 'empty-include',
            severity: 'warning',
            message: `include '${pattern}' matches no file`,
            at: span,
          }),
        );
      }
    });
  }
  return result;
}

function expandInclude(dir: string, pattern: string): string[] {
  if (!isDynamicPattern(pattern)) return [path.resolve(dir, pattern)];
  return globSync(pattern, { cwd: dir, absolute: true, onlyFiles: true })
    .map((f) => path.resolve(f))
    .sort();
}

function rootOnlyKeys(source: SourceFile): Diagnostic[] {
  const top = source.doc.contents;
  // The loader reads these from the root file only: in an include they would be ignored without a word.
  return ['config', 'default', 'defaults', 'vars', 'remote_cache'].flatMap((key) => {
    const node = keyNode(top, key);
    if (!node) return [];
    return [
      makeDiagnostic({
        code: 'root-only-key',
        message: `'${key}' is only allowed in the root pipeline file`,
        at: spanOf(source, node),
        hint: 'move it to the pipe.yaml that includes this file',
      }),
    ];
  });
}

function collectTargets(source: SourceFile, js: Record<string, unknown>, result: ReadFilesResult): void {
  const targetsNode = nodeAt(source, ['targets']);
  if (!isMap(targetsNode) || typeof js['targets'] !== 'object' || js['targets'] === null) return;
  for (const pair of targetsNode.items) {
    if (!isScalar(pair.key)) continue;
    const name = String(pair.key.value);
    if (!TARGET_NAME_PATTERN.test(name)) {
      result.diagnostics.push(
        makeDiagnostic({
          code: 'invalid-target-name',
          message: `invalid target name '${name}'`,
          at: spanOf(source, pair.key),
          // 'ünï' is made of letters too: the rule is ASCII's.
          hint: 'use ASCII letters (a-z, A-Z), digits, _ . - and start with an ASCII letter or _',
        }),
      );
    }
    const shape = validateShape(source, TargetSchema, js, ['targets', name]);
    if (!shape.ok) {
      result.diagnostics.push(...shape.diagnostics);
      result.brokenTargets.add(name);
    }
    // A broken target read as its hints suggest is checked with the others (the load fails on its errors anyway),
    // so that its other problems are reported in the same run.
    // Its places are looked up under the keys written (`param:` for the params it is read as).
    const salvaged = shape.ok
      ? { doc: shape.value, renamed: undefined }
      : salvageTarget((js['targets'] as Record<string, unknown>)[name]);
    if (!salvaged) continue;
    const { doc, renamed } = salvaged;
    result.targets.push({
      name,
      source,
      keyNode: pair.key as Node,
      node: pair.value as Node,
      doc,
      ...(renamed && renamed.size > 0 ? { renamed } : {}),
    });
  }
}

/**
 * The `default:` a root pipeline file declares, read from its YAML alone (strings only), or undefined: what
 * `pipe watch` with no target watches when the pipeline does not load, so that it waits for the fix instead of
 * refusing to start.
 */
export async function declaredDefaultTargets(rootFile: string): Promise<string[] | undefined> {
  const { source } = await readSource(rootFile);
  // Read through syntax errors elsewhere in the file (yaml keeps what it could parse).
  const value: unknown = source?.doc.get('default');
  const names =
    typeof value === 'string'
      ? [value]
      : isSeq(value)
        ? value.items.map((i) => (isScalar(i) ? i.value : i))
        : [];
  return names.length > 0 && names.every((n): n is string => typeof n === 'string' && n !== '')
    ? names
    : undefined;
}

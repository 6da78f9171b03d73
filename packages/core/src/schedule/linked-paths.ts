/**
 * Symbolic links the load's path checks cannot see (they compare paths as written), looked at when a task is about
 * to run, with the folders' real paths: an output that a link on its way (`products -> data`) makes a raw input or a
 * file the pipeline is read from, which the build would overwrite; and a raw input that is, through a link, another
 * task's output, which has no edge to its producer. Real paths are looked up once per folder, and the maps of files
 * by real path built only when a link is met.
 */
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { Pipeline, Task } from '../model/types.js';
import { relPath } from '../workspace/layout.js';

export class LinkedPaths {
  private readonly realDirs = new Map<string, string>();
  /** The files the pipeline reads and no task makes (raw inputs, its own files) by real path, with what each is. */
  private readFiles: Map<string, string> | undefined;
  /** Every task's output by real path, with its task's id. */
  private outputs: Map<string, string> | undefined;

  constructor(
    private readonly tasks: ReadonlyMap<string, Task>,
    private readonly pipeline: Pick<Pipeline, 'root' | 'sourceFiles' | 'targets'>,
  ) {}

  /**
   * When a symbolic link on the way to `output` makes it a file the pipeline reads and no task makes: what, as text
   * (`through the symbolic link products → /ws/data, input 'src' of t, data/in.txt`); else undefined.
   */
  outputThroughLink(output: string): string | undefined {
    const dir = path.dirname(output);
    const real = this.realDir(dir);
    if (real === dir) return undefined;
    this.readFiles ??= this.filesRead();
    const what = this.readFiles.get(path.join(real, path.basename(output)));
    return what ? `through the symbolic link ${this.rel(dir)} → ${real}, ${what}` : undefined;
  }

  /**
   * A raw input of `task` that is, through a symbolic link (`data/link.txt -> ../products/a.txt`), another task's
   * output: read as a raw file it has no edge to its producer, so the build may run `task` first (and keep a result
   * of the old bytes until the next build). What, with how to read it as the target's; else undefined.
   */
  inputLinkedToOutput(task: Task): string | undefined {
    for (const [name, files] of Object.entries(task.inputs))
      for (const f of files) {
        if (f.producer !== undefined) continue;
        let real: string;
        if (lstatSync(f.path, { throwIfNoEntry: false })?.isSymbolicLink()) {
          try {
            real = realpathSync(f.path);
          } catch {
            continue; // a dangling link: missing, as the task's own check says
          }
        } else real = this.realFile(f.path);
        if (real === f.path) continue;
        if (!this.outputs) {
          this.outputs = new Map();
          for (const t of this.tasks.values())
            for (const out of Object.values(t.outputs)) this.outputs.set(this.realFile(out), t.id);
        }
        const producer = this.outputs.get(real);
        if (producer === undefined || producer === task.id) continue;
        const target = this.tasks.get(producer)?.target ?? producer;
        return `input '${name}' (${this.rel(f.path)}) is, through a symbolic link, ${this.rel(real)}, an output of ${producer}: read as a raw file it has no edge to that task, which may not have run yet; read it as {target: ${target}}`;
      }
    return undefined;
  }

  private filesRead(): Map<string, string> {
    const files = new Map<string, string>();
    const add = (file: string, what: string) => {
      const key = this.realFile(file);
      if (!files.has(key)) files.set(key, what);
    };
    for (const task of this.tasks.values())
      for (const [name, inputs] of Object.entries(task.inputs))
        for (const f of inputs)
          if (f.producer === undefined) add(f.path, `input '${name}' of ${task.id}, ${this.rel(f.path)}`);
    for (const file of this.pipeline.sourceFiles)
      add(file, `a file the pipeline is read from, ${this.rel(file)}`);
    for (const t of this.pipeline.targets.values())
      if (t.stepModule) add(t.stepModule, `the step module of target '${t.name}', ${this.rel(t.stepModule)}`);
    return files;
  }

  /** A file's path with its folder's symbolic links resolved (the file itself is taken as it is). */
  private realFile(file: string): string {
    return path.join(this.realDir(path.dirname(file)), path.basename(file));
  }

  private realDir(dir: string): string {
    let real = this.realDirs.get(dir);
    if (real === undefined) {
      try {
        real = realpathSync(dir);
      } catch {
        real = dir;
      }
      this.realDirs.set(dir, real);
    }
    return real;
  }

  private rel(p: string): string {
    return relPath(this.pipeline.root, p);
  }
}

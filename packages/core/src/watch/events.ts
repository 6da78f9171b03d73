/**
 * What watch mode reports (the CLI renders these; `pipe watch --json` prints one per line, next to
 * the build's own events). Every failure of an edit is a `diagnostics` event, never an exception:
 * the loop keeps watching and the next good edit recovers.
 */
import type { Diagnostic } from '../model/types.js';
import type { BuildEvent, BuildStatus, TaskReport } from '../schedule/events.js';
import type { WatchKind } from './watch-set.js';

/** Where a diagnostic came from. */
export type DiagnosticSource =
  | 'pipeline'
  | 'session'
  | 'step-compile'
  | 'kernel-compile'
  | 'build'
  | 'watcher';

export type WatchEvent =
  /** The watcher is armed: this many files (in this many directories) are watched. */
  | { type: 'watch-start'; files: number; dirs: number; polling: boolean }
  /** Debounced, coalesced content changes that start a rebuild. */
  | { type: 'change'; paths: string[]; kinds: WatchKind[] }
  /** Files that were written but whose content did not change (a touch): nothing runs. */
  | { type: 'unchanged'; paths: string[] }
  | { type: 'kernel-rebuilt'; kernel: string; backend: 'wasm' | 'native'; ms: number }
  | { type: 'step-compiled'; project: string; ms: number }
  /** `diagnostics`: the pipeline's or session's errors one by one (with their places), where there are such. */
  | { type: 'diagnostics'; source: DiagnosticSource; message: string; diagnostics?: readonly Diagnostic[] }
  | { type: 'build-start'; buildId: string; tasks: number; plan: Record<string, number> }
  | { type: 'build'; event: BuildEvent }
  | {
      type: 'build-end';
      buildId: string;
      /** False when nothing ran: no build record was written under buildId. */
      recorded: boolean;
      status: BuildStatus;
      counts: Record<string, number>;
      /** Ids of the tasks that ran (not restored or up to date). */
      ran: string[];
      ms: number;
      /** Output files of the requested targets (absolute). */
      products: string[];
      reports: Map<string, TaskReport>;
    }
  /** A note worth showing (a discarded state file, an unreadable cache entry, a polling fallback). */
  | { type: 'note'; message: string }
  /** The loop is idle, waiting for the next change. */
  | { type: 'idle' };

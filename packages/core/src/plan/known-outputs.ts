/**
 * The outputs settled tasks make known downstream, by task id (planner and scheduler). A task up to date as
 * recorded holds its outputs in its state record, parsed only on first use (state/record-table.ts): they are
 * taken from its decision when a task downstream asks, which in a build that changed a few tasks of 10,000 only
 * the tasks downstream of the change do.
 */
import type { Decision, KnownOutput } from './decide.js';

export type Outputs = Record<string, KnownOutput>;

/** What deciding a task reads of its upstream's outputs. */
export interface UpstreamOutputs {
  get(id: string): Outputs | undefined;
}

type UpToDate = Extract<Decision, { action: 'up-to-date' }>;

export class KnownOutputs implements UpstreamOutputs {
  private readonly known = new Map<string, Outputs>();
  /** Up-to-date decisions whose outputs were not asked for yet. */
  private readonly unread = new Map<string, UpToDate>();

  set(id: string, outputs: Outputs): void {
    this.known.set(id, outputs);
  }

  /** The outputs of an up-to-date decision, read from it when first asked for. */
  setFrom(id: string, decision: UpToDate): void {
    this.unread.set(id, decision);
  }

  has(id: string): boolean {
    return this.known.has(id) || this.unread.has(id);
  }

  get(id: string): Outputs | undefined {
    const outputs = this.known.get(id);
    if (outputs !== undefined) return outputs;
    const decision = this.unread.get(id);
    if (decision === undefined) return undefined;
    this.unread.delete(id);
    this.known.set(id, decision.outputs);
    return decision.outputs;
  }
}

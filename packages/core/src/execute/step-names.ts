/**
 * The names of a step's ctx.inputs and ctx.outputs, watched: a step that fails after asking for a name its task does
 * not have (a typo: ctx.outputs['sumary']) is told that name and the close one. Used wherever a step runs (the local
 * executor's worker, a Slurm job's job-entry), so the failure reads alike on every executor.
 */
import { didYouMean } from '../graph/closest-names.js';

/** Which names a step asked for that its task lacks, by the object it asked. */
export type AskedNames = Map<'inputs' | 'outputs', Set<string>>;

/** Names a runtime or a library asks any object for: not a step asking for an input or output of that name. */
const PROBED = new Set(['then', 'toJSON', 'inspect', 'asymmetricMatch', 'nodeType', '$$typeof']);

/**
 * `names` as the step sees it, noting each name it asks for that the task does not have (ctx.outputs['sumary']). A
 * plain object with the names as its own properties, over a watching prototype: it still clones (postMessage,
 * workerData, structuredClone), as a Proxy would not.
 */
export function watchNames<T extends Record<string, unknown>>(
  names: T,
  what: 'inputs' | 'outputs',
  asked: AskedNames,
): T {
  const watcher = new Proxy(
    {},
    {
      get(target, key, receiver) {
        if (typeof key === 'string' && !(key in target) && !PROBED.has(key)) {
          const set = asked.get(what) ?? new Set<string>();
          asked.set(what, set.add(key));
        }
        return Reflect.get(target, key, receiver);
      },
    },
  );
  return Object.assign(Object.create(watcher) as T, names);
}

/**
 * A step that failed after asking for an input or output its task does not have: that name is most likely why (a
 * typo gives undefined, and the TypeError that follows names no name), so the message says it. Asking alone is no
 * error: a step may look for an optional output (`if (ctx.outputs['summary'])`).
 */
export function withUndeclaredNames(
  error: unknown,
  asked: AskedNames,
  task: { inputs: Record<string, unknown>; outputs: Record<string, unknown> },
): unknown {
  if (asked.size === 0 || !(error instanceof Error)) return error;
  const notes = [...asked].flatMap(([what, names]) => {
    const known = Object.keys(task[what]);
    return [...names].map((name) => {
      const hint = didYouMean(name, known);
      const text = `ctx.${what}['${name}'] is not one of this task's ${what} (${known.length > 0 ? known.join(', ') : 'it has none'})${hint ? `: ${hint}` : ''}`;
      return { text, close: hint !== undefined };
    });
  });
  // A name close to one the task has is the likely typo; the others may be optional names looked for.
  const likely = notes.some((n) => n.close) ? notes.filter((n) => n.close) : notes;
  const message = `${error.message} (the step asked for a name its task does not have: ${likely.map((n) => n.text).join('; ')})`;
  // Defined, not assigned: a DOMException (an AbortError, a DataCloneError) has its message as a getter only, and an
  // assignment would throw, putting a TypeError of ours in the place of the step's own error. A frozen one keeps its
  // own words.
  try {
    Object.defineProperty(error, 'message', { value: message, writable: true, configurable: true });
  } catch {
    // frozen or sealed: the step's error as it is
  }
  return error;
}

/**
 * The process's interrupt: the first Ctrl-C or SIGTERM of a build or watch aborts what waits on the network (remote
 * cache requests), so that a hung server cannot hold a stopping build for its timeouts and retries.
 */
const controller = new AbortController();

/** Aborted once the command was interrupted; handed to the remote cache's transport. */
export const interruptSignal: AbortSignal = controller.signal;

export function interrupt(): void {
  controller.abort();
}

/**
 * The timers of one HTTP request: a deadline for the whole exchange and, for a blob, an idle watchdog that fails a
 * transfer when no byte has moved for a while. Both abort one signal, and both are cleared when the exchange ends
 * (the response body read to its end, cancelled or failed; or no body at all), so that a long session (`pipe watch`)
 * holds no timer per past request.
 */

/** Statuses whose response has no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export class RequestTimers {
  private readonly controller = new AbortController();
  private deadline: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private ended = false;
  /**
   * Fails the watched body with the abort reason. undici holds a fetch's Response only weakly: once the wrapper
   * below has replaced it and it is collected, aborting the signal no longer errors its body, and a stalled read
   * waited forever (one run in a few dozen). The timers therefore fail the body themselves.
   */
  private failBody: ((reason: unknown) => void) | undefined;
  /** Aborted when the deadline passes, the transfer stalls or the session is interrupted. */
  readonly signal: AbortSignal = this.controller.signal;

  /**
   * `deadlineMs`: the whole exchange; `idleMs`: the longest silence of a transfer (none: no watchdog).
   * Not AbortSignal.timeout: combined by AbortSignal.any, nothing holds that one strongly, and once collected it
   * never fires (a request to a hung server then waited for undici's own 5 minutes). The timers hold the controller;
   * unref'd, they keep no process alive.
   */
  constructor(
    deadlineMs: number,
    private readonly idleMs?: number,
    /** The session's interrupt (Ctrl-C): it aborts the request and fails its body as the timers do. */
    private readonly interrupt?: AbortSignal,
  ) {
    this.deadline = setTimeout(() => this.abort('timed out'), deadlineMs);
    this.deadline.unref();
    this.touch();
    if (interrupt?.aborted) this.abortWith(interrupt.reason);
    else interrupt?.addEventListener('abort', this.onInterrupt);
  }

  private readonly onInterrupt = () => this.abortWith(this.interrupt?.reason);

  /** Bytes moved: re-arm the idle watchdog (not after the end: an upload's last chunk may be seen after the answer). */
  touch(): void {
    if (this.idleMs === undefined || this.ended) return;
    clearTimeout(this.idle);
    const ms = this.idleMs;
    this.idle = setTimeout(() => this.abort(`stalled: no data for ${ms / 1000} s`), ms);
    this.idle.unref();
  }

  /** The exchange is over: clear both timers. */
  end(): void {
    this.ended = true;
    clearTimeout(this.deadline);
    clearTimeout(this.idle);
    this.deadline = undefined;
    this.idle = undefined;
    this.failBody = undefined;
    this.interrupt?.removeEventListener('abort', this.onInterrupt);
  }

  private abort(message: string): void {
    this.abortWith(new DOMException(message, 'TimeoutError'));
  }

  private abortWith(reason: unknown): void {
    const failBody = this.failBody;
    this.end();
    this.controller.abort(reason);
    failBody?.(reason);
  }

  /** A request body, re-arming the watchdog per chunk; once sent, the server has the idle time to answer. */
  watchUpload(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          this.touch();
          controller.enqueue(chunk);
        },
        flush: () => this.touch(),
      }),
    );
  }

  /**
   * The response, with a body that re-arms the watchdog per chunk and ends the timers when it is read to its end,
   * cancelled (discard) or fails. A response without a body ends them at once.
   */
  watchResponse(response: Response): Response {
    if (!response.body || NULL_BODY_STATUSES.has(response.status)) {
      this.end();
      return response;
    }
    this.touch();
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.failBody = (reason) => {
          controller.error(reason); // a read pending on it fails now; what the pull below does after is ignored
          reader.cancel(reason).catch(() => undefined); // and the connection is let go
        };
      },
      pull: async (controller) => {
        try {
          const { done, value } = await reader.read();
          if (done) {
            this.end();
            controller.close();
          } else {
            this.touch();
            controller.enqueue(value);
          }
        } catch (error) {
          this.end();
          controller.error(error);
        }
      },
      cancel: (reason) => {
        this.end();
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
}

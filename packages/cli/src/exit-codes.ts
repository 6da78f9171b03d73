/** Exit codes of `pipe`. */
export const EXIT_OK = 0;
export const EXIT_BUILD_FAILED = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report an interrupted program. */
export const EXIT_INTERRUPTED = 130;
/** Stopped by SIGHUP (128 + 1): the terminal or ssh session it ran in closed. */
export const EXIT_HANGUP = 129;
/** Stopped by SIGTERM (128 + 15). */
export const EXIT_TERMINATED = 143;

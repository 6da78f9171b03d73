/**
 * What a task sees of the environment (design.md: no variable but those its target lists under `env:`, which enter
 * its key): PATH, HOME, TMPDIR and the locale (LANG, LC_ALL, LC_*), as a command gets them, and those listed. A step
 * thread's own copy of the environment is cut down to that when it starts (a step module reading a variable at import
 * sees no other), and each task adds its listed ones while it runs.
 */

/** Passed to every task: what programs need to run at all; none of it enters a key. */
export const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'];

/**
 * The locale's variables besides LANG, as POSIX's setlocale reads them: LC_ALL over each category's LC_CTYPE,
 * LC_COLLATE, LC_NUMERIC, …, over LANG. All of them pass with LANG, or none would make sense: LANG alone let a
 * command sort per LANG under a shell's LC_ALL=C. Like LANG, not in a key (list them under `env:` for that).
 * Named one by one, POSIX's and glibc's categories: not every LC_ name (LC_TERMINAL, which iTerm2 sets and ssh's
 * `SendEnv LC_*` forwards, names a terminal, no locale), nor LANGUAGE (GNU gettext's list of message languages).
 */
const LOCALE_VARIABLES = new Set([
  'LC_ALL',
  'LC_COLLATE',
  'LC_CTYPE',
  'LC_MESSAGES',
  'LC_MONETARY',
  'LC_NUMERIC',
  'LC_TIME',
  // glibc's own categories.
  'LC_ADDRESS',
  'LC_IDENTIFICATION',
  'LC_MEASUREMENT',
  'LC_NAME',
  'LC_PAPER',
  'LC_TELEPHONE',
]);

/** The names of `env`'s variables a task sees besides its target's `env:`: PASSED_ENV, and the locale's that are set. */
export function passedEnvNames(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...PASSED_ENV,
    ...Object.keys(env)
      .filter((n) => LOCALE_VARIABLES.has(n))
      .sort(),
  ];
}

/** pipe's own settings a step thread reads (the kernel backend and its threads), not the step's. */
const PIPE_OWN_ENV = ['PIPE_KERNELS', 'PIPE_KERNEL_THREADS', 'PIPE_KERNELS_ROOT'];

/** Cut this thread's environment down to what a task may see (a worker thread has its own copy). */
export function confineStepEnv(env: NodeJS.ProcessEnv = process.env): void {
  const keep = new Set([...passedEnvNames(env), ...PIPE_OWN_ENV]);
  for (const name of Object.keys(env)) if (!keep.has(name)) delete env[name];
}

/** Set a task's listed variables for its run; the returned function takes them away again. */
export function withTaskEnv(
  declared: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): () => void {
  const before = new Map(Object.keys(declared).map((name) => [name, env[name]] as const));
  Object.assign(env, declared);
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
  };
}

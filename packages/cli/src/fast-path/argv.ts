/**
 * The command lines the no-op fast path answers: `pipe [-f F] [-C D] build|plan [targets...]` with only
 * options that do not change what a no-op does or prints (--config, --param, --kernels, --cache-dir, and
 * for build -j, -k, -n). Anything else — another command, --force, --json, --wait, --out, --executor,
 * --detach, the remote cache, help, an option this parser does not know or a malformed one — is declined
 * (undefined), and commander parses the command line as always. Values are taken as commander takes them.
 */

export interface FastRequest {
  command: 'build' | 'plan';
  targets: string[];
  file?: string;
  cwd?: string;
  config?: string;
  params: string[];
  kernels?: string;
  cacheDir?: string;
  /** build -n: print the plan instead of building. */
  dryRun: boolean;
}

type Setter = (req: FastRequest, value: string) => void;

const GLOBAL_VALUED: Record<string, Setter> = {
  '-f': (r, v) => {
    r.file = v;
  },
  '--file': (r, v) => {
    r.file = v;
  },
  '-C': (r, v) => {
    r.cwd = v;
  },
  '--cwd': (r, v) => {
    r.cwd = v;
  },
};

const VALUED: Record<string, Setter> = {
  '--config': (r, v) => {
    r.config = v;
  },
  '--param': (r, v) => {
    r.params.push(v);
  },
  '--kernels': (r, v) => {
    r.kernels = v;
  },
  '--cache-dir': (r, v) => {
    r.cacheDir = v;
  },
};

/** Options of `build` only; their values do not matter to a no-op. */
const BUILD_VALUED = new Set(['-j', '--jobs']);
const BUILD_FLAGS = new Set(['-k', '--keep-going', '-n', '--dry-run']);

/** Split `--name=value` and `-xVALUE` the way commander does; undefined for a bare option or an argument. */
function splitAttached(arg: string, known: (name: string) => boolean): [string, string] | undefined {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    return eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : undefined;
  }
  if (arg.length > 2 && arg[0] === '-' && known(arg.slice(0, 2))) return [arg.slice(0, 2), arg.slice(2)];
  return undefined;
}

/** The request of `argv` (process.argv: node, script, args...), or undefined when the fast path does not apply. */
export function parseFastArgv(argv: readonly string[]): FastRequest | undefined {
  const args = argv.slice(2);
  const req: FastRequest = { command: 'build', targets: [], params: [], dryRun: false };
  let i = 0;
  // Global options, before the command.
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) break;
    const attached = splitAttached(arg, (n) => n in GLOBAL_VALUED);
    const name = attached ? attached[0] : arg;
    const set = GLOBAL_VALUED[name];
    if (!set) return undefined;
    if (attached) set(req, attached[1]);
    else {
      const value = args[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      set(req, value);
    }
  }
  const command = args[i++];
  if (command !== 'build' && command !== 'plan') return undefined;
  req.command = command;
  const isBuild = command === 'build';
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      req.targets.push(arg);
      continue;
    }
    if (arg === '--') return undefined;
    if (isBuild && BUILD_FLAGS.has(arg)) {
      if (arg === '-n' || arg === '--dry-run') req.dryRun = true;
      continue;
    }
    const attached = splitAttached(arg, (n) => n in VALUED || (isBuild && BUILD_VALUED.has(n)));
    const name = attached ? attached[0] : arg;
    const set = VALUED[name];
    const buildValued = isBuild && BUILD_VALUED.has(name);
    if (!set && !buildValued) return undefined;
    let value: string | undefined;
    if (attached) value = attached[1];
    else {
      value = args[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
    }
    if (set) set(req, value);
    // A malformed -j: the full path refuses it (as commander parses it), not a no-op that says "up to date".
    else if (!/^[1-9]\d*$/.test(value.trim())) return undefined;
  }
  // Malformed --param: the full path reports it.
  if (req.params.some((p) => p.indexOf('=') <= 0)) return undefined;
  return req;
}

// What node's start costs when NODE_EXTRA_CA_CERTS is set: Node 20 reads that certificate file at each start (on this
// sandbox ~35 ms, before a line of JavaScript runs). The `pipe` command (packages/cli/bin/pipe) starts node without
// it; the benches also time `node bin/pipe.js`, which pays it. Measured, not assumed.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';

/** A line saying what node's start costs here with and without NODE_EXTRA_CA_CERTS, or undefined when it is unset. */
export function nodeStartNote(runs = 7) {
  if (!process.env.NODE_EXTRA_CA_CERTS) return undefined;
  const start = (env) => {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      spawnSync(process.execPath, ['-e', '0'], { env });
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
  };
  const without = withoutExtraCa(process.env);
  const withCa = start(process.env);
  const withoutCa = start(without);
  return (
    `note: NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): node starts in ${withCa.toFixed(0)} ms ` +
    `with it, ${withoutCa.toFixed(0)} ms without (medians of ${runs}); the pipe command starts node without it, ` +
    '`node bin/pipe.js` with it'
  );
}

/** `env` without NODE_EXTRA_CA_CERTS: a process started with it runs as on a machine that does not set it. */
export function withoutExtraCa(env) {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = env;
  return rest;
}

/**
 * A warning when a bundle is older than the compiled packages it holds (a bare `tsc -b` since `npm run build`):
 * pipe then loads the ~100 compiled modules instead (bin/pipe.js, core's steps/bundled.ts), and every figure
 * measures that slower start. Undefined when both bundles are fresh.
 */
export function staleBundleNote(repo) {
  const mtime = (rel) => statSync(path.join(repo, rel), { throwIfNoEntry: false })?.mtimeMs;
  const bundles = [
    ['packages/cli/dist/bundle/main.js', ['cli', 'core', 'cache']],
    ['packages/astro/dist/bundle/steps/excess-map.js', ['astro', 'kernels']],
  ];
  const stale = bundles.filter(([bundle, packages]) => {
    const made = mtime(bundle);
    return made === undefined || packages.some((p) => (mtime(`packages/${p}/dist/.tsbuildinfo`) ?? 0) > made);
  });
  if (stale.length === 0) return undefined;
  return `warning: ${stale.map(([b]) => b).join(' and ')} older than the compiled packages: pipe runs its slower, unbundled modules (run npm run build first)`;
}

/**
 * `env` with this node's folder first on PATH: the pipe command (bin/pipe) runs `node` from PATH, and the figures
 * beside it (`node bin/pipe.js`, the header's version) are this node's.
 */
export function withThisNode(env) {
  return { ...env, PATH: [path.dirname(process.execPath), env.PATH].filter(Boolean).join(path.delimiter) };
}

// What node's start costs when NODE_EXTRA_CA_CERTS is set: Node 20 reads that certificate file at each start (on this
// sandbox ~35 ms, before a line of JavaScript runs). The `pipe` command (packages/cli/bin/pipe) starts node without
// it; the benches also time `node bin/pipe.js`, which pays it. Measured, not assumed.
import { spawnSync } from 'node:child_process';

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

// A caveat for every figure of a process: when NODE_EXTRA_CA_CERTS is set, node reads that certificate file at
// each start (on this sandbox ~40 ms of every `pipe` command, before pipe runs a line). Measured, not assumed.
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
    `with it, ${withoutCa.toFixed(0)} ms without (medians of ${runs}); every pipe figure below includes that start`
  );
}

/** `env` without NODE_EXTRA_CA_CERTS: a process started with it runs as on a machine that does not set it. */
export function withoutExtraCa(env) {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = env;
  return rest;
}

#!/usr/bin/env node
import { main } from '../dist/main.js';

// `pipe build … | head` closes our stdout early: the build must still finish and record its state, so a
// closed pipe only silences the output.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 70;
  },
);

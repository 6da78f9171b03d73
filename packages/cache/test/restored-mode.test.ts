// A restored file's mode: the recorded permission bits less this process's umask, never setuid/setgid/sticky — a
// manifest made under umask 000 (or forged to ask for 0o6777) does not make products writable by all.
import { expect, it } from 'vitest';
import { restoredMode } from '../src/types.js';

it('takes the umask off the recorded mode and drops the special bits', () => {
  const umask = process.umask();
  expect(restoredMode(0o666)).toBe(0o666 & ~umask);
  expect(restoredMode(0o6777)).toBe(0o777 & ~umask);
  expect(restoredMode(0o6777) & 0o7000).toBe(0);
});

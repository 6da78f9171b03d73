/**
 * Which variables of pipe's environment a task sees besides its target's `env:` (execute/step-env.ts): PATH, HOME,
 * TMPDIR, SYSTEMROOT and the locale's, by name, whatever else is set.
 */
import { describe, expect, it } from 'vitest';
import { confineStepEnv, passedEnvNames } from '../src/execute/step-env.js';

const shell = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C',
  LC_NUMERIC: 'de_DE.UTF-8',
  LC_IDENTIFICATION: 'C',
  // Set by iTerm2 and forwarded by ssh's `SendEnv LC_*`: a terminal's name, no locale.
  LC_TERMINAL: 'iTerm2',
  LC_TERMINAL_VERSION: '3.5.0',
  LANGUAGE: 'fr',
  PYTHONPATH: '/opt/lib',
};

describe('the environment a task sees', () => {
  it("is the locale's variables and PASSED_ENV, not every LC_ name", () => {
    expect(passedEnvNames(shell)).toEqual([
      'PATH',
      'HOME',
      'TMPDIR',
      'LANG',
      'SYSTEMROOT',
      'LC_ALL',
      'LC_IDENTIFICATION',
      'LC_NUMERIC',
    ]);
  });

  it("in a step thread, once confined, is the same (and pipe's own settings)", () => {
    const env: NodeJS.ProcessEnv = { ...shell, PIPE_KERNELS: 'wasm' };
    confineStepEnv(env);
    expect(Object.keys(env).sort()).toEqual([
      'HOME',
      'LANG',
      'LC_ALL',
      'LC_IDENTIFICATION',
      'LC_NUMERIC',
      'PATH',
      'PIPE_KERNELS',
    ]);
  });
});

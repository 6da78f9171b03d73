import { describe, expect, it } from 'vitest';
import { resolveRemote } from '../src/commands/remote.js';

describe('where the remote cache comes from', () => {
  const pipeline = {
    url: 'http://127.0.0.1:18080/pipeline',
    protocol: 'bazel' as const,
    mode: 'read' as const,
  };

  it('takes the pipeline file when neither flags nor the environment say otherwise', () => {
    const r = resolveRemote({}, {}, pipeline);
    expect(r.ok && r.mode).toBe('read');
    expect(r.ok && r.remote?.url).toBe('http://127.0.0.1:18080/pipeline/');
  });

  it('lets the environment win over the pipeline file, and flags over both', () => {
    const env = { PIPE_REMOTE_CACHE: 'http://127.0.0.1:18080/env', PIPE_REMOTE_CACHE_MODE: 'readwrite' };
    const fromEnv = resolveRemote({}, env, pipeline);
    expect(fromEnv.ok && [fromEnv.remote?.url, fromEnv.mode]).toEqual([
      'http://127.0.0.1:18080/env/',
      'readwrite',
    ]);
    const fromFlags = resolveRemote(
      { remoteCacheUrl: 'http://127.0.0.1:18080/flag', remoteCache: 'off' },
      env,
      pipeline,
    );
    expect(fromFlags.ok && [fromFlags.remote, fromFlags.mode]).toEqual([undefined, 'off']);
  });

  it('reports a bad protocol from the pipeline file as a configuration error', () => {
    const r = resolveRemote({}, {}, { url: 'http://127.0.0.1:18080', protocol: 'turbo' });
    expect(r.ok).toBe(false);
  });
});

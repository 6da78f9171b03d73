import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteCache } from './http-backend.js';
import { type CacheFailure, type CacheOutcome, describeFailure } from './types.js';

export type DoctorStepName = 'reach' | 'read' | 'write' | 'read-back' | 'overwrite' | 'delete';

export interface DoctorStep {
  step: DoctorStepName;
  /** 'skipped': not possible with this protocol (e.g. Turborepo has no delete) or after an earlier failure. */
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
  ms: number;
}

export interface DoctorReport {
  ok: boolean;
  /** Readable but not writable (e.g. a read-only token): fine for `mode: 'read'`. */
  readOnly: boolean;
  steps: DoctorStep[];
  /** One line: what works, or what is wrong and what to check. */
  verdict: string;
}

/**
 * Check a remote end to end with a random probe blob: reachability, an authenticated read, a write, a
 * verified read-back, an overwrite, and a delete where the protocol has one. Never throws; no secrets.
 */
export async function doctor(remote: RemoteCache): Promise<DoctorReport> {
  const steps: DoctorStep[] = [];
  const run = async (
    step: DoctorStepName,
    fn: () => Promise<CacheOutcome<string>>,
  ): Promise<CacheFailure | undefined> => {
    const t0 = performance.now();
    const r = await fn();
    steps.push({
      step,
      status: r.ok ? 'ok' : 'failed',
      detail: r.ok ? r.value : describeFailure(r.failure),
      ms: Math.round(performance.now() - t0),
    });
    return r.ok ? undefined : r.failure;
  };
  const skip = (step: DoctorStepName, detail: string) =>
    steps.push({ step, status: 'skipped', detail, ms: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'pipe-doctor-'));
  try {
    const probe = Buffer.concat([Buffer.from('pipe cache doctor probe\n'), randomBytes(32)]);
    const sha = createHash('sha256').update(probe).digest('hex');
    const src = join(dir, 'probe');
    await writeFile(src, probe);

    const reach = await run('reach', async () => {
      const r = await remote.ping();
      return r.ok ? { ok: true, value: `${remote.url} answers` } : r;
    });
    if (reach) return finish(remote, steps, reach, 'reach');
    const read = await run('read', async () => {
      const r = await remote.hasBlob(sha);
      if (!r.ok) return r;
      return {
        ok: true,
        value: r.value ? 'probe unexpectedly present' : 'lookup of a missing entry answers "missing"',
      };
    });
    if (read) return finish(remote, steps, read, 'read');
    const write = await run('write', async () => {
      const r = await remote.putBlob(sha, src);
      return r.ok ? { ok: true, value: `stored cas/${sha.slice(0, 12)}…` } : r;
    });
    if (write) {
      for (const s of ['read-back', 'overwrite', 'delete'] as const) skip(s, 'after a failed write');
      return finish(remote, steps, write, 'write');
    }
    const readBack = await run('read-back', async () => {
      const dest = join(dir, 'back');
      const r = await remote.fetchBlob(sha, dest);
      if (!r.ok) return r;
      if (!r.value)
        return {
          ok: false,
          failure: { type: 'unavailable', detail: 'the probe was accepted but cannot be read back' },
        };
      const same = (await readFile(dest)).equals(probe);
      return same
        ? { ok: true, value: 'read back, hash verified' }
        : { ok: false, failure: { type: 'corrupt', what: 'probe', detail: 'read back different bytes' } };
    });
    if (readBack) return finish(remote, steps, readBack, 'read-back');
    const overwrite = await run('overwrite', async () => {
      const r = await remote.putBlob(sha, src);
      return r.ok ? { ok: true, value: 'overwriting an existing entry is accepted' } : r;
    });
    if (overwrite) return finish(remote, steps, overwrite, 'overwrite');
    if (remote.deleteBlob) {
      const del = remote.deleteBlob.bind(remote);
      const failed = await run('delete', async () => {
        const r = await del(sha);
        return r.ok ? { ok: true, value: 'probe deleted' } : r;
      });
      if (failed) return finish(remote, steps, failed, 'delete');
    } else {
      skip('delete', `the ${remote.protocol} protocol has no delete; the ${probe.length}-byte probe stays`);
    }
    return finish(remote, steps, undefined, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function finish(
  remote: RemoteCache,
  steps: DoctorStep[],
  failure: CacheFailure | undefined,
  at: DoctorStepName | undefined,
): DoctorReport {
  const where = `${remote.url} (${remote.protocol})`;
  if (!failure || !at) {
    return {
      ok: true,
      readOnly: false,
      steps,
      verdict: `OK: ${where} is reachable, accepts the credentials, stores and returns blobs intact`,
    };
  }
  const readOnly = at === 'write' && failure.type === 'unauthorized';
  // An answer with a 5xx, or none in time, comes from a server that runs: its log says more than a wrong URL would.
  const cause = failure.type === 'unavailable' ? failure.cause : undefined;
  const unavailable =
    cause === 'server-error'
      ? 'the server answered with an error: its log says why'
      : cause === 'timeout'
        ? 'the server took the connection but did not answer in time (overloaded? PIPE_REMOTE_CACHE_TIMEOUT sets the wait)'
        : 'is it running, and is PIPE_REMOTE_CACHE right?';
  const hint: Record<CacheFailure['type'], string> = {
    unavailable,
    unauthorized: readOnly
      ? "reads work but writes are refused: fine for mode 'read'; to write, check PIPE_REMOTE_CACHE_TOKEN"
      : 'check PIPE_REMOTE_CACHE_TOKEN (and PIPE_REMOTE_CACHE_TEAM for turbo)',
    rejected: 'the server refused the request (size limit? wrong protocol? check PIPE_REMOTE_CACHE_PROTOCOL)',
    corrupt: 'the server returned different bytes than were stored (a proxy rewriting bodies?)',
    'invalid-manifest': 'the server holds an invalid manifest',
  };
  return {
    ok: false,
    readOnly,
    steps,
    verdict: `FAILED at ${at}: ${where}: ${describeFailure(failure).trim()} — ${hint[failure.type]}`,
  };
}

/**
 * A remote cache that refuses, dies, errors or hangs never fails a build: one warning, then local
 * only (unless --remote-cache-required). A read-only client never writes. Real nginx for refusals and
 * the mid-build kill (a private instance, so no other test loses its server); fake HTTP servers at the
 * network seam for 5xx answers and a server that never answers.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheServersEnv, freePort, serversDown, serversUp } from '../packages/cache/test/servers.js';
import { buildWith, namespace, REPO, servers, tmpDir } from './remote-cache-rig.js';
import { parseEvents, Workspace } from './rig.js';

const WRITE = "require('fs').writeFileSync(process.argv[1], process.argv[2])";
const COPY =
  "const fs=require('fs');fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8')+process.argv[3])";

/** a → b → c; `middle` is the command b runs before writing its output (e.g. stopping the server). */
function chain(tag: string, middle = 'true'): Workspace {
  return new Workspace({
    'pipe.yaml': `version: 1
targets:
  a:
    command: [node, -e, ${JSON.stringify(WRITE)}, "{outputs.out}", "a-${tag}"]
    outputs: {out: out/a.txt}
  b:
    inputs: {a: {target: a}}
    command: [sh, -c, ${JSON.stringify(`${middle} && cp "$0" "$1"`)}, "{inputs.a}", "{outputs.out}"]
    outputs: {out: out/b.txt}
  c:
    inputs: {b: {target: b}}
    command: [node, -e, ${JSON.stringify(COPY)}, "{inputs.b}", "{outputs.out}", "-c"]
    outputs: {out: out/c.txt}
`,
  });
}

let env: CacheServersEnv | undefined;
let skip: string | undefined;
const privateDirs: string[] = [];
const fakes: Server[] = [];

beforeAll(async () => {
  ({ env, skip } = await servers());
}, 180_000);

afterAll(async () => {
  for (const d of privateDirs) await serversDown({ CACHE_CI_DIR: d }).catch(() => undefined);
  for (const s of fakes) s.close();
});

describe('remote cache faults', () => {
  it('an unauthorised write is refused: one warning, the build succeeds, nothing reaches the server', async (t) => {
    if (!env) return t.skip(skip);
    const ns = namespace('bazel', env);
    const ws = chain('unauth');
    const built = await buildWith(ws, ['c'], { ...ns.env, PIPE_REMOTE_CACHE_TOKEN: 'not-the-token-4711' });
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['a', 'b', 'c']);
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/refused a write \(unauthorized.*\): reading from it only/);
    expect(built.run.stderr + built.run.stdout).not.toContain('not-the-token-4711');
    expect(ns.files()).toEqual([]);
    expect(ws.read('out/c.txt')).toBe('a-unauth-c');
    // --remote-cache-required finds the refused write before any work, not after it.
    const strict = await buildWith(chain('unauth2'), ['c', '--remote-cache-required'], {
      ...ns.env,
      PIPE_REMOTE_CACHE_TOKEN: 'not-the-token-4711',
    });
    expect(strict.run.code).toBe(1);
    expect(strict.run.stderr).toMatch(/is required \(--remote-cache-required\) but fails: .*unauthorized/);
    expect(strict.ended).toEqual({});
    // pipe cache doctor: a failure for a read-write build, fine for a --remote-cache=read one (as CI's docs run it).
    const doctorEnv = { ...ns.env, PIPE_REMOTE_CACHE_TOKEN: 'not-the-token-4711' };
    const rw = await ws.run(['cache', 'doctor'], doctorEnv);
    expect(rw.code).toBe(1);
    const ro = await ws.run(['cache', 'doctor', '--remote-cache', 'read'], doctorEnv);
    expect(ro.code, ro.stderr).toBe(0);
    expect(ro.stdout).toMatch(/^FAILED at write: .*fine for mode 'read'/);
    // A mode a build refuses is refused by the doctor too (it tested it as readwrite, and said FAILED at write).
    const typo = await ws.run(['cache', 'doctor'], { ...doctorEnv, PIPE_REMOTE_CACHE_MODE: 'rw' });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/PIPE_REMOTE_CACHE_MODE: 'rw' is not one of read, write, readwrite, off/);
  });

  it('a read-only client restores but never writes, even holding a write token', async (t) => {
    if (!env) return t.skip(skip);
    const ns = namespace('bazel', env);
    const populated = await buildWith(chain('ro'), ['c'], ns.env);
    expect(populated.ended.ran).toEqual(['a', 'b', 'c']);
    const before = ns.files().sort();
    expect(before.length).toBe(5); // 3 manifests, 2 blobs (b copies a: one blob)

    const reader = await buildWith(chain('ro'), ['c', '--remote-cache=read'], ns.env);
    expect(reader.run.code, reader.run.stderr).toBe(0);
    expect(reader.ended).toEqual({ restored: ['a', 'b', 'c'] });

    // A changed task in read mode runs locally and its products stay local.
    const changed = await buildWith(chain('ro2'), ['c', '--remote-cache', 'read'], ns.env);
    expect(changed.ended.ran).toEqual(['a', 'b', 'c']);
    expect(changed.warnings).toEqual([]);
    expect(ns.files().sort()).toEqual(before);
    const log = readFileSync(env.PIPE_TEST_BAZEL_CACHE_LOG!, 'utf8');
    const prefix = new URL(ns.env.PIPE_REMOTE_CACHE!).pathname;
    expect(log.split('\n').filter((l) => l.includes(`PUT ${prefix}/`))).toHaveLength(before.length); // only the populating build's
  });

  it('the server killed mid-build: one warning, the build completes locally; --remote-cache-required fails', async (t) => {
    if (!env) return t.skip(skip);
    const dir = tmpDir('pipe-cache-private-');
    privateDirs.push(dir);
    const port = String(await freePort());
    const priv = await serversUp({ CACHE_CI_DIR: dir, CACHE_SERVERS: 'nginx', NGINX_CACHE_PORT: port });
    const remote = {
      PIPE_REMOTE_CACHE: priv.PIPE_TEST_BAZEL_CACHE_URL!,
      PIPE_REMOTE_CACHE_TOKEN: priv.PIPE_TEST_BAZEL_CACHE_TOKEN!,
    };
    // Task b stops the server (with the repository's own script) while or after a's products are uploaded (uploads
    // go on while later tasks run): either way one warning.
    const down = `CACHE_CI_DIR=${dir} bash ${path.join(REPO, 'scripts/cache-servers-down.sh')}`;
    const ws = chain('kill', down);
    const built = await buildWith(ws, ['c'], remote);
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['a', 'b', 'c']);
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/unavailable.*continuing with the local cache only.*`pipe cache push`/);
    // The same, as an event for the tool reading --json (helper-128: it went to stderr only).
    expect(parseEvents(built.run.stdout).filter((e) => e.event === 'warning')).toEqual([
      expect.objectContaining({
        source: 'remote-cache',
        level: 'warning',
        message: built.warnings[0]!.slice(9),
      }),
    ]);
    expect(ws.read('out/c.txt')).toBe('a-kill-c');

    // The server back (helper-128: what was built while it was down was never shared, as every later build of the
    // workspace is up to date): `pipe cache push` sends the entries it lacks, and another workspace restores them.
    await serversUp({ CACHE_CI_DIR: dir, CACHE_SERVERS: 'nginx', NGINX_CACHE_PORT: port });
    const again = await buildWith(ws, ['c'], remote);
    expect([again.run.code, again.ended.ran ?? []]).toEqual([0, []]);
    const push = await ws.run(['cache', 'push', '--json'], remote);
    expect(push.code, push.stderr).toBe(0);
    const pushed = JSON.parse(push.stdout);
    // c at least (stored after the server went); a, and b, may have gone up before.
    expect(pushed.pushed.length).toBeGreaterThan(0);
    expect(pushed.pushed.length + pushed.present.length).toBe(3);
    expect(pushed).toMatchObject({ notLocal: [] });
    expect(pushed.blobs).toBeGreaterThanOrEqual(1);
    const twice = await ws.run(['cache', 'push'], remote);
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stderr).toMatch(/^nothing pushed: 3 entries of build \S+ already on http:\/\/\S+\n$/);
    const other = chain('kill', down);
    const restored = await buildWith(other, ['c'], remote);
    expect(restored.run.code, restored.run.stderr).toBe(0);
    expect(restored.ended.ran).toBeUndefined();
    expect(restored.ended.restored).toContain('c');
    expect(other.read('out/c.txt')).toBe('a-kill-c');
    // Read-only, or down: refused in one line.
    const readOnly = await ws.run(['cache', 'push', '--remote-cache', 'read'], remote);
    expect([readOnly.code, readOnly.stderr]).toEqual([
      2,
      'pipe: cache push writes to the remote cache, and its mode is read (--remote-cache, PIPE_REMOTE_CACHE_MODE)\n',
    ]);

    await serversDown({ CACHE_CI_DIR: dir });
    const strict = await buildWith(chain('kill2'), ['c', '--remote-cache-required'], remote);
    expect(strict.run.code).toBe(1);
    expect(strict.run.stderr).toMatch(/required.*unavailable/);
    expect(strict.ended).toEqual({});
  });

  /** A fake remote at the network seam: `answer` decides each response; counts requests. */
  async function fake(
    answer: (res: import('node:http').ServerResponse) => void,
  ): Promise<{ url: string; requests: () => number }> {
    let n = 0;
    const server = createServer((req, res) => {
      n++;
      req.resume();
      answer(res);
    });
    fakes.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n };
  }

  it('a remote answering 5xx: one warning after bounded retries, then local only', async () => {
    const f = await fake((res) => {
      res.statusCode = 503;
      res.end('down for maintenance');
    });
    const ws = chain('5xx');
    const built = await buildWith(ws, ['c'], { PIPE_REMOTE_CACHE: f.url, PIPE_REMOTE_CACHE_TOKEN: 'tok' });
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['a', 'b', 'c']);
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/503/);
    expect(f.requests()).toBeLessThanOrEqual(3); // one request and its retries; then never again
  });

  it("a server's HTML error page is told by its title, not pasted into the warning", async () => {
    const f = await fake((res) => {
      res.statusCode = 403;
      res.setHeader('content-type', 'text/html');
      res.end(
        '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n',
      );
    });
    const built = await buildWith(chain('html'), ['c'], {
      PIPE_REMOTE_CACHE: f.url,
      PIPE_REMOTE_CACHE_TOKEN: 'tok',
    });
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/HTTP 403 403 Forbidden/);
    expect(built.warnings[0]).not.toMatch(/<|nginx\//);
  });

  it('a remote that answers everything with a sign-in page (200, text/html): one warning naming it, then local only', async () => {
    const f = await fake((res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!DOCTYPE html><html><head><title>Sign in - Corporate SSO</title></head><body>…</body></html>',
      );
    });
    const ws = chain('sso');
    const built = await buildWith(ws, ['c'], { PIPE_REMOTE_CACHE: f.url, PIPE_REMOTE_CACHE_TOKEN: 'tok' });
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['a', 'b', 'c']);
    // Not one 'corrupt entry' warning per task: the remote as a whole is no cache.
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/an HTML page \("Sign in - Corporate SSO"\) instead of a cache entry/);
    expect(built.warnings[0]).toMatch(/continuing with the local cache only/);
  });

  it('a remote that never answers: the request times out, one warning, the build completes', async () => {
    const f = await fake(() => undefined);
    const ws = chain('slow');
    const t0 = Date.now();
    const built = await buildWith(ws, ['c'], { PIPE_REMOTE_CACHE: f.url, PIPE_REMOTE_CACHE_TIMEOUT: '0.5' });
    expect(built.run.code, built.run.stderr).toBe(0);
    expect(built.ended.ran).toEqual(['a', 'b', 'c']);
    expect(built.warnings).toHaveLength(1);
    expect(built.warnings[0]).toMatch(/unavailable/);
    expect(Date.now() - t0).toBeLessThan(30_000); // far below the default 30 s per request and its retries
  });

  it('SIGTERM while a request hangs: the build stops at once (exit 143), not after timeout × attempts', async () => {
    let asked: () => void = () => undefined;
    const reached = new Promise<void>((r) => {
      asked = r;
    });
    const f = await fake(() => asked());
    const ws = chain('term');
    // The default request timeout (30 s, 3 attempts): only the interrupt can end the wait early.
    const child = ws.spawn(['build', 'c'], { PIPE_REMOTE_CACHE: f.url });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await reached;
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(stderr).toMatch(/SIGTERM: stopping/);
    expect(stderr).not.toMatch(/warning: remote cache/); // cut short on purpose: not news about the remote
  }, 60_000);
});

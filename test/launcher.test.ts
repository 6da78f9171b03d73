/**
 * The `pipe` command (packages/cli/bin/pipe) starts node without NODE_EXTRA_CA_CERTS, which Node 20 loads at every
 * start: node must then not have read the file, the programs pipe runs must get the variable back, and an https
 * remote cache must still be trusted through it.
 */
import { readFileSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIPE_BIN, PIPE_COMMAND, Workspace } from './rig.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CERT = path.join(here, 'fixtures/tls/cert.pem');
const KEY = path.join(here, 'fixtures/tls/key.pem');
const NODE_WARNS = /Ignoring extra certs from/;

const copyPipeline = (tag: string) =>
  new Workspace({
    'a.txt': `input ${tag}\n`,
    'pipe.yaml': `version: 1
targets:
  copy:
    command: [cp, "{inputs.src}", "{outputs.out}"]
    inputs: {src: a.txt}
    outputs: {out: out/a.txt}
`,
  });

/** A bazel-protocol cache over https with the fixture's self-signed certificate: what it stored, by path. */
let server: Server;
let url: string;
const stored = new Map<string, Buffer>();
const handshakeErrors: string[] = [];

beforeAll(async () => {
  server = createServer({ cert: readFileSync(CERT), key: readFileSync(KEY) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = req.url ?? '';
      if (req.method === 'PUT') {
        stored.set(key, Buffer.concat(chunks));
        res.writeHead(200).end();
      } else if (stored.has(key)) {
        res
          .writeHead(200, { 'content-length': stored.get(key)!.length })
          .end(req.method === 'HEAD' ? undefined : stored.get(key));
      } else res.writeHead(404).end();
    });
  });
  server.on('tlsClientError', (e) => handshakeErrors.push(e.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('the pipe command and NODE_EXTRA_CA_CERTS', () => {
  it('starts node without reading the file, unless PIPE_DEFER_EXTRA_CA_CERTS=0', async () => {
    const ws = copyPipeline('version');
    const missing = path.join(ws.root, 'no-such-ca.pem');
    // node itself warns at start about a certificate file it cannot read: the launcher's node never reads it.
    const viaLauncher = await ws.run(['--version'], { NODE_EXTRA_CA_CERTS: missing });
    expect(viaLauncher.code, viaLauncher.stderr).toBe(0);
    expect(viaLauncher.stderr).not.toMatch(NODE_WARNS);
    const viaNode = await ws.exec([process.execPath, PIPE_BIN, '--version'], {
      NODE_EXTRA_CA_CERTS: missing,
    });
    expect(viaNode.stderr).toMatch(NODE_WARNS);
    const optedOut = await ws.run(['--version'], {
      NODE_EXTRA_CA_CERTS: missing,
      PIPE_DEFER_EXTRA_CA_CERTS: '0',
    });
    expect(optedOut.stderr).toMatch(NODE_WARNS);
    // A node told to use another root store loads the file itself (the deferred trust adds to the bundled roots).
    const otherStore = await ws.run(['--version'], {
      NODE_EXTRA_CA_CERTS: missing,
      NODE_OPTIONS: '--use-openssl-ca',
    });
    expect(otherStore.code, otherStore.stderr).toBe(0);
    expect(otherStore.stderr).toMatch(NODE_WARNS);
  });

  it('finds bin/pipe.js through symbolic links to it, relative or not (node_modules/.bin, a global install)', async () => {
    const ws = copyPipeline('links');
    symlinkSync(PIPE_COMMAND, ws.path('absolute'));
    symlinkSync(path.relative(ws.root, PIPE_COMMAND), ws.path('relative'));
    symlinkSync('relative', ws.path('chained'));
    // By path, and as a bare name run from its folder (`sh relative`: $0 has no slash then).
    const ways = ['absolute', 'relative', 'chained'].flatMap((link) => [[ws.path(link)], ['sh', link]]);
    for (const way of ways) {
      const r = await ws.exec([...way, '--version'], {});
      expect(r.code, `${way.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
    }
  });

  it('hands the variable back to the programs pipe runs', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  env:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], process.env.NODE_EXTRA_CA_CERTS ?? 'unset')", "{outputs.out}"]
    env: [NODE_EXTRA_CA_CERTS]
    outputs: {out: out/env.txt}
`,
    });
    const built = await ws.run(['build', 'env'], { NODE_EXTRA_CA_CERTS: CERT });
    expect(built.code, built.stderr).toBe(0);
    expect(ws.read('out/env.txt')).toBe(CERT);
  });

  /** `pipe build copy` in a fresh workspace against the https remote: what reached the server, what it refused. */
  async function buildAgainstRemote(tag: string, ca: string | undefined) {
    const keysBefore = new Set(stored.keys());
    const refusalsBefore = handshakeErrors.length;
    const built = await copyPipeline(tag).run(['build', 'copy'], {
      NODE_EXTRA_CA_CERTS: ca,
      PIPE_REMOTE_CACHE: url,
    });
    expect(built.code, built.stderr).toBe(0);
    const added = [...stored.keys()].filter((k) => !keysBefore.has(k));
    return { stderr: built.stderr, added, refusals: handshakeErrors.length - refusalsBefore };
  }

  it('trusts an https remote cache through the deferred certificates, as node would', async () => {
    const { stderr, added, refusals } = await buildAgainstRemote('trusted', CERT);
    expect(stderr).not.toMatch(/warning/i);
    // The task's output and its action-cache entry reached the server over TLS.
    expect(added.some((k) => k.startsWith('/ac/'))).toBe(true);
    expect(added.some((k) => k.startsWith('/cas/'))).toBe(true);
    expect(refusals).toBe(0);
  });

  it("in-process steps' fetch, on the step threads, trusts the deferred certificates too", async () => {
    const stepFetching = (tag: string) =>
      new Workspace({
        'url.txt': `${url}ac/no-such-entry-${tag}`,
        'pipe.yaml':
          'version: 1\ntargets:\n  get: {step: ./steps/get.mjs, inputs: {u: url.txt}, outputs: {o: got.txt}}\n',
        'steps/get.mjs': [
          'import fs from "node:fs";',
          'export default {',
          '  name: "get", version: "1",',
          '  async run(ctx) {',
          '    const r = await fetch(fs.readFileSync(ctx.inputs.u[0], "utf8"));',
          '    fs.writeFileSync(ctx.outputs.o, String(r.status));',
          '  },',
          '};',
          '',
        ].join('\n'),
      });
    const trusted = stepFetching('trusted');
    const built = await trusted.run(['build', 'get'], { NODE_EXTRA_CA_CERTS: CERT });
    expect(built.code, built.stderr).toBe(0);
    // The server's answer (no such entry) came back over TLS.
    expect(trusted.read('got.txt')).toBe('404');
    // The control: without the certificate the step's request is refused.
    const refused = await stepFetching('untrusted').run(['build', 'get'], {
      NODE_EXTRA_CA_CERTS: undefined,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/fetch failed/);
  });

  it('without the certificate, the same remote is refused (the check above can fail)', async () => {
    const { stderr, added, refusals } = await buildAgainstRemote('untrusted', undefined);
    expect(stderr).toMatch(/warning: .*(certificate|self.signed)/i);
    expect(added).toEqual([]);
    expect(refusals).toBeGreaterThan(0);
  });
});

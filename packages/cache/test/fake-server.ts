/**
 * Test seams shared by the remote-cache tests: a fake HTTP server on a real local socket (a cache that stalls,
 * refuses or answers as the test says), and a way to run the garbage collector (undici holds a fetch's Response
 * weakly: a hang may show only once it is collected).
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface FakeServer {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** Ends open connections (a stalled body too) and stops listening. */
  close(): Promise<void>;
}

export async function startFakeServer(handler: RequestListener): Promise<FakeServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The garbage collector, callable without starting node with --expose-gc. */
export function forceGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

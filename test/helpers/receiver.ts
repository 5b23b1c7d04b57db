/** A real HTTP receiver for webhook tests: records every request; answers per a behaviour; can hold answers until released, go down and come back. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  status?: number;
}

export type Behaviour = (r: Received, n: number) => number | 'hold' | { status: number; headers?: Record<string, string>; delayMs?: number };

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  held: number;
  setBehaviour(b: Behaviour): void;
  /** answer every held request with this status */
  release(status?: number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(t: { teardown(fn: () => unknown): void }, behaviour: Behaviour = () => 200): Promise<Receiver> {
  let current = behaviour;
  const requests: Received[] = [];
  const holding = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const n = requests.length;
      requests.push(r);
      const what = current(r, n);
      if (what === 'hold') {
        holding.add(res);
        return;
      }
      const { status, headers, delayMs } = typeof what === 'number' ? { status: what, headers: {}, delayMs: 0 } : what;
      const answer = () => {
        if (res.destroyed) return;
        r.status = status;
        res.writeHead(status, { 'Content-Type': 'text/plain', ...(headers ?? {}) }).end(`answer ${status}`);
      };
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const stop = (s: Server) =>
    new Promise<void>((resolve) => {
      for (const res of holding) res.destroy();
      holding.clear();
      s.closeAllConnections();
      s.close(() => resolve());
    });
  const rec: Receiver = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get held() {
      return holding.size;
    },
    setBehaviour: (b) => (current = b),
    release(status = 200) {
      for (const res of holding) res.writeHead(status).end('released');
      holding.clear();
    },
    down: () => stop(server),
    async up() {
      server = createServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
    },
    close: () => stop(server),
  };
  t.teardown(() => rec.close());
  return rec;
}

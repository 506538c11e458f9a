/**
 * A real HTTP upstream on loopback port 0 whose behaviour a test switches: answer, fail with
 * a status, hang (never answer), or drop the connection. Records every request it received.
 * Shared by the unit tests here and test/integration/upstream.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type UpstreamBehaviour =
  | { kind: 'ok'; status?: number; body?: string; contentType?: string }
  /** Echo `{ echo: data }` of the request as JSON with status 200. */
  | { kind: 'echo' }
  | { kind: 'status'; status: number; body?: string }
  /** Fail the next `failures` requests with `status` (or hang), then echo. */
  | { kind: 'flaky'; failures: number; status: number | 'hang' }
  | { kind: 'hang' }
  | { kind: 'destroy' };

export interface ReceivedRequest {
  method: string;
  contentType: string | undefined;
  body: { sid: string; id: string; data: unknown };
  /** What the upstream answered (or `hang` / `destroy`). */
  answered: string;
}

export class TestUpstream {
  behaviour: UpstreamBehaviour = { kind: 'echo' };
  /** Every request received, in order (bounded by the test's own traffic). */
  readonly received: ReceivedRequest[] = [];
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => void this.onRequest(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/hook`;
    // Load fetch's machinery now, so that a short upstream timeout in a test does not fire
    // on the first request of the process.
    await (await fetch(url)).arrayBuffer();
    return url;
  }

  /** Requests answered with a 2xx, by message id. */
  successesFor(id: string): number {
    return this.received.filter((r) => r.body.id === id && r.answered.startsWith('2')).length;
  }

  /** Answers every hanging request now; returns how many there were. */
  hangingAnswer(status: number, body: string): number {
    const all = [...this.hanging];
    this.hanging.clear();
    for (const res of all) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    }
    return all.length;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      // GET: a warm-up (the first fetch of a process is slow), never recorded.
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedRequest['body'];
    let b = this.behaviour;
    if (b.kind === 'flaky') {
      if (b.failures > 0) {
        b.failures--;
        b = b.status === 'hang' ? { kind: 'hang' } : { kind: 'status', status: b.status };
      } else b = { kind: 'echo' };
    }
    const record = (answered: string): void => {
      this.received.push({
        method: req.method ?? '',
        contentType: req.headers['content-type'],
        body,
        answered,
      });
    };
    switch (b.kind) {
      case 'echo':
        record('200');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body.data }));
        return;
      case 'ok':
        record(String(b.status ?? 200));
        res.writeHead(b.status ?? 200, { 'content-type': b.contentType ?? 'application/json' });
        res.end(b.body ?? '');
        return;
      case 'status':
        record(String(b.status));
        res.writeHead(b.status, { 'content-type': 'application/json' });
        res.end(b.body ?? '');
        return;
      case 'hang':
        record('hang');
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      case 'destroy':
        record('destroy');
        req.socket.destroy();
        return;
    }
  }
}

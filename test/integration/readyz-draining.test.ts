/**
 * /readyz while the server drains (docs/protocol.md "HTTP API"): a connection that was open
 * before close() still gets answers while in-flight upstream calls finish, and its /readyz
 * is 503 `draining`; a new connection is refused. (test/integration/shutdown.test.ts covers
 * the CLI's signals; a fresh connection there can only see the refusal.)
 */
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { RawClient, eventually, within } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that holds every call until `release()`; `received` resolves on the first. */
async function heldUpstream(): Promise<{
  url: string;
  received: Promise<void>;
  release: () => void;
}> {
  const held: ServerResponse[] = [];
  let gotOne!: () => void;
  const received = new Promise<void>((resolve) => (gotOne = resolve));
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      held.push(res);
      gotOne();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const release = (): void => {
    for (const res of held.splice(0)) {
      res.setHeader('content-type', 'application/json');
      res.end('{"done":true}');
    }
  };
  cleanups.push(async () => {
    release();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, received, release };
}

/** HTTP/1.1 on one raw socket: write requests, read the responses as they come. */
function rawHttp(port: number) {
  const sock = connect(port, '127.0.0.1');
  let data = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (b: Buffer) => {
    data += b.toString();
    for (const w of waiters.splice(0)) w();
  });
  sock.on('error', () => undefined);
  const connected = new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  /** The n-th complete response (1-based): its status and JSON body. */
  const response = async (n: number): Promise<{ status: number; body: unknown }> => {
    for (;;) {
      const parts = [
        ...data.matchAll(/HTTP\/1\.1 (\d+)[^]*?content-length: (\d+)\r\n[^]*?\r\n\r\n/gi),
      ];
      const m = parts[n - 1];
      if (m !== undefined) {
        const start = m.index + m[0].length;
        const body = data.slice(start, start + Number(m[2]));
        if (Buffer.byteLength(body) === Number(m[2]))
          return { status: Number(m[1]), body: JSON.parse(body) as unknown };
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  cleanups.push(() => {
    sock.destroy();
    return Promise.resolve();
  });
  return { sock, connected, response };
}

it('a connection open before close() reads /readyz as 503 draining; a new one is refused', async () => {
  const upstream = await heldUpstream();
  const { server, info } = await startServer({ upstreamUrl: upstream.url, upstreamRetries: 0 });
  // A client message in flight at the upstream keeps the server draining until released.
  const c = await RawClient.connect(info.url);
  await c.hello();
  c.send({ t: 'msg', id: 'held-1', data: {} });
  await within(upstream.received, 5000, 'the upstream call');

  // A connection with a request in progress when close() begins: the server has its
  // headers (observeRequests saw them), the body is still to come. Idle connections are
  // closed by close() at once; this one stays for its answer and the requests after it.
  const seen: string[] = [];
  server.observeRequests((req) => seen.push(`${req.method} ${req.url}`));
  const http = rawHttp(info.port);
  await http.connected;
  const body = '{"data":"x"}';
  http.sock.write(
    `POST /api/broadcast HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  await eventually(() => seen.length === 1, 5000, 'the request headers to arrive');

  const shutdown = new Promise<void>((resolve) => server.once('shutdown', () => resolve()));
  const closed = server.close();
  await shutdown;
  // The body, then /readyz on the same connection, after close() began.
  http.sock.write(`${body}GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n`);
  expect(await within(http.response(1), 5000, 'the broadcast answer')).toEqual({
    status: 202,
    body: { sessions: 1 },
  });
  expect(await within(http.response(2), 5000, 'the readyz answer')).toEqual({
    status: 503,
    body: { error: { code: 'draining', message: 'the server is shutting down' } },
  });
  // A new connection is refused: the listener closed when close() began.
  const fresh = await new Promise<string>((resolve) => {
    const s = connect(info.port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
  expect(fresh).toBe('ECONNREFUSED');

  upstream.release();
  expect(await c.next((f) => f.t === 'ok' || f.t === 'nack')).toMatchObject({
    id: 'held-1',
    data: { done: true },
  });
  expect((await within(c.closed, 5000, 'the 1001')).code).toBe(1001);
  await within(closed, 5000, 'close()');
});

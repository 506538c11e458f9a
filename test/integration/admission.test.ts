/**
 * Admission of /ws upgrades over loopback (real sockets, port 0): the global connection
 * limit (503 too_many_connections), the limit per client IP (429
 * too_many_connections_from_ip) with and without a trusted X-Forwarded-For, the Origin
 * allowlist (403 origin_not_allowed), each refused before the handshake with a JSON error
 * body and counted in rws_connections_refused_total{reason}.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

type Welcome = Frame & { sid: string };
type Attempt =
  | { opened: true; ws: WebSocket }
  | { opened: false; status: number; type: string | undefined; body: unknown };

/** One upgrade to /ws: opened, or the HTTP answer that refused it (status and JSON body). */
function attempt(url: string, headers: Record<string, string> = {}): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'rws.v1', { headers });
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({
          opened: false,
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          body: JSON.parse(text) as unknown,
        }),
      );
      res.on('error', reject);
    });
  });
}

function refusedWith(status: number, code: string): Record<string, unknown> {
  return {
    opened: false,
    status,
    type: 'application/json; charset=utf-8',
    body: { error: { code, message: expect.any(String) as unknown } },
  };
}

async function refusedCount(httpUrl: string, reason: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const series = `rws_connections_refused_total{reason="${reason}"} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? NaN : Number(line.slice(series.length));
}

async function helloed(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.connect(url, 'rws.v1', headers);
  await c.hello();
  return c;
}

describe('maxConnections (global)', () => {
  it('refuses the N+1-th upgrade with 503 while the first N stay healthy; a close frees a slot', async () => {
    const { server, info } = await startServer({ maxConnections: 3 });
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(info.url)));
    const welcomes = (await Promise.all(clients.map((c) => c.hello()))) as Welcome[];
    expect(server.connectionCount).toBe(3);

    expect(await attempt(info.url)).toMatchObject(refusedWith(503, 'too_many_connections'));
    expect(await refusedCount(info.httpUrl, 'too_many_connections')).toBe(1);
    expect(await refusedCount(info.httpUrl, 'too_many_connections_from_ip')).toBe(0);
    // The refused upgrade did no session work and the first N still get their messages.
    expect(server.connectionCount).toBe(3);
    for (const [i, c] of clients.entries()) {
      await server.send(welcomes[i]!.sid, `still ${i}`);
      expect(await c.next((f) => f.t === 'msg')).toMatchObject({ data: `still ${i}` });
    }

    clients[0]!.close();
    await clients[0]!.closed;
    await eventually(() => server.connectionCount === 2, 5000, 'the server to see the close');
    const next = await attempt(info.url);
    expect(next.opened).toBe(true);
    if (next.opened) next.ws.close();
    for (const c of clients.slice(1)) c.close();
  });
});

describe('maxConnectionsPerIp', () => {
  it('without trustProxyHops, X-Forwarded-For is ignored: a client cannot dodge its limit', async () => {
    const { info } = await startServer({ maxConnectionsPerIp: 2 });
    const a = await helloed(info.url, { 'x-forwarded-for': '10.0.0.1' });
    const b = await helloed(info.url, { 'x-forwarded-for': '10.0.0.2' });
    expect(await attempt(info.url, { 'x-forwarded-for': '10.0.0.3' })).toMatchObject(
      refusedWith(429, 'too_many_connections_from_ip'),
    );
    expect(await refusedCount(info.httpUrl, 'too_many_connections_from_ip')).toBe(1);
    a.close();
    b.close();
  });

  it('with trustProxyHops 1, the client IP is the last X-Forwarded-For entry; a close frees its slot', async () => {
    const { server, info } = await startServer({ maxConnectionsPerIp: 2, trustProxyHops: 1 });
    const xff = (v: string) => ({ 'x-forwarded-for': v });
    const a = await helloed(info.url, xff('10.0.0.1'));
    await helloed(info.url, xff('10.0.0.1'));
    // The same client again, also when it prepends an address of its own choosing.
    expect(await attempt(info.url, xff('10.0.0.1'))).toMatchObject(
      refusedWith(429, 'too_many_connections_from_ip'),
    );
    expect(await attempt(info.url, xff('192.0.2.7, 10.0.0.1'))).toMatchObject(
      refusedWith(429, 'too_many_connections_from_ip'),
    );
    // Another client behind the same proxy (same peer address) is not affected.
    const other = await attempt(info.url, xff('10.0.0.2'));
    expect(other.opened).toBe(true);
    if (other.opened) other.ws.close();
    expect(await refusedCount(info.httpUrl, 'too_many_connections_from_ip')).toBe(2);

    a.close();
    await a.closed;
    await eventually(() => server.connectionCount === 1, 5000, 'the server to see the close');
    const again = await attempt(info.url, xff('10.0.0.1'));
    expect(again.opened).toBe(true);
    if (again.opened) again.ws.close();
  });
});

describe('allowedOrigins', () => {
  const APP = 'https://app.example.com';

  it('refuses a browser upgrade from another origin with 403; the allowed origin and no Origin open', async () => {
    const { info } = await startServer({ allowedOrigins: `${APP}, http://localhost:3000` });
    expect(await attempt(info.url, { origin: 'https://evil.example' })).toMatchObject(
      refusedWith(403, 'origin_not_allowed'),
    );
    expect(await attempt(info.url, { origin: 'null' })).toMatchObject(
      refusedWith(403, 'origin_not_allowed'),
    );
    expect(await refusedCount(info.httpUrl, 'origin_not_allowed')).toBe(2);

    for (const headers of [
      { origin: APP },
      { origin: 'HTTPS://App.Example.com:443' }, // the same origin, written otherwise
      { origin: 'http://localhost:3000' },
      {}, // no Origin: a Node or native client
    ]) {
      const c = await helloed(info.url, headers);
      expect(c.ws.readyState).toBe(WebSocket.OPEN);
      c.close();
    }
    expect(await refusedCount(info.httpUrl, 'origin_not_allowed')).toBe(2);
  });

  it('empty (the default): any origin may open /ws', async () => {
    const { info } = await startServer();
    const c = await helloed(info.url, { origin: 'https://evil.example' });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.close();
    expect(await refusedCount(info.httpUrl, 'origin_not_allowed')).toBe(0);
  });
});

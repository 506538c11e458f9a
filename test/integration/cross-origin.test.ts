/**
 * Cross-origin protection of /api/* and /metrics over real HTTP: a browser request whose
 * Origin is not the server's own (its Host header) is 403 `cross_origin` and does nothing,
 * whatever its token; same-origin requests and requests without an Origin work as before.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;

const EVIL = 'http://evil.example';
const code = (r: { body: Json }) => (r.body.error as Json).code;

async function setup(options: Json = {}) {
  const started = await startServer(options);
  const c = await RawClient.connect(started.info.url);
  const { sid } = (await c.hello()) as Frame & { sid: string };
  const self = started.info.httpUrl;
  return { ...started, c, sid, self };
}

describe('cross-origin requests to /api/* and /metrics', () => {
  it('a POST to /api/sessions/{sid}/messages from another origin is 403 and stores nothing', async () => {
    const { sid, self, c } = await setup();
    const r = await postJson(`${self}/api/sessions/${sid}/messages`, { data: 1 }, { origin: EVIL });
    expect([r.status, code(r)]).toEqual([403, 'cross_origin']);
    expect((await getJson(`${self}/api/sessions/${sid}`)).body).toMatchObject({
      last: 0,
      depth: 0,
    });
    // Same origin (what a page served by this server sends) and no Origin (curl): stored.
    const same = await postJson(
      `${self}/api/sessions/${sid}/messages`,
      { data: 2 },
      { origin: self },
    );
    expect(same).toEqual({ status: 202, body: { seq: 1 } });
    const none = await postJson(`${self}/api/sessions/${sid}/messages`, { data: 3 });
    expect(none).toEqual({ status: 202, body: { seq: 2 } });
    c.close();
  });

  it('a breaker action from another origin is 403, even with the admin token; the breaker stays closed', async () => {
    const { server, self, c } = await setup({ adminToken: 't0ken' });
    server.breakers.get('payments');
    const auth = { authorization: 'Bearer t0ken' };
    const url = `${self}/api/breakers/payments/force-open`;
    for (const origin of [
      EVIL,
      'null',
      `http://127.0.0.1:1`,
      `http://localhost:${new URL(self).port}`,
    ]) {
      const r = await postJson(url, {}, { ...auth, origin });
      expect([origin, r.status, code(r)]).toEqual([origin, 403, 'cross_origin']);
    }
    expect(server.breakers.find('payments')!.state).toBe('closed');
    const same = await postJson(url, {}, { ...auth, origin: self });
    expect([same.status, same.body.state]).toEqual([200, 'forced_open']);
    const none = await postJson(`${self}/api/breakers/payments/reset`, {}, auth);
    expect([none.status, none.body.state]).toEqual([200, 'closed']);
    c.close();
  });

  it('reads too (GET /api/*, the stats stream, /metrics) are refused from another origin', async () => {
    const { self, c } = await setup();
    for (const path of ['/api/stats', '/api/stats/stream', '/api/sessions', '/metrics']) {
      const r = await getJson(`${self}${path}`, { headers: { origin: EVIL } });
      expect([path, r.status, code(r)]).toEqual([path, 403, 'cross_origin']);
    }
    expect((await getJson(`${self}/api/stats`, { headers: { origin: self } })).status).toBe(200);
    // /healthz and /readyz are not admin routes: any origin.
    expect((await getJson(`${self}/healthz`, { headers: { origin: EVIL } })).status).toBe(200);
    c.close();
  });
});

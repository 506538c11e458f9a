/**
 * The HTTP API on the WebSocket port: publish, broadcast, health, auth and error shapes.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore, type Store } from '../../src/index.js';
import { DEFAULT_LIMITS } from '../../src/store/limits.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

describe('HTTP API', () => {
  it('publishes to a session: 202 {seq}, delivered over the socket', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, {
      data: { hello: 'world' },
    });
    expect(r).toEqual({ status: 202, body: { seq: 1 } });
    expect(await c.next((f) => f.t === 'msg')).toEqual({
      t: 'msg',
      seq: 1,
      data: { hello: 'world' },
    });
    c.close();
  });

  it('404 for an unknown session, 404 for an unknown route, 405 for a wrong method', async () => {
    const { info } = await startServer();
    expect(await postJson(`${info.httpUrl}/api/sessions/nope/messages`, { data: 1 })).toEqual({
      status: 404,
      body: { error: { code: 'unknown_session', message: 'no session nope' } },
    });
    const missing = await fetch(`${info.httpUrl}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const wrong = await fetch(`${info.httpUrl}/api/broadcast`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe(
      'method_not_allowed',
    );
  });

  it.each([
    ['invalid JSON', 'not json', 400, 'bad_json'],
    ['a non-object body', '[1]', 400, 'bad_request'],
    ['a body without data', '{"x":1}', 400, 'bad_request'],
    ['an empty id', '{"data":1,"id":""}', 400, 'bad_request'],
    ['a non-boolean volatile', '{"data":1,"volatile":"yes"}', 400, 'bad_request'],
    ['volatile with a key', '{"data":1,"volatile":true,"key":"k"}', 400, 'bad_request'],
  ])('400 for %s, with a JSON error naming the problem', async (_name, body, status, code) => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, body);
    expect(r.status).toBe(status);
    expect((r.body.error as { code: string }).code).toBe(code);
    expect((r.body.error as { message: string }).message.length).toBeGreaterThan(5);
    // Nothing was stored by the refused request.
    expect(
      await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 'ok' }),
    ).toEqual({ status: 202, body: { seq: 1 } });
    c.close();
  });

  it('400 for a session id that is not valid percent-encoding', async () => {
    const { info } = await startServer();
    const r = await postJson(`${info.httpUrl}/api/sessions/%E0%A4%A/messages`, { data: 1 });
    expect(r.status).toBe(400);
    expect((r.body.error as { code: string }).code).toBe('bad_request');
  });

  it('413 message_too_large for data larger than the outbox byte bound; nothing stored', async () => {
    const { server, info } = await startServer({ outboxMaxBytes: '2kb' });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, {
      data: 'z'.repeat(3000),
    });
    expect(r.status).toBe(413);
    expect((r.body.error as { code: string }).code).toBe('message_too_large');
    await expect(server.send(w.sid, 'z'.repeat(3000))).rejects.toMatchObject({
      code: 'message_too_large',
    });
    expect((await server.store.getSession(w.sid))?.last).toBe(0);
    c.close();
  });

  it('413 for a body over the max frame size and 415 for a non-JSON content type', async () => {
    const { info } = await startServer({ maxFrame: '1kb' });
    const big = await postJson(`${info.httpUrl}/api/broadcast`, { data: 'x'.repeat(2048) });
    expect(big.status).toBe(413);
    const res = await fetch(`${info.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(res.status).toBe(415);
  });

  it('broadcast reaches attached and detached sessions: 202 {sessions}', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    await a.hello();
    const b = await RawClient.connect(info.url);
    const wb = (await b.hello()) as Welcome;
    b.destroy();
    await eventually(() => server.attachedCount === 1, 2000, 'detach');
    expect(await postJson(`${info.httpUrl}/api/broadcast`, { data: 'all' })).toEqual({
      status: 202,
      body: { sessions: 2 },
    });
    expect(await a.next((f) => f.t === 'msg')).toMatchObject({ seq: 1, data: 'all' });
    expect((await server.store.getSession(wb.sid))?.depth).toBe(1);
    // Volatile broadcast reaches only the attached one.
    expect(
      await postJson(`${info.httpUrl}/api/broadcast`, { data: 'now', volatile: true }),
    ).toEqual({ status: 202, body: { sessions: 1 } });
    a.close();
  });

  it('healthz is live; readyz is ready', async () => {
    const { info } = await startServer();
    const h = await fetch(`${info.httpUrl}/healthz`);
    expect([h.status, await h.json()]).toEqual([200, { status: 'ok' }]);
    const r = await fetch(`${info.httpUrl}/readyz`);
    expect([r.status, await r.json()]).toEqual([200, { status: 'ready' }]);
  });

  it('readyz is 503 store_unavailable while the store does not answer; healthz stays 200', async () => {
    const inner = new MemoryStore({ limits: DEFAULT_LIMITS });
    let down = true;
    const store: Store = Object.assign(Object.create(inner) as Store, {
      ping: () => (down ? Promise.reject(new Error('connection refused')) : inner.ping()),
    });
    const { info } = await startServer({ storeInstance: store });
    const r = await fetch(`${info.httpUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect((await fetch(`${info.httpUrl}/healthz`)).status).toBe(200);
    down = false;
    expect((await fetch(`${info.httpUrl}/readyz`)).status).toBe(200);
  });

  it('with an admin token, /api/* needs the bearer token; health does not', async () => {
    const { info } = await startServer({ adminToken: 's3cret-token' });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    const url = `${info.httpUrl}/api/sessions/${w.sid}/messages`;
    const none = await postJson(url, { data: 1 });
    expect(none.status).toBe(401);
    expect((none.body.error as { code: string }).code).toBe('unauthorized');
    expect((await postJson(url, { data: 1 }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(await postJson(url, { data: 1 }, { authorization: 'Bearer s3cret-token' })).toEqual({
      status: 202,
      body: { seq: 1 },
    });
    expect((await fetch(`${info.httpUrl}/healthz`)).status).toBe(200);
    c.close();
  });

  it('upgrades only on /ws', async () => {
    const { info } = await startServer();
    const err = await RawClient.connect(info.url.replace('/ws', '/other')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/404/);
  });
});

describe('HTTP API size limit on broadcast', () => {
  it('413 message_too_large for a broadcast larger than one message may be', async () => {
    const { info } = await startServer({ outboxMaxBytes: '2kb' });
    const c = await RawClient.connect(info.url);
    await c.hello();
    const r = await postJson(`${info.httpUrl}/api/broadcast`, { data: 'z'.repeat(3000) });
    expect(r.status).toBe(413);
    expect((r.body.error as { code: string }).code).toBe('message_too_large');
    const v = await postJson(`${info.httpUrl}/api/broadcast`, {
      data: 'z'.repeat(3000),
      volatile: true,
    });
    expect(v.status).toBe(413);
    c.close();
  });
});

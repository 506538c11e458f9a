/**
 * Identity end to end on a real server: the `authenticate` hook's user is the session's,
 * the admin API shows it (never the token), a resume as another user gets a session of its
 * own, the upstream receives who sent a message, and a publish to a user reaches every live
 * session of that user exactly once, in order, through dropped connections and retried
 * publishes.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ResilientClient } from '../../client/index.js';
import { AuthError, type Authenticate } from '../../src/index.js';
import { ChaosProxy, seededRandom } from '../support/chaos-proxy.js';
import { RawClient, eventually, sleep } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

/** `hello.token` "secret-<user>" is that user; the URL's `?user=` is a user too (SDK). */
const authenticate: Authenticate = (hello, request) => {
  if (hello.token?.startsWith('secret-') === true) {
    return { user: hello.token.slice(7), claims: { via: 'token' } };
  }
  const user = new URL(request.url, 'http://x').searchParams.get('user');
  if (user !== null && user !== '') return { user };
  throw new AuthError('missing_token');
};

describe('identity (real server)', () => {
  it('shows the user in the admin API, never the token, and refuses others with 4500', async () => {
    const { info } = await startServer({ authenticate });
    const c = await RawClient.connect(info.url);
    const w = await c.hello(undefined, { token: 'secret-alice' });
    const one = await getJson(`${info.httpUrl}/api/sessions/${String(w.sid)}`);
    expect(one.body).toMatchObject({ sid: w.sid, user: 'alice', claims: { via: 'token' } });
    expect(JSON.stringify(one.body)).not.toContain('secret-alice');
    const list = await getJson(`${info.httpUrl}/api/users/alice/sessions`);
    expect(list.body).toMatchObject({ user: 'alice', sessions: [{ sid: w.sid, user: 'alice' }] });
    expect(JSON.stringify(list.body)).not.toContain('secret-alice');
    expect((await getJson(`${info.httpUrl}/api/users/nobody/sessions`)).body).toEqual({
      user: 'nobody',
      sessions: [],
    });

    const bad = await RawClient.connect(info.url);
    bad.send({ t: 'hello', v: 1, token: 'wrong' });
    expect(await bad.next((f) => f.t === 'error')).toEqual({
      t: 'error',
      code: 'unauthorized',
      message: 'unauthorized',
    });
    expect((await bad.closed).code).toBe(4500);
    const metrics = await (await fetch(`${info.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^rws_auth_failures_total\{reason="missing_token"\} 1$/m);
    c.close();
  });

  it('a resume as another user starts a session of its own and leaves the first intact', async () => {
    const { server, info } = await startServer({ authenticate });
    const a = await RawClient.connect(info.url);
    const w = await a.hello(undefined, { token: 'secret-alice' });
    await server.send(String(w.sid), 'private');
    await a.next((f) => f.t === 'msg');
    a.destroy();
    await eventually(() => !server.isAttached(String(w.sid)), 2000, 'detached');

    const m = await RawClient.connect(info.url);
    const mw = await m.hello(
      { sid: String(w.sid), key: String(w.key), ack: 0 },
      {
        token: 'secret-mallory',
      },
    );
    expect(mw).toMatchObject({ resumed: false, reason: 'unknown_session' });
    expect(mw.sid).not.toBe(w.sid);
    await sleep(50);
    expect(m.msgs()).toEqual([]);
    expect(await server.store.getSession(String(w.sid))).toMatchObject({
      user: 'alice',
      depth: 1,
    });
    const back = await RawClient.connect(info.url);
    const bw = await back.hello(
      { sid: String(w.sid), key: String(w.key), ack: 0 },
      {
        token: 'secret-alice',
      },
    );
    expect(bw).toMatchObject({ sid: w.sid, resumed: true, recovered: true });
    expect((await back.next((f) => f.t === 'msg')).data).toBe('private');
    m.close();
    back.close();
  });

  it('the upstream receives the user and claims of the sender', async () => {
    const bodies: unknown[] = [];
    const upstream = createHttpServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    try {
      const { info } = await startServer({
        authenticate,
        upstreamUrl: `http://127.0.0.1:${port}/hook`,
      });
      const c = await RawClient.connect(info.url);
      const w = await c.hello(undefined, { token: 'secret-carol' });
      c.send({ t: 'msg', id: 'm1', data: { q: 1 } });
      expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'm1', data: { ok: true } });
      expect(bodies).toEqual([
        { sid: w.sid, id: 'm1', data: { q: 1 }, user: 'carol', claims: { via: 'token' } },
      ]);
      c.close();
    } finally {
      await new Promise((r) => upstream.close(r));
    }
  });

  it('a publish to a user reaches each of its sessions once, in order, through drops and retries', async () => {
    const { server, info } = await startServer({ authenticate });
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    const port = await proxy.listen();
    const SESSIONS = 4;
    const MESSAGES = 300;
    const clients = Array.from(
      { length: SESSIONS },
      () =>
        new ResilientClient(`ws://127.0.0.1:${port}/ws?user=dana`, {
          backoff: { baseMs: 5, capMs: 30 },
        }),
    );
    const got = clients.map(() => [] as number[]);
    clients.forEach((c, i) => c.on('message', (m) => got[i]!.push(m.data as number)));
    const bystander = new ResilientClient(`ws://127.0.0.1:${port}/ws?user=ed`, {
      backoff: { baseMs: 5, capMs: 30 },
    });
    const bystanderGot: unknown[] = [];
    bystander.on('message', (m) => bystanderGot.push(m.data));
    for (const c of [...clients, bystander]) c.connect();
    await eventually(
      async () => (await server.userSessions('dana')).length === SESSIONS,
      5000,
      'sessions',
    );

    const random = seededRandom(13);
    let cuts = 0;
    let retries = 0;
    let dups = 0;
    for (let i = 1; i <= MESSAGES; i++) {
      const r = await postJson(`${info.httpUrl}/api/users/dana/messages`, { data: i, id: `p${i}` });
      expect(r.status).toBe(202);
      expect((r.body.sessions as unknown[]).length).toBe(SESSIONS);
      if (random() < 0.1) {
        // The publisher did not hear the answer and retries: a duplicate in every session.
        const again = await postJson(`${info.httpUrl}/api/users/dana/messages`, {
          data: i,
          id: `p${i}`,
        });
        retries++;
        for (const s of again.body.sessions as { dup?: boolean }[]) if (s.dup === true) dups++;
      }
      if (random() < 0.05) cuts += proxy.cut();
    }
    await eventually(() => got.every((g) => g.length >= MESSAGES), 15_000, 'delivery');
    await sleep(100);
    const expected = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    for (const g of got) expect(g).toEqual(expected);
    expect(dups).toBe(retries * SESSIONS);
    expect(bystanderGot).toEqual([]);
    expect(cuts).toBeGreaterThan(0);
    // Figures for the record (docs/security.md quotes them).
    console.log(
      `per-user delivery: ${SESSIONS} sessions x ${MESSAGES} messages, ${cuts} connections cut, ` +
        `${retries} publishes retried (${dups} dups): ${got.flat().length} delivered, 0 lost, 0 duplicated, 0 reordered`,
    );
    await Promise.all([...clients, bystander].map((c) => c.close()));
    await proxy.close();
  });

  it('a user past maxSessionsPerUser loses its oldest session, closed with 1000', async () => {
    const { server, info } = await startServer({ authenticate, maxSessionsPerUser: 2 });
    const a = await RawClient.connect(info.url);
    const aw = await a.hello(undefined, { token: 'secret-fay' });
    const b = await RawClient.connect(info.url);
    await b.hello(undefined, { token: 'secret-fay' });
    const c = await RawClient.connect(info.url);
    await c.hello(undefined, { token: 'secret-fay' });
    expect(await a.closed).toEqual({ code: 1000, reason: 'too many sessions' });
    expect(await server.store.getSession(String(aw.sid))).toBeUndefined();
    expect((await server.userSessions('fay')).length).toBe(2);
    const metrics = await (await fetch(`${info.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^rws_sessions_ended_total\{by="user_limit"\} 1$/m);
    b.close();
    c.close();
  });

  it('addresses users of up to 256 characters over HTTP, and refuses longer ones', async () => {
    const { info } = await startServer({ authenticate });
    const long = 'u'.repeat(256);
    const c = await RawClient.connect(info.url);
    await c.hello(undefined, { token: `secret-${long}` });
    const sent = await postJson(`${info.httpUrl}/api/users/${long}/messages`, { data: 'hi' });
    expect(sent.status).toBe(202);
    expect((await c.next((f) => f.t === 'msg')).data).toBe('hi');
    const listed = await getJson(`${info.httpUrl}/api/users/${long}/sessions`);
    expect((listed.body.sessions as unknown[]).length).toBe(1);
    const tooLong = await postJson(`${info.httpUrl}/api/users/${long}x/messages`, { data: 1 });
    expect(tooLong).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    c.close();
  });

  it('answers 404 unknown_user for a user with no live session and 400 for a bad body', async () => {
    const { info } = await startServer({ authenticate });
    const none = await postJson(`${info.httpUrl}/api/users/ghost/messages`, { data: 1 });
    expect(none).toMatchObject({ status: 404, body: { error: { code: 'unknown_user' } } });
    const bad = await postJson(`${info.httpUrl}/api/users/ghost/messages`, { nodata: 1 });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  });
});

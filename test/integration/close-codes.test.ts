/**
 * Every close code of docs/protocol.md §11, provoked over a real socket.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore, type Store } from '../../src/index.js';
import { DEFAULT_LIMITS } from '../../src/store/limits.js';
import { RawClient, sleep, within, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

describe('close codes', () => {
  it('1000 after bye', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    await c.hello();
    c.send({ t: 'bye' });
    expect(await c.closed).toMatchObject({ code: 1000 });
  });

  it('1001 when the server shuts down (retryable), with no background errors', async () => {
    const { server, info } = await startServer();
    const errors: unknown[] = [];
    server.on('error', (e) => errors.push(e));
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(info.url)));
    for (const c of clients) await c.hello();
    await server.close();
    for (const c of clients) expect((await c.closed).code).toBe(1001);
    expect(errors).toEqual([]);
  });

  it.each([['chat.v9'], ['chat.v9, rws.v2']])(
    '1008 with its reason when the client offers only subprotocols other than rws.v1 (%s)',
    async (offered) => {
      // A server that let the socket through would close it with 4501 (no hello) instead.
      const { server, info } = await startServer({ helloTimeout: 200 });
      const disconnects: unknown[] = [];
      server.on('disconnect', (d) => disconnects.push(d));
      // The offer goes in a plain header: ws would abort the handshake itself otherwise.
      const c = await RawClient.connect(info.url, [], { 'sec-websocket-protocol': offered });
      expect(c.ws.protocol).toBe('');
      expect(await within(c.closed, 5000, 'the close')).toEqual({
        code: 1008,
        reason: 'unsupported subprotocol; use rws.v1',
      });
      expect(c.frames).toEqual([]);
      // Refused before the hub saw it: no session, no disconnect event.
      expect(server.connectionCount).toBe(0);
      expect(disconnects).toEqual([]);
    },
  );

  it('accepts a client that offers no subprotocol', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url, []);
    expect(await c.hello()).toMatchObject({ t: 'welcome' });
    c.close();
  });

  it('1009 for a message larger than the max frame', async () => {
    const { info } = await startServer({ maxFrame: 1024 });
    const c = await RawClient.connect(info.url);
    await c.hello();
    c.sendRaw(JSON.stringify({ t: 'msg', id: 'big', data: 'x'.repeat(2000) }));
    expect((await c.closed).code).toBe(1009);
  });

  it('4000 heartbeat timeout', async () => {
    const { info } = await startServer({ heartbeatInterval: 50, heartbeatTimeout: 50 });
    const c = await RawClient.connect(info.url);
    await c.hello();
    expect((await c.closed).code).toBe(4000);
  });

  it('4001 replaced by a newer connection', async () => {
    const { info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    const b = await RawClient.connect(info.url);
    await b.hello({ sid: w.sid, key: w.key, ack: 0 });
    expect((await a.closed).code).toBe(4001);
    b.close();
  });

  it('4002 slow consumer under overflow policy disconnect', async () => {
    const { server, info } = await startServer({ overflow: 'disconnect', outboxMax: 5 });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    // Never ack: the outbox fills with delivered-but-unacked messages.
    const results = [];
    for (let i = 1; i <= 6; i++) results.push(await server.send(w.sid, i));
    expect(results[5]).toEqual({ dropped: 'overflow', policy: 'disconnect' });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'slow_consumer' });
    expect((await c.closed).code).toBe(4002);
  });

  it('no close code when the connection limit is reached: the upgrade is refused with HTTP 503', async () => {
    // Refused before the handshake (test/integration/admission.test.ts has the details).
    const { info } = await startServer({ maxConnections: 1 });
    const a = await RawClient.connect(info.url);
    await a.hello();
    await expect(RawClient.connect(info.url)).rejects.toThrow(/Unexpected server response: 503/);
    a.close();
  });

  it('4500 when authenticate refuses the hello token', async () => {
    const { info } = await startServer({ authenticate: (hello) => hello.token === 'good' });
    const bad = await RawClient.connect(info.url);
    bad.send({ t: 'hello', v: 1, token: 'bad' });
    expect(await bad.next((f) => f.t === 'error')).toMatchObject({ code: 'unauthorized' });
    expect((await bad.closed).code).toBe(4500);
    const good = await RawClient.connect(info.url);
    expect(await good.hello(undefined, { token: 'good' })).toMatchObject({ t: 'welcome' });
    good.close();
  });

  it('4501 when the first frame is not hello', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    c.send({ t: 'ack', seq: 0 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'hello_required' });
    expect((await c.closed).code).toBe(4501);
  });

  it('4501 when no hello arrives within the hello timeout', async () => {
    const { info } = await startServer({ helloTimeout: 100 });
    const c = await RawClient.connect(info.url);
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'hello_timeout' });
    expect((await c.closed).code).toBe(4501);
  });

  it('4501 for an unsupported protocol version', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    c.send({ t: 'hello', v: 2 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'unsupported_version' });
    expect((await c.closed).code).toBe(4501);
  });

  it('4501 after more bad frames than allowed', async () => {
    const { info } = await startServer({ maxBadFrames: 3 });
    const c = await RawClient.connect(info.url);
    await c.hello();
    for (let i = 0; i < 3; i++) c.sendRaw('not json');
    for (let i = 0; i < 3; i++)
      expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'bad_frame' });
    await sleep(20);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.sendRaw('{"t":"nope"}');
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'too_many_errors' });
    expect((await c.closed).code).toBe(4501);
  });

  it('4501 for a resume ack above last; a live ack above last only gets an error frame', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.send({ t: 'ack', seq: 1 });
    expect(await a.next((f) => f.t === 'error')).toMatchObject({ code: 'bad_ack' });
    await server.send(w.sid, 'still open');
    expect((await a.messagesUpTo(1))[0]).toMatchObject({ seq: 1 });
    a.destroy();
    const b = await RawClient.connect(info.url);
    b.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: w.key, ack: 2 } });
    expect(await b.next((f) => f.t === 'error')).toMatchObject({ code: 'bad_ack' });
    expect((await b.closed).code).toBe(4501);
  });

  it('4502 for a wrong resume key', async () => {
    const { info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.close();
    const b = await RawClient.connect(info.url);
    b.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: w.key + 'x', ack: 0 } });
    expect((await b.closed).code).toBe(4502);
  });
});

describe('epoch', () => {
  it('rule 5: a store that lost the stream reports epoch_changed, never a silent partial resume', async () => {
    const inner = new MemoryStore({ limits: DEFAULT_LIMITS });
    // A store whose resume reports lost data, as a Redis store does after a restart.
    const store: Store = Object.assign(Object.create(inner) as Store, {
      resume: async (...args: Parameters<Store['resume']>) => {
        const r = await inner.resume(...args);
        return r.status === 'ok'
          ? { ...r, epochChanged: true, session: { ...r.session, epoch: 'new-epoch' } }
          : r;
      },
    });
    const { info } = await startServer({ storeInstance: store });
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.destroy();
    const b = await RawClient.connect(info.url);
    const w2 = await b.hello({ sid: w.sid, key: w.key, ack: 0 });
    expect(w2).toMatchObject({
      resumed: true,
      recovered: false,
      reason: 'epoch_changed',
      epoch: 'new-epoch',
    });
    b.close();
  });
});

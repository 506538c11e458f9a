/**
 * docs/protocol.md §3 "Session rules" 1–8, each over a real socket on loopback.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing.js';
import { RawClient, eventually, sleep, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string; last: number; epoch: string };

describe('session rules', () => {
  it('rule 1: hello without resume creates a new session', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    expect(w).toMatchObject({
      t: 'welcome',
      v: 1,
      resumed: false,
      recovered: false,
      reason: 'new_session',
      last: 0,
      hb: 25000,
    });
    expect(w.sid).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(w.key).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(w.missing).toBeUndefined();
    c.close();
  });

  it('rule 2: resume with the right key replays every retained message after ack, in order, before new ones', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    for (let i = 1; i <= 5; i++) await server.send(w.sid, { n: i });
    await a.messagesUpTo(5);
    a.destroy();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    for (let i = 6; i <= 8; i++) await server.send(w.sid, { n: i });

    const b = await RawClient.connect(info.url);
    const w2 = await b.hello({ sid: w.sid, key: w.key, ack: 2 });
    expect(w2).toMatchObject({ resumed: true, recovered: true, last: 8, sid: w.sid });
    expect(w2.reason).toBeUndefined();
    expect(w2.missing).toBeUndefined();
    await server.send(w.sid, { n: 9 });
    const got = await b.messagesUpTo(7);
    expect(got.map((f) => f.seq)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(got.map((f) => (f.data as { n: number }).n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    // Messages with seq <= ack were dropped from the outbox.
    const rec = await server.store.getSession(w.sid);
    expect(rec?.depth).toBe(7);
    b.close();
  });

  it('rule 2: a gap after overflow is reported with the missing count, then the retained messages follow', async () => {
    const { server, info } = await startServer({ outboxMax: 3 });
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.destroy();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    for (let i = 1; i <= 10; i++) await server.send(w.sid, { n: i });
    const b = await RawClient.connect(info.url);
    const w2 = await b.hello({ sid: w.sid, key: w.key, ack: 0 });
    expect(w2).toMatchObject({
      resumed: true,
      recovered: false,
      reason: 'gap',
      missing: 7,
      last: 10,
    });
    expect((await b.messagesUpTo(3)).map((f) => f.seq)).toEqual([8, 9, 10]);
    expect((await server.dlq.list({ sid: w.sid, reason: 'overflow' })).map((d) => d.seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    b.close();
  });

  it('rule 2: an ack below an earlier ack counts as the earlier one (not missing)', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    for (let i = 1; i <= 4; i++) await server.send(w.sid, i);
    await a.messagesUpTo(4);
    a.send({ t: 'ack', seq: 3 });
    await eventually(async () => (await server.store.getSession(w.sid))?.acked === 3, 2000, 'ack');
    a.destroy();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    const b = await RawClient.connect(info.url);
    const w2 = await b.hello({ sid: w.sid, key: w.key, ack: 1 });
    expect(w2).toMatchObject({ resumed: true, recovered: true, last: 4 });
    expect((await b.messagesUpTo(1)).map((f) => f.seq)).toEqual([4]);
    b.close();
  });

  it('rule 2: an ack above last is a protocol error (bad_ack, 4501)', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    await server.send(w.sid, 'x');
    a.destroy();
    const b = await RawClient.connect(info.url);
    b.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: w.key, ack: 5 } });
    expect(await b.next((f) => f.t === 'error')).toMatchObject({ code: 'bad_ack' });
    expect((await b.closed).code).toBe(4501);
    // The session is intact: a correct resume still works.
    const c = await RawClient.connect(info.url);
    expect(await c.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: true,
      recovered: true,
      last: 1,
    });
    c.close();
  });

  it('rule 3: an unknown sid gets a new session with reason unknown_session', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello({ sid: 'no-such-session', key: 'k', ack: 3 })) as Welcome;
    expect(w).toMatchObject({
      resumed: false,
      recovered: false,
      reason: 'unknown_session',
      last: 0,
    });
    expect(w.sid).not.toBe('no-such-session');
    c.close();
  });

  it('rule 3: a reaped session resumes as unknown_session', async () => {
    const clock = new ManualClock(Date.now());
    const { server, info } = await startServer({ clock, sessionTtl: 1000 });
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.destroy();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    clock.advance(1000 + 1000);
    await eventually(
      async () => (await server.store.getSession(w.sid)) === undefined,
      2000,
      'reap',
    );
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: false,
      reason: 'unknown_session',
    });
    b.close();
  });

  it('rule 4: a wrong key gets bad_key and 4502, and the session stays attached to its owner', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    const b = await RawClient.connect(info.url);
    b.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: 'wrong-key', ack: 0 } });
    expect(await b.next((f) => f.t === 'error')).toMatchObject({ code: 'bad_key' });
    expect((await b.closed).code).toBe(4502);
    await server.send(w.sid, 'still here');
    expect((await a.messagesUpTo(1))[0]).toMatchObject({ seq: 1, data: 'still here' });
    a.close();
  });

  it('rule 6: resuming an attached session closes the old connection with 4001', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    await server.send(w.sid, 1);
    await a.messagesUpTo(1);
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid: w.sid, key: w.key, ack: 1 })).toMatchObject({
      resumed: true,
      recovered: true,
      last: 1,
    });
    expect((await a.closed).code).toBe(4001);
    await server.send(w.sid, 2);
    expect((await b.messagesUpTo(1))[0]).toMatchObject({ seq: 2 });
    // The old connection's close did not detach the session.
    await sleep(50);
    expect((await server.store.getSession(w.sid))?.attached).toBe(true);
    b.close();
  });

  it('rule 7: a silent peer is closed with 4000 after interval + timeout', async () => {
    const { info } = await startServer({ heartbeatInterval: 100, heartbeatTimeout: 100 });
    const c = await RawClient.connect(info.url);
    c.ws.pong = () => undefined;
    await c.hello();
    // Never answer pings.
    const closed = await c.closed;
    expect(closed.code).toBe(4000);
    expect(c.frames.some((f) => f.t === 'ping')).toBe(true);
  });

  it('rule 8: the server pings an idle connection every hb, and pong keeps it open', async () => {
    const { info } = await startServer({ heartbeatInterval: 80, heartbeatTimeout: 80 });
    const c = await RawClient.connect(info.url);
    await c.hello();
    let pings = 0;
    const until = Date.now() + 600;
    while (Date.now() < until) {
      await c.next((f) => f.t === 'ping', 2000);
      pings++;
      c.send({ t: 'pong' });
    }
    expect(pings).toBeGreaterThanOrEqual(3);
    // Still open: a client ping gets a pong.
    c.send({ t: 'ping' });
    expect(await c.next((f) => f.t === 'pong')).toMatchObject({ t: 'pong' });
    c.close();
  });

  it('bye ends the session: 1000, outbox forgotten, a later resume is unknown_session', async () => {
    const { server, info } = await startServer();
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    await server.send(w.sid, 'unacked');
    a.send({ t: 'bye' });
    expect((await a.closed).code).toBe(1000);
    expect(await server.store.getSession(w.sid)).toBeUndefined();
    expect((await server.dlq.list({ sid: w.sid })).map((d) => d.reason)).toEqual([
      'session_closed',
    ]);
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: false,
      reason: 'unknown_session',
    });
    b.close();
  });
});

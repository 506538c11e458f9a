/**
 * Outbox bounds and policies, message TTL, session TTL (0 included), keyed and volatile
 * messages, outbound idempotency — through the real server and sockets.
 */
import { describe, expect, it } from 'vitest';
import { isRwsError, type RwsServer } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { RawClient, eventually, sleep, type Frame } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

async function detachedSession(
  info: { url: string },
  server: Pick<RwsServer, 'isAttached'>,
): Promise<Welcome> {
  const c = await RawClient.connect(info.url);
  const w = (await c.hello()) as Welcome;
  c.destroy();
  await eventually(() => !server.isAttached(w.sid), 2000, 'detach');
  return w;
}

/** Advance a manual clock one sweep interval at a time, letting each async sweep finish. */
async function advance(clock: ManualClock, ms: number, step = 1000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await sleep(5);
  }
}

describe('overflow policies', () => {
  it('drop-oldest (default): keeps the newest, dead-letters the evicted, reports the gap', async () => {
    const { server, info } = await startServer({ outboxMax: 4 });
    const drops: unknown[] = [];
    server.on('drop', (e) => drops.push(e));
    const w = await detachedSession(info, server);
    for (let i = 1; i <= 6; i++) expect(await server.send(w.sid, i)).toEqual({ seq: i });
    expect(drops).toEqual([
      { sid: w.sid, reason: 'overflow', count: 1 },
      { sid: w.sid, reason: 'overflow', count: 1 },
    ]);
    const c = await RawClient.connect(info.url);
    expect(await c.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      reason: 'gap',
      missing: 2,
    });
    expect((await c.messagesUpTo(4)).map((f) => f.data)).toEqual([3, 4, 5, 6]);
    c.close();
  });

  it('drop-oldest also bounds bytes', async () => {
    const { server, info } = await startServer({ outboxMaxBytes: '1kb' });
    const w = await detachedSession(info, server);
    for (let i = 0; i < 5; i++) await server.send(w.sid, 'x'.repeat(398)); // 400 bytes each as JSON
    const rec = await server.store.getSession(w.sid);
    expect(rec?.depth).toBe(2);
    expect(rec?.bytes).toBe(800);
    expect(server.dlq.list({ reason: 'overflow' })).toHaveLength(3);
  });

  it('drop-newest: refuses the new message, no seq consumed, dead-lettered', async () => {
    const { server, info } = await startServer({ outboxMax: 2, overflow: 'drop-newest' });
    const w = await detachedSession(info, server);
    expect(await server.send(w.sid, 'a')).toEqual({ seq: 1 });
    expect(await server.send(w.sid, 'b')).toEqual({ seq: 2 });
    expect(await server.send(w.sid, 'c')).toEqual({ dropped: 'overflow', policy: 'drop-newest' });
    expect(server.dlq.list({ sid: w.sid })).toMatchObject([{ reason: 'overflow', data: '"c"' }]);
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 'd' });
    expect(r).toEqual({ status: 202, body: { dropped: 'overflow', policy: 'drop-newest' } });
    const c = await RawClient.connect(info.url);
    expect(await c.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      recovered: true,
      last: 2,
    });
    c.send({ t: 'ack', seq: 2 });
    await eventually(async () => (await server.store.getSession(w.sid))?.depth === 0, 2000, 'ack');
    expect(await server.send(w.sid, 'e')).toEqual({ seq: 3 });
    c.close();
  });

  it('reject: send fails with a typed error; HTTP answers 429 outbox_full', async () => {
    const { server, info } = await startServer({ outboxMax: 1, overflow: 'reject' });
    const w = await detachedSession(info, server);
    await server.send(w.sid, 1);
    const err = await server.send(w.sid, 2).catch((e: unknown) => e);
    expect(isRwsError(err) && err.code).toBe('outbox_full');
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 3 });
    expect(r.status).toBe(429);
    expect(r.body).toEqual({
      error: { code: 'outbox_full', message: expect.any(String) as string, policy: 'reject' },
    });
    // Rejected messages are the sender's to keep: nothing dead-lettered.
    expect((await server.dlq.stats()).size).toBe(0);
  });

  it('disconnect: the slow consumer is closed with 4002, resumes and catches up', async () => {
    const { server, info } = await startServer({ outboxMax: 3, overflow: 'disconnect' });
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    for (let i = 1; i <= 3; i++) await server.send(w.sid, i);
    expect(await server.send(w.sid, 4)).toEqual({ dropped: 'overflow', policy: 'disconnect' });
    expect((await a.closed).code).toBe(4002);
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid: w.sid, key: w.key, ack: 1 })).toMatchObject({
      resumed: true,
      recovered: true,
      last: 3,
    });
    expect((await b.messagesUpTo(2)).map((f) => f.seq)).toEqual([2, 3]);
    b.close();
  });
});

describe('TTLs and the sweeper', () => {
  it('session TTL 0 reaps a detached session at the next sweep, with its outbox dead-lettered', async () => {
    const clock = new ManualClock(Date.now());
    const { server, info } = await startServer({ clock, sessionTtl: 0, sweepInterval: 1000 });
    const reaped: unknown[] = [];
    server.on('reap', (e) => reaped.push(e));
    const w = await detachedSession(info, server);
    await server.send(w.sid, 'left behind');
    expect(await server.store.getSession(w.sid)).toBeDefined();
    clock.advance(1000);
    await eventually(() => reaped.length === 1, 2000, 'reap');
    expect(reaped).toEqual([{ sid: w.sid, leftover: 1 }]);
    expect(await server.store.getSession(w.sid)).toBeUndefined();
    expect(server.dlq.list({ sid: w.sid })).toMatchObject([{ reason: 'session_reaped', seq: 1 }]);
  });

  it('an attached session is never reaped', async () => {
    const clock = new ManualClock(Date.now());
    const { server, info } = await startServer({
      clock,
      sessionTtl: 0,
      heartbeatInterval: '1h',
      heartbeatTimeout: '1h',
    });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    clock.advance(10_000);
    await sleep(20);
    expect((await server.store.getSession(w.sid))?.attached).toBe(true);
    c.close();
  });

  it('messages expire at their TTL from first enqueue, are dead-lettered, never delivered, and the resume reports the gap', async () => {
    const clock = new ManualClock(Date.now());
    const { server, info } = await startServer({ clock, messageTtl: 5000, sessionTtl: '1h' });
    const w = await detachedSession(info, server);
    await server.send(w.sid, 'old');
    await advance(clock, 3000);
    await server.send(w.sid, 'new');
    await advance(clock, 2000); // 'old' is 5 s old: expired at the sweep
    await eventually(async () => (await server.dlq.stats()).size === 1, 2000, 'expiry');
    expect(await server.dlq.list()).toMatchObject([{ reason: 'ttl', seq: 1, data: '"old"' }]);
    const c = await RawClient.connect(info.url);
    expect(await c.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      recovered: false,
      reason: 'gap',
      missing: 1,
      last: 2,
    });
    expect((await c.messagesUpTo(1)).map((f) => f.data)).toEqual(['new']);
    await sleep(20);
    expect(c.msgs()).toHaveLength(1);
    c.close();
  });
});

describe('message classes and idempotency', () => {
  it('keyed messages: a resumer gets only the newest value per key, and superseded ones are not missing', async () => {
    const { server, info } = await startServer();
    const w = await detachedSession(info, server);
    await server.send(w.sid, { p: 10 }, { key: 'progress' });
    await server.send(w.sid, 'plain');
    await server.send(w.sid, { p: 50 }, { key: 'progress' });
    await server.send(w.sid, { p: 90 }, { key: 'progress' });
    const c = await RawClient.connect(info.url);
    expect(await c.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      recovered: true,
      last: 4,
    });
    expect((await c.messagesUpTo(2)).map((f) => [f.seq, f.data])).toEqual([
      [2, 'plain'],
      [4, { p: 90 }],
    ]);
    c.close();
  });

  it('volatile messages reach an attached session without a seq and are never stored', async () => {
    const { server, info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    expect(await server.send(w.sid, 'telemetry', { volatile: true })).toEqual({ delivered: true });
    expect(await c.next((f) => f.t === 'msg')).toEqual({ t: 'msg', data: 'telemetry' });
    expect((await server.store.getSession(w.sid))?.last).toBe(0);
    c.destroy();
    await eventually(() => !server.isAttached(w.sid), 2000, 'detach');
    expect(await server.send(w.sid, 'lost on purpose', { volatile: true })).toEqual({
      delivered: false,
    });
    expect((await server.store.getSession(w.sid))?.depth).toBe(0);
  });

  it('a repeated idempotency id returns the original seq and stores nothing new', async () => {
    const { server, info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    expect(await server.send(w.sid, 'once', { id: 'order-1' })).toEqual({ seq: 1 });
    expect(await server.send(w.sid, 'once', { id: 'order-1' })).toEqual({ seq: 1, dup: true });
    const r = await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, {
      data: 'once',
      id: 'order-1',
    });
    expect(r).toEqual({ status: 200, body: { seq: 1, dup: true } });
    expect(await c.next((f) => f.t === 'msg')).toEqual({
      t: 'msg',
      seq: 1,
      id: 'order-1',
      data: 'once',
    });
    await sleep(30);
    expect(c.msgs()).toHaveLength(1);
    c.close();
  });
});

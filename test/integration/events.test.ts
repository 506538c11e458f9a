/**
 * The library's typed events, observed on a real server: what an application (or, later,
 * the metrics module) sees for each thing that happens.
 */
import { describe, expect, it } from 'vitest';
import type { CoreEvents } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { RawClient, eventually, sleep, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

describe('server events', () => {
  it('emits connection, session, resume, send, ack, message, clientMessage, disconnect and end', async () => {
    const { server, info } = await startServer({ onMessage: () => 'ok' });
    const seen: { name: string; payload: unknown }[] = [];
    for (const name of [
      'connection',
      'session',
      'resume',
      'send',
      'ack',
      'message',
      'clientMessage',
      'disconnect',
      'end',
    ] as const)
      server.on(name, (payload: CoreEvents[typeof name]) => seen.push({ name, payload }));
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    await server.send(w.sid, 'x');
    await a.messagesUpTo(1);
    a.send({ t: 'ack', seq: 1 });
    a.send({ t: 'msg', id: 'm1', data: { q: 1 } });
    await a.next((f) => f.t === 'ok');
    a.destroy();
    await eventually(() => seen.some((e) => e.name === 'disconnect'), 2000, 'disconnect');
    const b = await RawClient.connect(info.url);
    await b.hello({ sid: w.sid, key: w.key, ack: 1 });
    b.send({ t: 'bye' });
    await b.closed;
    const names = seen.map((e) => e.name);
    expect(names.filter((n) => n === 'connection')).toHaveLength(2);
    expect(seen.find((e) => e.name === 'session')?.payload).toEqual({ sid: w.sid, resumed: false });
    expect(seen.filter((e) => e.name === 'resume').map((e) => e.payload)).toEqual([
      {
        sid: w.sid,
        resumed: false,
        recovered: false,
        reason: 'new_session',
        missing: 0,
        replayed: 0,
      },
      { sid: w.sid, resumed: true, recovered: true, reason: undefined, missing: 0, replayed: 0 },
    ]);
    expect(seen.find((e) => e.name === 'send')?.payload).toEqual({
      sid: w.sid,
      seq: 1,
      bytes: 3,
    });
    const ack = seen.find((e) => e.name === 'ack')?.payload as { latencyMs: number };
    expect(ack).toEqual({
      sid: w.sid,
      seq: 1,
      removed: 1,
      latencyMs: expect.any(Number) as number,
    });
    expect(ack.latencyMs).toBeGreaterThanOrEqual(0);
    expect(seen.find((e) => e.name === 'message')?.payload).toEqual({
      sid: w.sid,
      id: 'm1',
      data: { q: 1 },
    });
    expect(seen.find((e) => e.name === 'clientMessage')?.payload).toEqual({
      sid: w.sid,
      id: 'm1',
      dup: false,
      ok: true,
    });
    expect(seen.find((e) => e.name === 'disconnect')?.payload).toMatchObject({
      sid: w.sid,
      code: 1006,
    });
    expect(seen.find((e) => e.name === 'end')?.payload).toEqual({ sid: w.sid, by: 'bye' });
  });

  it('emits expire and drop (ttl) when messages reach their TTL, and reap for a session', async () => {
    const clock = new ManualClock(Date.now());
    const { server, info } = await startServer({ clock, messageTtl: 1000, sessionTtl: 3000 });
    const events: unknown[] = [];
    server.on('expire', (e) => events.push(['expire', e]));
    server.on('drop', (e) => events.push(['drop', e]));
    server.on('reap', (e) => events.push(['reap', e]));
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    a.destroy();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    await server.send(w.sid, 1);
    await server.send(w.sid, 2);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await sleep(5);
    }
    await eventually(() => events.length === 3, 2000, 'events');
    expect(events).toEqual([
      ['drop', { sid: w.sid, reason: 'ttl', count: 2 }],
      ['expire', { sid: w.sid, count: 2 }],
      ['reap', { sid: w.sid, leftover: 0 }],
    ]);
  });

  it('a listener that throws is reported as an error event and delivery goes on', async () => {
    const { server, info } = await startServer();
    const errors: CoreEvents['error'][] = [];
    server.on('error', (e) => errors.push(e));
    server.on('send', () => {
      throw new Error('metrics bug');
    });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    expect(await server.send(w.sid, 'still delivered')).toEqual({ seq: 1 });
    expect((await c.messagesUpTo(1))[0]).toMatchObject({ data: 'still delivered' });
    expect(errors.map((e) => e.where)).toEqual(['listener:send']);
    c.close();
  });
});

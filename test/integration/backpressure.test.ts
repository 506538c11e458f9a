/**
 * Backpressure over a real socket: a client that stops reading makes the server stop
 * writing at the high-water mark; messages wait in the outbox and arrive in order, once,
 * when the client reads again.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RawClient, eventually, sleep, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

describe('backpressure', () => {
  it('stops writing above the high-water mark and resumes on drain without loss or duplicates', async () => {
    const hwm = 64 * 1024;
    const { server, info } = await startServer({
      highWaterMark: hwm,
      outboxMax: 100_000,
      outboxMaxBytes: '256mb',
    });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Frame & { sid: string };
    const socket = (c.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const payload = 'x'.repeat(8 * 1024);
    const total = 3000; // ~24 MB: far more than the socket buffers hold
    for (let i = 1; i <= total; i++) await server.send(w.sid, { i, payload });
    await sleep(200);
    const conn = server.hub.sessions.get(w.sid)!.conn;
    // The server stopped at the mark: what it handed to ws is bounded, the rest waits in the outbox.
    expect(conn.transport.bufferedAmount).toBeLessThan(hwm + 512 * 1024);
    expect(conn.congested).toBe(true);
    expect((await server.store.getSession(w.sid))?.depth).toBe(total);
    socket.resume();
    const msgs = await c.messagesUpTo(total, 30_000);
    expect(msgs.map((f) => (f.data as { i: number }).i)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    expect(msgs.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await eventually(() => !conn.congested, 5000, 'drain');
    c.close();
  }, 60_000);
});

describe('losses while attached', () => {
  it('unsent messages evicted from a congested connection close it with 4002; the resume reports the gap', async () => {
    const { server, info } = await startServer({
      highWaterMark: 16 * 1024,
      outboxMax: 50,
      outboxMaxBytes: '64mb',
    });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Frame & { sid: string; key: string };
    const socket = (c.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const payload = 'y'.repeat(16 * 1024);
    for (let i = 1; i <= 200; i++) {
      const r = await server.send(w.sid, { i, payload });
      expect(r).toEqual({ seq: i });
    }
    socket.resume();
    const closed = await c.closed;
    expect(closed.code).toBe(4002);
    expect(c.frames.find((f) => f.t === 'error')).toMatchObject({ code: 'slow_consumer' });
    const got = c.msgs();
    const last = got.length === 0 ? 0 : (got[got.length - 1]!.seq as number);
    // Whatever arrived arrived in order without holes.
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    const b = await RawClient.connect(info.url);
    const welcome = await b.hello({ sid: w.sid, key: w.key, ack: last });
    expect(welcome).toMatchObject({ resumed: true, recovered: false, reason: 'gap', last: 200 });
    const missing = welcome.missing as number;
    expect(missing).toBe(200 - last - 50);
    const rest = await b.messagesUpTo(50);
    expect(rest.map((f) => f.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
    b.close();
  }, 30_000);
});

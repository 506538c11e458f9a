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
    const { server, info } = await startServer({ highWaterMark: hwm, outboxMax: 100_000, outboxMaxBytes: '256mb' });
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
    expect(msgs.map((f) => (f.data as { i: number }).i)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(msgs.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await eventually(() => !conn.congested, 5000, 'drain');
    c.close();
  }, 60_000);
});

/**
 * Backpressure over a real socket, observed from outside: a chaos proxy (test/support/
 * chaos-proxy.ts) stops reading the server→client leg, as a client that stops reading would.
 * The server must stop writing at the high-water mark: what it did not write stays in the
 * outbox, where a newer value for the same key still replaces it (a message already handed
 * to the socket could not be taken back), and everything arrives in order, once, when the
 * leg flows again.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

const proxies: ChaosProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxied(port: number): Promise<{ proxy: ChaosProxy; url: string }> {
  const proxy = new ChaosProxy({ host: '127.0.0.1', port });
  proxies.push(proxy);
  return { proxy, url: `ws://127.0.0.1:${await proxy.listen()}/ws` };
}

describe('backpressure', () => {
  it('stops writing at the high-water mark (the rest waits in the outbox) and resumes without loss or duplicates', async () => {
    const hwm = 64 * 1024;
    const { server, info } = await startServer({
      highWaterMark: hwm,
      outboxMax: 100_000,
      outboxMaxBytes: '256mb',
    });
    const { proxy, url } = await proxied(info.port);
    const c = await RawClient.connect(url);
    const w = (await c.hello()) as Welcome;
    proxy.pause();
    const payload = 'x'.repeat(8 * 1024);
    // ~32 MB: far more than the loopback socket buffers of both legs hold (a few MB each).
    // One send per event-loop turn, so the server writes each as it comes while it may.
    const total = 4000;
    for (let i = 1; i < total; i++) {
      expect(await server.send(w.sid, { i, payload })).toEqual({ seq: i });
      await nextTurn();
    }
    expect(await server.send(w.sid, { i: total, payload }, { key: 'tail' })).toEqual({
      seq: total,
    });
    // Every message is still in the outbox (none was acked), as the admin API shows.
    const before = await getJson(`${info.httpUrl}/api/sessions/${w.sid}`);
    expect(before.body).toMatchObject({ attached: true, last: total, acked: 0, depth: total });
    // A newer value for the last message's key replaces it. A server that ignored the mark
    // would have handed the old one to the socket already, and the client would get both.
    expect(await server.send(w.sid, { i: 'tail', payload }, { key: 'tail' })).toEqual({
      seq: total + 1,
    });
    expect(c.msgs()).toEqual([]);
    proxy.resume();
    // A close (4002, had the server written past the mark) fails the test at once.
    const closedEarly = c.closed.then(({ code, reason }) => {
      throw new Error(`closed with ${code} (${reason}) after ${c.msgs().length} messages`);
    });
    closedEarly.catch(() => undefined);
    const msgs = await Promise.race([c.messagesUpTo(total, 30_000), closedEarly]);
    expect(msgs.map((f) => (f.data as { i: number | string }).i)).toEqual([
      ...Array.from({ length: total - 1 }, (_, i) => i + 1),
      'tail',
    ]);
    expect(msgs.map((f) => f.seq)).toEqual([
      ...Array.from({ length: total - 1 }, (_, i) => i + 1),
      total + 1,
    ]);
    // Delivery goes on after the pause: a new message arrives, and acks empty the outbox.
    await server.send(w.sid, { i: 'after' });
    expect(await c.next((f) => f.t === 'msg' && f.seq === total + 2)).toMatchObject({
      data: { i: 'after' },
    });
    c.send({ t: 'ack', seq: total + 2 });
    await eventually(
      async () => (await server.store.getSession(w.sid))?.depth === 0,
      5000,
      'the outbox to empty',
    );
    expect(c.msgs()).toHaveLength(total + 1);
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
    const { proxy, url } = await proxied(info.port);
    const c = await RawClient.connect(url);
    const w = (await c.hello()) as Welcome;
    proxy.pause();
    const payload = 'y'.repeat(16 * 1024);
    for (let i = 1; i <= 200; i++) {
      const r = await server.send(w.sid, { i, payload });
      expect(r).toEqual({ seq: i });
    }
    proxy.resume();
    const closed = await c.closed;
    expect(closed.code).toBe(4002);
    expect(c.frames.find((f) => f.t === 'error')).toMatchObject({ code: 'slow_consumer' });
    const got = c.msgs();
    const last = got.length === 0 ? 0 : (got[got.length - 1]!.seq as number);
    // Whatever arrived arrived in order without holes, and some of it was lost.
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    expect(last).toBeLessThan(150);
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

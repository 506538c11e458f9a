/**
 * Delivery (delivery.ts) through the Hub: backpressure (stop at the high-water mark, resume on
 * drain, in order, once), losses on an attached connection (4002 when a lost message was never
 * written) and a store that fails during a pump.
 */
import { describe, expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('backpressure', () => {
  it('above the high-water mark stored messages stay in the outbox; after a drain the rest arrive in order, once', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 1000 } });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    t.bufferedAmount = 5000; // the socket falls behind while this turn's batch is written
    h.flush();
    for (const i of range(2, 10)) await h.hub.send(sid, i);
    await h.settle();
    expect(t.seqs).toEqual([1]);
    const held = await h.store.read(sid, 1, 100, h.clock.now());
    expect(held.status === 'ok' && held.messages.map((m) => m.seq)).toEqual(range(2, 10));

    // Still above half the mark: keep waiting.
    t.drain(800);
    await h.settle();
    expect(t.seqs).toEqual([1]);

    t.drain(0);
    await h.hub.send(sid, 11); // arrives while the catch-up read is in flight
    await h.settle();
    expect(t.seqs).toEqual(range(1, 11));
    await h.hub.send(sid, 12);
    await h.settle();
    expect(t.seqs).toEqual(range(1, 12));
  });

  it('congestion that recurs during a long catch-up stops it again, without loss or repeats', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 2000 } });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    t.bufferedAmount = 5000;
    h.flush();
    // More than one store read's worth (256) waits in the outbox.
    for (const i of range(2, 600)) await h.hub.send(sid, i);
    await h.settle();
    expect(t.seqs).toEqual([1]);
    // Each drain lets some through, and each flush finds the socket behind again.
    for (let round = 0; round < 100 && t.seqs.length < 600; round++) {
      const n = t.seqs.length;
      t.drain(0);
      t.bufferedAmount = 5000;
      if (round % 3 === 0) await h.hub.send(sid, 'extra'); // new sends meanwhile
      await h.settle();
      expect(t.seqs.length).toBeGreaterThan(n);
    }
    t.drain(0);
    await h.settle();
    const last = (await h.store.getSession(sid))!.last;
    expect(last).toBeGreaterThan(600);
    expect(t.seqs).toEqual(range(1, last));
  });

  it('more than the high-water mark in one turn is written over several turns, in order, once', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 200 } });
    const { t, sid } = await h.session();
    const before = t.messages.length;
    await Promise.all(range(1, 50).map((i) => h.hub.send(sid, `message number ${i}`)));
    await h.settle();
    expect(t.seqs).toEqual(range(1, 50));
    const batches = t.messages.slice(before);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(b.length).toBeLessThan(200 + 60);
  });

  it('volatile messages are written when the socket keeps up, dropped while it is congested', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 1000 } });
    const { t, sid } = await h.session();
    t.take();
    expect(await h.hub.send(sid, 'v1', { volatile: true })).toEqual({ delivered: true });
    await h.settle();
    expect(t.take()).toEqual([{ t: 'msg', data: 'v1' }]);

    await h.hub.send(sid, 'stored');
    t.bufferedAmount = 5000;
    h.flush();
    t.take();
    expect(await h.hub.send(sid, 'v2', { volatile: true })).toEqual({ delivered: false });
    await h.settle();
    t.drain(0);
    await h.settle();
    expect(t.take()).toEqual([]);
    expect(await h.hub.send(sid, 'v3', { volatile: true })).toEqual({ delivered: true });
    await h.settle();
    expect(t.take()).toEqual([{ t: 'msg', data: 'v3' }]);
    // Volatile messages never take a seq.
    expect(await h.store.getSession(sid)).toMatchObject({ last: 1 });
  });

  it('a volatile message for a detached session is not delivered; for an unknown one it is an error', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    t.fireClose(1006);
    await h.settle();
    expect(await h.hub.send(sid, 'v', { volatile: true })).toEqual({ delivered: false });
    expect(await h.store.getSession(sid)).toMatchObject({ last: 0, depth: 0 });
    await expect(h.hub.send('nope', 'v', { volatile: true })).rejects.toMatchObject({
      code: 'unknown_session',
    });
  });
});

describe('losses on an attached connection', () => {
  it('drop-oldest evicting a message never written closes the consumer 4002, so its resume reports the gap', async () => {
    const h = new HubHarness({ limits: { maxMessages: 2 }, writer: { highWaterMark: 1000 } });
    const { t, sid, key } = await h.session();
    await h.hub.send(sid, 1);
    t.bufferedAmount = 5000;
    h.flush();
    await h.hub.send(sid, 2);
    await h.hub.send(sid, 3); // evicts 1: already written, not a hole
    expect(t.closed).toBeUndefined();
    await h.hub.send(sid, 4); // evicts 2: never written
    await h.settle();
    expect(t.closed?.code).toBe(4002);
    expect(t.framesOf('error')).toEqual([
      { t: 'error', code: 'slow_consumer', message: expect.any(String) as string },
    ]);
    t.fireClose();
    await h.settle();
    const again = h.connect();
    const w = await h.hello(again, { sid, key, ack: 1 });
    expect(w).toMatchObject({ recovered: false, reason: 'gap', missing: 1, last: 4 });
    expect(again.seqs).toEqual([3, 4]);
  });

  it('data larger than maxMessageBytes is refused with message_too_large, nothing stored', async () => {
    const h = new HubHarness({ hub: { maxMessageBytes: 100 } });
    const { sid } = await h.session();
    const send = async (data: unknown): Promise<unknown> => h.hub.send(sid, data);
    await expect(send('x'.repeat(200))).rejects.toMatchObject({ code: 'message_too_large' });
    expect(await h.store.getSession(sid)).toMatchObject({ last: 0 });
    expect(await send('x'.repeat(50))).toEqual({ seq: 1 });
  });
});

describe('a store that fails during delivery', () => {
  // A live send is written directly only right after the last written seq; after a failed
  // store read (a hole), the connection is closed (4003, error unavailable) so that the
  // client resumes from its ack — it never acks past a message it did not get.
  it('a failed pump read closes the connection instead of letting a later send jump the hole', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 100 } });
    const errors = h.record('error');
    const a = await h.session();

    // The socket is congested: seq 1 waits in the outbox.
    a.t.bufferedAmount = 1000;
    a.t.peerSends({ t: 'ping' }); // any write, so a flush sees bufferedAmount > mark
    await h.settle();
    await h.hub.send(a.sid, 'm1');
    await h.settle();
    expect(a.t.seqs).toEqual([]);

    // The store fails the pump's one read.
    const realRead = h.store.read.bind(h.store);
    let fail = true;
    h.store.read = async (...args: Parameters<typeof realRead>) => {
      if (fail) {
        fail = false;
        throw new Error('store hiccup');
      }
      return realRead(...args);
    };
    a.t.drain(0); // congestion clears → pump → read rejects
    await h.settle();
    expect(errors.map((e) => e.where)).toContain('pump');

    expect(a.t.closed?.code).toBe(4003);
    expect(a.t.framesOf('error')).toMatchObject([{ code: 'unavailable' }]);
    // The later send is stored, never written past the hole; a resume replays both.
    await h.hub.send(a.sid, 'm2');
    await h.settle();
    expect(a.t.seqs).toEqual([]);
    const b = h.connect();
    await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    await h.settle();
    expect(b.seqs).toEqual([1, 2]);
  });
});

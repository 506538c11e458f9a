/**
 * Delivery (delivery.ts) through the Hub: backpressure (stop at the high-water mark, resume on
 * drain, in order, once), losses on an attached connection (4002 when a lost message was never
 * written) and a store that fails during a pump.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/chaos-proxy.js';
import { LoopbackBus } from '../store/loopback-bus.js';
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

  it('a loss the node was never told of (another node evicted, its bus hint lost) closes 4002 before anything past it is written', async () => {
    const bus = new LoopbackBus();
    const h = new HubHarness({ limits: { maxMessages: 2 }, writer: { highWaterMark: 1000 }, bus });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    t.bufferedAmount = 5000;
    h.flush();
    // Appends straight to the shared store, as another node would: 2 and 3 are evicted by 4
    // and 5 before this connection was written them. Its `lost` hint never arrives; only its
    // `appended` hint for 5 does, once the socket has drained.
    for (const d of ['2', '3', '4', '5'])
      await h.store.append(sid, { data: d, bytes: 1 }, h.clock.now());
    t.drain(0);
    await h.settle();
    expect(t.closed).toBeUndefined();
    bus.publish('node-b', { type: 'appended', stream: { kind: 'session', sid }, seq: 5 });
    await h.settle();
    expect(t.closed?.code).toBe(4002);
    // Nothing past the loss reached the client as if the hole were a replacement.
    expect(t.seqs).toEqual([1]);
  });

  it('losses counted in the welcome close nothing: the next live message carries prev, the connection stays (no 4002 loop)', async () => {
    const bus = new LoopbackBus();
    const h = new HubHarness({ limits: { messageTtlMs: 1000 }, bus, node: 'node-a' });
    const { t, sid, key } = await h.session();
    for (const d of [1, 2, 3]) await h.hub.send(sid, d);
    await h.settle();
    t.fireClose(1006);
    await h.settle();
    h.clock.advance(1001); // 1..3 expire while away; the client never acked them
    const again = h.connect();
    const w = await h.hello(again, { sid, key, ack: 0 });
    expect(w).toMatchObject({ recovered: false, reason: 'gap', missing: 3, last: 3 });
    // The losses stay in the store's loss runs until the client acks past them: the pump's
    // read reports them (lostTo 3) above what this connection was written (its ack, 0).
    await h.hub.send(sid, 'next');
    // A late bus hint of the same losses closes nothing either.
    bus.publish('node-b', { type: 'lost', stream: { kind: 'session', sid }, upTo: 3 });
    await h.settle();
    expect(again.closed).toBeUndefined();
    expect(again.framesOf('msg')).toEqual([{ t: 'msg', seq: 4, prev: 0, data: 'next' }]);
  });

  it('a loss after the resume of a message retained then but not yet written still closes 4002', async () => {
    const h = new HubHarness({ limits: { messageTtlMs: 1000 }, writer: { highWaterMark: 10 } });
    const { t, sid, key } = await h.session();
    t.fireClose(1006);
    await h.settle();
    for (const d of [1, 2]) await h.hub.send(sid, d);
    h.clock.advance(500);
    for (const d of [3, 4]) await h.hub.send(sid, d);
    h.clock.advance(501); // 1 and 2 expire while away
    const again = h.connect();
    again.bufferedAmount = 5000; // congested from the start: the replay waits for a drain
    const w = await h.hello(again, { sid, key, ack: 0 });
    expect(w).toMatchObject({ reason: 'gap', missing: 2, last: 4 });
    expect(again.seqs).toEqual([]);
    h.clock.advance(500); // 3 and 4 expire too, never written to this connection
    again.drain(0);
    await h.settle();
    // Counted in no welcome: the client must learn of them by a resume.
    expect(again.seqs).toEqual([]);
    expect(again.closed?.code).toBe(4002);
  });

  it('a keyed replacement the connection was not written carries prev: the hole is named, nothing closes', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 1000 } });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 'plain');
    t.bufferedAmount = 5000;
    h.flush();
    await h.hub.send(sid, { v: 1 }, { key: 'k' });
    await h.hub.send(sid, { v: 2 }, { key: 'k' }); // replaces seq 2 before it was written
    await h.hub.send(sid, 'after');
    t.drain(0);
    await h.settle();
    expect(t.closed).toBeUndefined();
    expect(t.seqs).toEqual([1, 3, 4]);
    const msgs = t.framesOf('msg');
    expect(msgs[1]).toEqual({ t: 'msg', seq: 3, prev: 1, key: 'k', data: { v: 2 } });
    expect(msgs[2]).toEqual({ t: 'msg', seq: 4, data: 'after' });
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

describe('randomized: nothing stored is skipped', () => {
  // Sends (several per turn, keyed never), congestion, drains, acks and cuts with resumes in a
  // random order. Each connection must receive contiguous seqs after its resume ack; on a
  // connection that keeps up nothing stored waits; the client ends up with every seq exactly
  // once. A message skipped or held anywhere in the hub (send, deliver, replay, pump) breaks
  // one of the three.
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i', async (seed) => {
    const random = seededRandom(seed);
    const h = new HubHarness({ writer: { highWaterMark: 200 }, limits: { maxMessages: 100_000 } });
    const first = await h.session();
    const { sid, key } = first;
    let t = first.t;
    let connStart = 0; // the ack this connection resumed from
    let acked = 0;
    const received: number[] = []; // by the client, across connections, after dedup by seq
    let taken = 0;
    let sent = 0;
    let congested = false;
    const collect = (): void => {
      const seqs = t.seqs.slice(taken);
      taken += seqs.length;
      for (const seq of seqs) {
        const expected = (received.length > 0 ? received[received.length - 1]! : connStart) + 1;
        // Contiguous on this connection, from the seq after its resume ack.
        expect(seq).toBe(Math.max(expected, connStart + 1));
        if (seq > (received[received.length - 1] ?? 0)) received.push(seq);
      }
    };
    for (let step = 0; step < 300; step++) {
      const r = random();
      if (r < 0.45) {
        const n = 1 + Math.floor(random() * 5);
        for (let i = 0; i < n; i++) void h.hub.send(sid, `m${++sent}`);
      } else if (r < 0.6) {
        t.bufferedAmount = 300; // above the mark (200), below the hard bound
        t.peerSends({ t: 'ping' });
        congested = true;
      } else if (r < 0.75) {
        t.drain(0);
        congested = false;
      } else if (r < 0.85) {
        collect();
        const last = received[received.length - 1] ?? 0;
        if (last > acked) {
          acked = last;
          t.peerSends({ t: 'ack', seq: acked });
        }
      } else if (r < 0.92) {
        // Cut: the client resumes on a new connection from what it acked.
        collect();
        t.fireClose(1006);
        await h.settle();
        const next = h.connect();
        const w = await h.hello(next, { sid, key, ack: acked });
        expect(w.recovered).toBe(true);
        t = next;
        congested = false;
        taken = 0;
        connStart = acked;
        received.splice(0, received.length, ...received.filter((s) => s <= acked));
      }
      if (random() < 0.5) {
        await h.settle();
        collect();
        // Liveness: on a connection that keeps up, nothing stored waits.
        if (!congested) expect(received.length).toBe(sent);
      }
      collect();
    }
    t.drain(0);
    await h.settle();
    collect();
    expect(received).toEqual(range(1, sent));
  });
});

/**
 * Sends through the Hub (send-path.ts) and the hub's own life cycle: batching, volatile
 * messages, overflow policies, broadcast, admin end and shutdown. Backpressure and losses
 * are in delivery.test.ts, resume and takeover in handshake.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { OverflowPolicy } from '../store/limits.js';
import { LoopbackBus } from '../store/loopback-bus.js';
import { HubHarness } from './test-support/hub-harness.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('delivery and batching', () => {
  it('a stored message reaches the attached connection with its seq, id and data', async () => {
    const h = new HubHarness();
    const sends = h.record('send');
    const { t, sid } = await h.session();
    t.take();
    expect(await h.hub.send(sid, { hello: 'world' }, { id: 'out-1' })).toEqual({ seq: 1 });
    await h.settle();
    expect(t.take()).toEqual([{ t: 'msg', seq: 1, id: 'out-1', data: { hello: 'world' } }]);
    expect(sends).toEqual([{ sid, seq: 1, bytes: 17 }]);
  });

  it('many sends in one turn: the first leaves at once, the rest as one WebSocket message, frames joined by newlines', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    const before = t.messages.length;
    await Promise.all(range(1, 20).map((i) => h.hub.send(sid, i)));
    expect(t.messages.length).toBe(before + 1);
    h.flush();
    const batch = t.messages.slice(before);
    expect(batch).toHaveLength(2);
    expect(JSON.parse(batch[0]!)).toEqual({ t: 'msg', seq: 1, data: 1 });
    expect(batch[1]!.split('\n').map((f) => JSON.parse(f) as unknown)).toEqual(
      range(2, 20).map((i) => ({ t: 'msg', seq: i, data: i })),
    );
  });

  it('puts at most maxBatchFrames frames in one WebSocket message', async () => {
    const h = new HubHarness({ writer: { maxBatchFrames: 4 } });
    const { t, sid } = await h.session();
    const before = t.messages.length;
    await Promise.all(range(1, 10).map((i) => h.hub.send(sid, i)));
    h.flush();
    expect(t.messages.slice(before).map((m) => m.split('\n').length)).toEqual([1, 4, 4, 1]);
    expect(t.seqs).toEqual(range(1, 10));
  });

  it('messages sent in different turns leave in different WebSocket messages, in order', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    const before = t.messages.length;
    await h.hub.send(sid, 'a');
    await h.settle();
    await h.hub.send(sid, 'b');
    await h.settle();
    expect(t.messages.slice(before)).toEqual([
      '{"t":"msg","seq":1,"data":"a"}',
      '{"t":"msg","seq":2,"data":"b"}',
    ]);
  });

  it('a message for a detached session is stored, not written anywhere', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    t.fireClose(1006);
    await h.settle();
    expect(await h.hub.send(sid, 'later')).toEqual({ seq: 1 });
    expect(await h.store.getSession(sid)).toMatchObject({ attached: false, depth: 1 });
  });

  it('a repeated outbound id returns the original seq and is written once', async () => {
    const h = new HubHarness();
    const dups = h.record('duplicateSend');
    const { t, sid } = await h.session();
    expect(await h.hub.send(sid, 'x', { id: 'i1' })).toEqual({ seq: 1 });
    expect(await h.hub.send(sid, 'x', { id: 'i1' })).toEqual({ seq: 1, dup: true });
    await h.settle();
    expect(t.framesOf('msg')).toEqual([{ t: 'msg', seq: 1, id: 'i1', data: 'x' }]);
    expect(dups).toEqual([{ sid, id: 'i1', seq: 1 }]);
  });

  it('refuses data that is not JSON, and unknown sessions, with typed errors', async () => {
    const h = new HubHarness();
    const { sid } = await h.session();
    // Called the way an awaiting caller sees it: every refusal is a typed error.
    const send = async (data: unknown): Promise<unknown> => h.hub.send(sid, data);
    await expect(send(10n)).rejects.toMatchObject({ code: 'bad_data' });
    await expect(send(undefined)).rejects.toMatchObject({ code: 'bad_data' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(send(circular)).rejects.toMatchObject({ code: 'bad_data' });
    await expect(h.hub.send('nope', 1)).rejects.toMatchObject({ code: 'unknown_session' });
    expect(await h.store.getSession(sid)).toMatchObject({ last: 0 });
  });
});

describe('overflow policies through send', () => {
  it('disconnect: the message is refused and the slow consumer closed with 4002', async () => {
    const h = new HubHarness({ limits: { maxMessages: 2, overflow: 'disconnect' } });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    await h.hub.send(sid, 2);
    expect(await h.hub.send(sid, 3)).toEqual({ dropped: 'overflow', policy: 'disconnect' });
    await h.settle();
    expect(t.closed?.code).toBe(4002);
    expect(t.framesOf('error')).toEqual([
      { t: 'error', code: 'slow_consumer', message: expect.any(String) as string },
    ]);
    expect(t.seqs).toEqual([1, 2]);
    expect(h.dlq.list({ sid }).map((e) => [e.reason, e.data])).toEqual([['overflow', '3']]);
  });

  it('drop-newest: the message is refused and dead-lettered, the connection stays', async () => {
    const h = new HubHarness({ limits: { maxMessages: 2, overflow: 'drop-newest' } });
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    await h.hub.send(sid, 2);
    expect(await h.hub.send(sid, 3)).toEqual({ dropped: 'overflow', policy: 'drop-newest' });
    await h.settle();
    expect(t.closed).toBeUndefined();
    expect(t.seqs).toEqual([1, 2]);
    expect(h.dlq.size).toBe(1);
  });

  it('reject: send fails with outbox_full naming the policy', async () => {
    const h = new HubHarness({ limits: { maxMessages: 1, overflow: 'reject' } });
    const { sid } = await h.session();
    await h.hub.send(sid, 1);
    await expect(h.hub.send(sid, 2)).rejects.toMatchObject({
      code: 'outbox_full',
      details: { policy: 'reject' },
    });
    expect(h.dlq.size).toBe(0);
  });

  it('drop-oldest: the newest is delivered, the oldest unacked is dead-lettered', async () => {
    const h = new HubHarness({ limits: { maxMessages: 2 } });
    const { t, sid } = await h.session();
    for (const i of [1, 2, 3]) await h.hub.send(sid, i);
    await h.settle();
    expect(t.seqs).toEqual([1, 2, 3]);
    expect(h.dlq.list({ sid }).map((e) => e.seq)).toEqual([1]);
  });
});

describe('broadcast, end and close', () => {
  it('broadcast stores for every live session and writes to the attached ones', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = await h.session();
    const gone = await h.session();
    gone.t.fireClose(1006);
    await h.settle();
    expect(await h.hub.broadcast({ news: 1 })).toBe(3);
    await h.settle();
    expect(a.t.framesOf('msg')).toEqual([{ t: 'msg', seq: 1, data: { news: 1 } }]);
    expect(b.t.framesOf('msg')).toEqual([{ t: 'msg', seq: 1, data: { news: 1 } }]);
    expect(await h.store.getSession(gone.sid)).toMatchObject({ depth: 1 });
  });

  it('a volatile broadcast reaches only attached connections that keep up', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 1000 } });
    const a = await h.session();
    const b = await h.session();
    await h.hub.send(b.sid, 'x');
    b.t.bufferedAmount = 5000;
    h.flush();
    expect(await h.hub.broadcast('v', { volatile: true })).toBe(1);
    await h.settle();
    expect(a.t.framesOf('msg')).toEqual([{ t: 'msg', data: 'v' }]);
    expect(b.t.framesOf('msg')).toEqual([{ t: 'msg', seq: 1, data: 'x' }]);
  });

  it('broadcast of data that is not JSON fails before anything is stored', async () => {
    const h = new HubHarness();
    const { sid } = await h.session();
    await expect(h.hub.broadcast(1n)).rejects.toMatchObject({ code: 'bad_data' });
    expect(await h.store.getSession(sid)).toMatchObject({ last: 0 });
  });

  it('endSession closes with 1000, forgets the session and dead-letters what it held', async () => {
    const h = new HubHarness();
    const ends = h.record('end');
    const { t, sid } = await h.session();
    await h.hub.send(sid, 'left');
    expect(await h.hub.endSession(sid)).toBe(true);
    await h.settle();
    expect(t.closed?.code).toBe(1000);
    expect(await h.store.getSession(sid)).toBeUndefined();
    expect(h.dlq.list({ sid }).map((e) => e.reason)).toEqual(['session_closed']);
    expect(ends).toEqual([{ sid, by: 'admin' }]);
    t.fireClose();
    await h.settle();
    expect(await h.store.stats()).toMatchObject({ sessions: 0 });
    expect(await h.hub.endSession(sid)).toBe(false);
  });

  it('endSession whose forget fails rejects and leaves the session detached (reaped after its TTL), not attached forever', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    const deleteSession = h.store.deleteSession.bind(h.store);
    h.store.deleteSession = () => Promise.reject(new Error('store down'));
    await expect(h.hub.endSession(sid)).rejects.toThrow('store down');
    h.store.deleteSession = deleteSession;
    expect(t.closed?.code).toBe(1000);
    t.fireClose();
    await h.settle();
    expect(await h.store.getSession(sid)).toMatchObject({ attached: false });
  });

  it('closeAll closes every connection with the code given and waits for them to close', async () => {
    const h = new HubHarness();
    const disconnects = h.record('disconnect');
    const a = await h.session();
    const b = await h.session();
    const done = h.hub.closeAll(1001, 'server going away', 5000);
    expect(a.t.closed).toEqual({ code: 1001, reason: 'server going away' });
    expect(b.t.closed).toEqual({ code: 1001, reason: 'server going away' });
    a.t.fireClose();
    b.t.fireClose();
    await done;
    expect(disconnects.map((d) => d.code)).toEqual([1001, 1001]);
    expect(a.t.terminated || b.t.terminated).toBe(false);
  });

  it('closeAll drops connections that do not close within the grace period', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const silent = h.connect();
    const done = h.hub.closeAll(1001, 'server going away', 20);
    a.t.fireClose();
    await done;
    expect(silent.closed?.code).toBe(1001);
    expect(silent.terminated).toBe(true);
    expect(a.t.terminated).toBe(false);
  });

  it('a closed connection detaches its session, which keeps its messages', async () => {
    const h = new HubHarness({ hub: { sessionTtlMs: 5000 } });
    const disconnects = h.record('disconnect');
    const { t, sid } = await h.session();
    await h.hub.send(sid, 1);
    t.fireClose(1006, 'gone');
    await h.settle();
    expect(await h.store.getSession(sid)).toMatchObject({
      attached: false,
      depth: 1,
      expiresAt: h.clock.now() + 5000,
    });
    expect(disconnects).toEqual([{ sid, code: 1006, reason: 'gone' }]);
  });
});

describe('serialize once', () => {
  it('broadcast serializes the data once for every recipient', async () => {
    const h = new HubHarness();
    await h.session();
    await h.session();
    await h.session();
    let calls = 0;
    const data = {
      toJSON: () => {
        calls++;
        return { v: 1 };
      },
    };
    expect(await h.hub.broadcast(data)).toBe(3);
    expect(calls).toBe(1);
  });

  it('send rejects (never throws synchronously) for data that is not JSON', async () => {
    const h = new HubHarness();
    const { sid } = await h.session();
    const p = h.hub.send(sid, 1n);
    await expect(p).rejects.toMatchObject({ code: 'bad_data' });
  });
});

describe('the synchronous send path (a store with appendNow)', () => {
  it('send returns a rejected promise, never a synchronous throw, for every error', async () => {
    const h = new HubHarness({ limits: { maxMessages: 1, overflow: 'reject' } });
    const { sid } = await h.session();
    await h.hub.send(sid, 'fills the outbox');
    const calls: [() => Promise<unknown>, string][] = [
      [() => h.hub.send(sid, 1n), 'bad_data'],
      [() => h.hub.send(sid, 'x'.repeat(2 * 1024 * 1024)), 'message_too_large'],
      [() => h.hub.send(sid, 'x', { dedup: 'content' }), 'content_hash_unavailable'],
      [() => h.hub.send('nope', 'x'), 'unknown_session'],
      [() => h.hub.send(sid, 'x'), 'outbox_full'],
    ];
    for (const [call, code] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call())).not.toThrow();
      await expect(p).rejects.toMatchObject({ code });
    }
    await h.store.close();
    let closed: Promise<unknown> | undefined;
    expect(() => (closed = h.hub.send(sid, 'x'))).not.toThrow();
    await expect(closed).rejects.toMatchObject({ code: 'store_closed' });
  });

  it('stores and writes at call time: seq order is call order', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    const results = range(1, 5).map((i) => h.hub.send(sid, i));
    expect(await h.store.getSession(sid)).toMatchObject({ last: 5 });
    expect(await Promise.all(results)).toEqual(range(1, 5).map((seq) => ({ seq })));
    h.flush();
    expect(t.seqs).toEqual(range(1, 5));
  });

  /**
   * One turn of sends of every kind (stored, duplicate, keyed, volatile, unknown session,
   * refused, overflowing, broadcast), through the fast path or forced onto the async one (as
   * with a store without appendNow). Everything the caller and the client can see.
   */
  async function scenario(policy: OverflowPolicy, sync: boolean) {
    const h = new HubHarness({ limits: { maxMessages: 4, overflow: policy } });
    if (!sync) (h.outbox as { canAppendNow: boolean }).canAppendNow = false;
    const events = {
      send: h.record('send'),
      drop: h.record('drop'),
      duplicateSend: h.record('duplicateSend'),
      timings: h.record('sendTiming'),
    };
    const { t, sid } = await h.session();
    const other = await h.session();
    t.take();
    other.t.take();
    const sends: Promise<unknown>[] = [
      h.hub.send(sid, 'a', { id: 'i1' }),
      h.hub.send(sid, 'a', { id: 'i1' }),
      h.hub.send(sid, { p: 1 }, { key: 'k' }),
      h.hub.send(sid, { p: 2 }, { key: 'k' }),
      h.hub.send(sid, 'v', { volatile: true }),
      h.hub.send('nope', 'x'),
      h.hub.send(sid, 'b'),
      h.hub.send(sid, 'c'),
      h.hub.send(sid, 'd', { ifFull: 'reject' }),
      h.hub.send(sid, 'e'),
      h.hub.broadcast('all'),
    ];
    for (let i = 0; i < 16; i++) sends.push(h.hub.send(other.sid, i));
    const settled = await Promise.allSettled(sends);
    await h.settle();
    // A volatile frame is written at call time on both paths; a stored one on the async path
    // a few microtasks later, so within one turn their relative order differs (nothing
    // orders volatile and stored messages): compare the stored stream and the volatile apart.
    const frames = t.take();
    const seen = JSON.stringify({
      settled,
      frames: frames.filter((f) => f.t !== 'msg' || f.seq !== undefined),
      volatile: frames.filter((f) => f.t === 'msg' && f.seq === undefined),
      otherFrames: other.t.take(),
      closed: t.closed ?? null,
      events: { ...events, timings: events.timings.length },
      totals: h.outbox.totals,
      deadLetters: h.dlq.list().map((d) => [d.sid, d.reason, d.data, d.seq]),
    });
    return seen.replaceAll(sid, 'SID').replaceAll(other.sid, 'OTHER');
  }

  for (const policy of ['drop-oldest', 'drop-newest', 'reject', 'disconnect'] as const) {
    it(`gives what the async path gives: results, frames, events, counts (${policy})`, async () => {
      expect(await scenario(policy, true)).toBe(await scenario(policy, false));
    });
  }
});

describe('close', () => {
  it('close() waits for the detaches that the closes started, so a shared store records them', async () => {
    const h = new HubHarness();
    const a = await h.session();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = h.store.detach.bind(h.store);
    h.store.detach = async (...args: Parameters<typeof real>) => {
      await gate;
      return real(...args);
    };
    a.t.fireClose(1006);
    let closed = false;
    const done = h.hub.close().then(() => {
      closed = true;
    });
    await h.settle();
    expect(closed).toBe(false);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true });
    release();
    await done;
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
  });
});

describe('disconnect (protocol 1.1)', () => {
  it('a disconnect while the session is being resumed here closes the resumed connection with 4004', async () => {
    const h = new HubHarness();
    const { t, sid, key } = await h.session();
    t.fireClose(1006);
    await h.settle();
    const t2 = h.connect();
    t2.peerSends({ t: 'hello', v: 1, resume: { sid, key, ack: 0 } });
    // The store has not answered the resume yet: no connection holds the session here.
    const answered = h.hub.disconnect(sid, 'rebalancing');
    await h.settle();
    expect(await answered).toBe(true);
    expect(t2.welcome).toMatchObject({ resumed: true });
    // Else `true` was answered and nothing was disconnected.
    expect(t2.framesOf('error')).toEqual([
      { t: 'error', code: 'disconnected', message: 'rebalancing' },
    ]);
    expect(t2.closed?.code).toBe(4004);
    expect(await h.store.getSession(sid)).toBeDefined();
  });

  it('a disconnect heard on the bus while the session is being resumed here closes it once attached', async () => {
    const bus = new LoopbackBus();
    const h = new HubHarness({ bus, node: 'node-a' });
    const { t, sid, key } = await h.session();
    t.fireClose(1006);
    await h.settle();
    const t2 = h.connect();
    t2.peerSends({ t: 'hello', v: 1, resume: { sid, key, ack: 0 } });
    bus.publish('node-b', { type: 'disconnect', sid, reason: 'drain' });
    await h.settle();
    expect(t2.welcome).toMatchObject({ resumed: true });
    expect(t2.closed?.code).toBe(4004);
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { DEFAULT_LIMITS, type OutboxLimits, type OverflowPolicy } from '../store/limits.js';
import { DIRECT_OWNER, MemoryStore } from '../store/memory-store.js';
import type { NewMessage, Store } from '../store/store.js';
import { MemoryDeadLetterStore } from './dead-letters.js';
import { Outbox, SEND_TIMING_EVERY, type AppendOutcome } from './outbox.js';

function setup(limits: Partial<OutboxLimits> = {}) {
  const clock = new ManualClock(0);
  const events = new Emitter<CoreEvents>();
  const full: OutboxLimits = { ...DEFAULT_LIMITS, ...limits };
  const store = new MemoryStore({ limits: full });
  const dlq = new MemoryDeadLetterStore(1000);
  const outbox = new Outbox(store, full, dlq, events, clock);
  const record = <K extends keyof CoreEvents>(name: K): CoreEvents[K][] => {
    const out: CoreEvents[K][] = [];
    events.on(name, (p) => out.push(p));
    return out;
  };
  const session = async (sid = 's1'): Promise<string> => {
    await store.createSession({ sid, keyHash: `hash-${sid}`, now: clock.now() });
    return sid;
  };
  return { clock, events, store, dlq, outbox, record, session };
}

const msg = (data: unknown, extra: Partial<NewMessage> = {}): NewMessage => {
  const json = JSON.stringify(data);
  return { data: json, bytes: Buffer.byteLength(json), ...extra };
};

const seqsOf = async (o: Outbox, sid: string): Promise<number[]> => {
  const r = await o.read(sid, 0, 1000);
  return r.status === 'ok' ? r.messages.map((m) => m.seq) : [];
};

describe('Outbox.append', () => {
  it('stores with rising seqs and emits send with the byte count', async () => {
    const { outbox, record, session } = setup();
    const sends = record('send');
    const sid = await session();
    expect(await outbox.append(sid, msg('a'))).toMatchObject({ status: 'stored', seq: 1 });
    expect(await outbox.append(sid, msg('bb'))).toMatchObject({ status: 'stored', seq: 2 });
    expect(sends).toEqual([
      { sid, seq: 1, bytes: 3 },
      { sid, seq: 2, bytes: 4 },
    ]);
    expect(await seqsOf(outbox, sid)).toEqual([1, 2]);
  });

  it('times the store append for 1 send in SEND_TIMING_EVERY (a clock read is not free)', async () => {
    const { outbox, record, session } = setup({ maxMessages: 10_000 });
    const timings = record('sendTiming');
    const sid = await session();
    for (let i = 0; i < 3 * SEND_TIMING_EVERY; i++) await outbox.append(sid, msg(String(i)));
    expect(timings).toHaveLength(3);
    for (const e of timings as { durationMs: number }[])
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('counts stored sends and their bytes in plain fields (what the metrics read)', async () => {
    const { outbox, session } = setup({ maxMessages: 2, overflow: 'drop-newest' });
    const sid = await session();
    await outbox.append(sid, msg('a'));
    await outbox.append(sid, msg('bb'));
    await outbox.append(sid, msg('ccc')); // refused by drop-newest: not a stored send
    expect(outbox.totals).toEqual({ sent: 2, sentBytes: 7 });
  });

  it('a repeated id is a duplicate with the original seq, stored once, and emits duplicateSend', async () => {
    const { outbox, record, session, store } = setup();
    const dups = record('duplicateSend');
    const sid = await session();
    await outbox.append(sid, msg('a', { id: 'x' }));
    await outbox.append(sid, msg('b'));
    expect(await outbox.append(sid, msg('a again', { id: 'x' }))).toEqual({
      status: 'duplicate',
      seq: 1,
    });
    expect(dups).toEqual([{ sid, id: 'x', seq: 1 }]);
    expect((await store.getSession(sid))?.last).toBe(2);
  });

  it('an unknown session is reported, nothing dead-lettered', async () => {
    const { outbox, dlq } = setup();
    expect(await outbox.append('nope', msg(1))).toEqual({ status: 'unknown_session' });
    expect(dlq.size).toBe(0);
  });

  describe('overflow policies (maxMessages 2)', () => {
    it('drop-oldest stores the new message and dead-letters the evicted one as overflow', async () => {
      const { outbox, dlq, record, session, clock } = setup({ maxMessages: 2 });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('m1'));
      await outbox.append(sid, msg('m2'));
      clock.advance(10);
      const r = await outbox.append(sid, msg('m3'));
      expect(r).toMatchObject({ status: 'stored', seq: 3 });
      expect(r.status === 'stored' && r.dropped.map((m) => m.seq)).toEqual([1]);
      expect(await seqsOf(outbox, sid)).toEqual([2, 3]);
      expect(dlq.list()).toEqual([
        { id: 1, sid, seq: 1, reason: 'overflow', data: '"m1"', at: clock.now() },
      ]);
      expect(drops).toEqual([{ sid, reason: 'overflow', count: 1 }]);
    });

    it('drop-newest refuses the new message, dead-letters it without a seq', async () => {
      const { outbox, dlq, record, session, store } = setup({
        maxMessages: 2,
        overflow: 'drop-newest',
      });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('m1'));
      await outbox.append(sid, msg('m2'));
      expect(await outbox.append(sid, msg('m3'))).toEqual({
        status: 'dropped',
        policy: 'drop-newest',
      });
      expect(await seqsOf(outbox, sid)).toEqual([1, 2]);
      expect((await store.getSession(sid))?.last).toBe(2);
      expect(dlq.list()).toEqual([{ id: 1, sid, reason: 'overflow', data: '"m3"', at: 0 }]);
      expect(drops).toEqual([{ sid, reason: 'overflow', count: 1 }]);
    });

    it('disconnect refuses the new message, dead-letters it, and tells the caller to disconnect', async () => {
      const { outbox, dlq, record, session } = setup({ maxMessages: 2, overflow: 'disconnect' });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('m1'));
      await outbox.append(sid, msg('m2'));
      expect(await outbox.append(sid, msg('m3'))).toEqual({
        status: 'dropped',
        policy: 'disconnect',
      });
      expect(await seqsOf(outbox, sid)).toEqual([1, 2]);
      expect(dlq.list({ reason: 'overflow' }).map((e) => e.data)).toEqual(['"m3"']);
      expect(drops).toEqual([{ sid, reason: 'overflow', count: 1 }]);
    });

    it('reject refuses the new message and dead-letters nothing (the sender gets the error)', async () => {
      const { outbox, dlq, record, session } = setup({ maxMessages: 2, overflow: 'reject' });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('m1'));
      await outbox.append(sid, msg('m2'));
      expect(await outbox.append(sid, msg('m3'))).toEqual({ status: 'rejected' });
      expect(await seqsOf(outbox, sid)).toEqual([1, 2]);
      expect(dlq.size).toBe(0);
      expect(drops).toEqual([]);
    });

    it('drop-oldest refuses a message larger than the whole byte bound, evicting nothing', async () => {
      const { outbox, dlq, record, session } = setup({ maxBytes: 10 });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('ok'));
      expect(await outbox.append(sid, msg('x'.repeat(20)))).toEqual({ status: 'rejected' });
      expect(await seqsOf(outbox, sid)).toEqual([1]);
      expect(dlq.size).toBe(0);
      expect(drops).toEqual([]);
    });

    it('drop-oldest evicts as many as needed for the byte bound, each dead-lettered', async () => {
      const { outbox, dlq, record, session } = setup({ maxBytes: 12 });
      const drops = record('drop');
      const sid = await session();
      await outbox.append(sid, msg('aa')); // 4 bytes
      await outbox.append(sid, msg('bb'));
      await outbox.append(sid, msg('cc'));
      expect(await outbox.append(sid, msg('dddddd'))).toMatchObject({ status: 'stored', seq: 4 });
      expect(await seqsOf(outbox, sid)).toEqual([3, 4]);
      expect(dlq.list().map((e) => e.seq)).toEqual([1, 2]);
      expect(drops).toEqual([{ sid, reason: 'overflow', count: 2 }]);
    });
  });
});

describe('Outbox.ack', () => {
  it('removes acknowledged messages and emits ack', async () => {
    const { outbox, record, session, clock } = setup();
    const acks = record('ack');
    const sid = await session();
    await outbox.append(sid, msg('a'));
    clock.advance(100);
    for (const d of ['b', 'c']) await outbox.append(sid, msg(d));
    clock.advance(250);
    expect(await outbox.ack(sid, 2)).toMatchObject({ status: 'ok', acked: 2, removed: 2 });
    expect(await seqsOf(outbox, sid)).toEqual([3]);
    // Ack latency runs from the enqueue of the newest acked message (b, at 100) to the ack.
    expect(acks).toEqual([{ sid, seq: 2, removed: 2, latencyMs: 250 }]);
  });

  it('a repeated or lower ack removes nothing and emits nothing', async () => {
    const { outbox, record, session } = setup();
    const acks = record('ack');
    const sid = await session();
    for (const d of ['a', 'b']) await outbox.append(sid, msg(d));
    await outbox.ack(sid, 2);
    expect(await outbox.ack(sid, 1)).toEqual({ status: 'ok', acked: 2, removed: 0 });
    expect(acks).toHaveLength(1);
  });

  it('an ack above last is bad_ack and changes nothing', async () => {
    const { outbox, session } = setup();
    const sid = await session();
    await outbox.append(sid, msg('a'));
    expect(await outbox.ack(sid, 5)).toEqual({ status: 'bad_ack', last: 1 });
    expect(await seqsOf(outbox, sid)).toEqual([1]);
  });
});

describe('Outbox.read and resume', () => {
  it('read dead-letters messages whose TTL passed, as ttl', async () => {
    const { outbox, dlq, record, session, clock } = setup({ messageTtlMs: 1000 });
    const drops = record('drop');
    const sid = await session();
    await outbox.append(sid, msg('old1'));
    await outbox.append(sid, msg('old2'));
    clock.advance(600);
    await outbox.append(sid, msg('new'));
    clock.advance(500);
    const r = await outbox.read(sid, 0, 10);
    expect(r.status === 'ok' && r.messages.map((m) => m.seq)).toEqual([3]);
    expect(dlq.list().map((e) => [e.seq, e.reason, e.at])).toEqual([
      [1, 'ttl', 1100],
      [2, 'ttl', 1100],
    ]);
    expect(drops).toEqual([{ sid, reason: 'ttl', count: 2 }]);
  });

  it('resume dead-letters expired messages and reports the loss as missing', async () => {
    const { outbox, dlq, record, session, clock, store } = setup({ messageTtlMs: 1000 });
    const drops = record('drop');
    const sid = await session();
    await outbox.append(sid, msg('a'));
    clock.advance(600);
    await outbox.append(sid, msg('b'));
    await store.detach(sid, clock.now(), 60_000);
    clock.advance(500);
    const r = await outbox.resume(sid, `hash-${sid}`, 0, DIRECT_OWNER);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.messages.map((m) => m.seq)).toEqual([2]);
    expect(r.missing).toBe(1);
    expect(dlq.list().map((e) => [e.seq, e.reason])).toEqual([[1, 'ttl']]);
    expect(drops).toEqual([{ sid, reason: 'ttl', count: 1 }]);
  });

  it('resume with a wrong key passes bad_key through and dead-letters nothing', async () => {
    const { outbox, dlq, session } = setup();
    const sid = await session();
    expect(await outbox.resume(sid, 'wrong', 0, DIRECT_OWNER)).toEqual({ status: 'bad_key' });
    expect(dlq.size).toBe(0);
  });
});

describe('Outbox.forget', () => {
  it('deletes the session and dead-letters what it still held as session_closed', async () => {
    const { outbox, dlq, record, session, store } = setup();
    const drops = record('drop');
    const sid = await session();
    for (const d of ['a', 'b', 'c']) await outbox.append(sid, msg(d));
    await outbox.ack(sid, 1);
    expect(await outbox.forget(sid)).toBe(true);
    expect(await store.getSession(sid)).toBeUndefined();
    expect(dlq.list().map((e) => [e.seq, e.reason, e.data])).toEqual([
      [2, 'session_closed', '"b"'],
      [3, 'session_closed', '"c"'],
    ]);
    expect(drops).toEqual([{ sid, reason: 'session_closed', count: 2 }]);
  });

  it('an empty outbox dead-letters nothing; an unknown session is false', async () => {
    const { outbox, dlq, record, session } = setup();
    const drops = record('drop');
    const sid = await session();
    expect(await outbox.forget(sid)).toBe(true);
    expect(await outbox.forget(sid)).toBe(false);
    expect(dlq.size).toBe(0);
    expect(drops).toEqual([]);
  });
});

describe('Outbox.sweep', () => {
  it('dead-letters expired messages as ttl and reaped leftovers as session_reaped', async () => {
    const { outbox, dlq, record, session, store, clock } = setup({ messageTtlMs: 10_000 });
    const drops = record('drop');
    const reaps = record('reap');
    const live = await session('live');
    const gone = await session('gone');
    await outbox.append(live, msg('l1'));
    await outbox.append(live, msg('l2'));
    clock.advance(8000);
    await outbox.append(live, msg('l3'));
    await outbox.append(gone, msg('g1'));
    await outbox.append(gone, msg('g2'));
    await store.detach(gone, clock.now(), 1000);
    clock.advance(3000);

    await outbox.sweep();
    expect(await store.getSession(gone)).toBeUndefined();
    expect(await seqsOf(outbox, live)).toEqual([3]);
    expect(
      dlq
        .list()
        .map((e) => [e.sid, e.seq, e.reason])
        .sort(),
    ).toEqual([
      ['gone', 1, 'session_reaped'],
      ['gone', 2, 'session_reaped'],
      ['live', 1, 'ttl'],
      ['live', 2, 'ttl'],
    ]);
    expect(drops).toEqual(
      expect.arrayContaining([
        { sid: live, reason: 'ttl', count: 2 },
        { sid: gone, reason: 'session_reaped', count: 2 },
      ]),
    );
    expect(drops).toHaveLength(2);
    expect(reaps).toEqual([{ sid: gone, leftover: 2 }]);
  });

  it('reaps an empty detached session with a reap event and no drop', async () => {
    const { outbox, dlq, record, session, store, clock } = setup();
    const drops = record('drop');
    const reaps = record('reap');
    const sid = await session();
    await store.detach(sid, clock.now(), 0);
    clock.advance(1000);
    await outbox.sweep();
    expect(await store.getSession(sid)).toBeUndefined();
    expect(reaps).toEqual([{ sid, leftover: 0 }]);
    expect(drops).toEqual([]);
    expect(dlq.size).toBe(0);
  });

  it('leaves attached sessions and unexpired messages alone', async () => {
    const { outbox, dlq, record, session, clock } = setup({ messageTtlMs: 10_000 });
    const reaps = record('reap');
    const sid = await session();
    await outbox.append(sid, msg('a'));
    clock.advance(5000);
    await outbox.sweep();
    expect(await seqsOf(outbox, sid)).toEqual([1]);
    expect(reaps).toEqual([]);
    expect(dlq.size).toBe(0);
  });

  it('a resumed session is not reaped', async () => {
    const { outbox, record, session, store, clock } = setup();
    const reaps = record('reap');
    const sid = await session();
    await store.detach(sid, clock.now(), 1000);
    clock.advance(500);
    await outbox.resume(sid, `hash-${sid}`, 0, DIRECT_OWNER);
    clock.advance(5000);
    await outbox.sweep();
    expect(reaps).toEqual([]);
    expect((await store.getSession(sid))?.attached).toBe(true);
  });
});

describe('Outbox.appendNow', () => {
  it('is available over the memory store, not over a store without appendNow', () => {
    const { outbox, store, dlq, events, clock } = setup();
    expect(outbox.canAppendNow).toBe(true);
    const bare: Store = new Proxy(store, {
      get: (target, prop) =>
        prop === 'appendNow' ? undefined : (Reflect.get(target, prop) as unknown),
    });
    const async = new Outbox(bare, DEFAULT_LIMITS, dlq, events, clock);
    expect(async.canAppendNow).toBe(false);
    expect(() => async.appendNow('s1', msg('x'))).toThrow(
      expect.objectContaining({ code: 'store_not_synchronous' }),
    );
  });

  /** Every kind of outcome through `append` or `appendNow`: everything the caller sees. */
  async function scenario(overflow: OverflowPolicy, sync: boolean) {
    const { outbox, record, session, dlq, clock } = setup({ maxMessages: 3, overflow });
    const events = {
      send: record('send'),
      drop: record('drop'),
      duplicateSend: record('duplicateSend'),
      timings: record('sendTiming'),
    };
    const sid = await session();
    const append = async (m: NewMessage, rejectWhenFull = false): Promise<AppendOutcome> =>
      sync ? outbox.appendNow(sid, m, rejectWhenFull) : outbox.append(sid, m, rejectWhenFull);
    const outcomes: AppendOutcome[] = [];
    // More appends than SEND_TIMING_EVERY, so that both paths take a timing sample.
    for (let i = 0; i < SEND_TIMING_EVERY + 24; i++) {
      clock.advance(1);
      outcomes.push(await append(msg(i % 5 === 0 ? 'same' : i, i % 5 === 0 ? { id: 'i' } : {})));
    }
    outcomes.push(await append(msg('refuse me'), true));
    outcomes.push(await append(msg('x'.repeat(DEFAULT_LIMITS.maxBytes + 1))));
    const unknown = sync
      ? outbox.appendNow('nope', msg('x'))
      : await outbox.append('nope', msg('x'));
    return {
      outcomes,
      unknown,
      events: { ...events, timings: events.timings.length },
      totals: outbox.totals,
      seqs: await seqsOf(outbox, sid),
      deadLetters: dlq.list().map((d) => [d.reason, d.data, d.seq, d.at]),
    };
  }

  for (const overflow of ['drop-oldest', 'drop-newest', 'reject', 'disconnect'] as const) {
    it(`gives the outcomes, events, counts and dead letters of append (${overflow})`, async () => {
      const expected = await scenario(overflow, false);
      expect(await scenario(overflow, true)).toEqual(expected);
      if (overflow === 'drop-oldest') expect(expected.events.timings).toBeGreaterThan(0);
    });
  }
});

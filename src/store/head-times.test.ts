import { describe, expect, it } from 'vitest';
import { HeadTimes } from './head-times.js';
import { DEFAULT_LIMITS } from './limits.js';
import { MemoryStore } from './memory-store.js';

const KEY = 'k'.repeat(64);
const T0 = 1_700_000_000_000;

describe('HeadTimes', () => {
  it('reads the oldest head, Infinity slots as empty, and reuses released slots', () => {
    const h = new HeadTimes();
    expect(h.oldest()).toBeUndefined();
    const a = h.alloc();
    const b = h.alloc();
    h.set(a, 50);
    h.set(b, 20);
    expect(h.oldest()).toBe(20);
    h.release(b);
    expect(h.oldest()).toBe(50);
    expect(h.alloc()).toBe(b);
    expect(h.live).toBe(2);
  });

  it('grows past its first 1024 slots and keeps what they hold', () => {
    const h = new HeadTimes();
    const slots = Array.from({ length: 3000 }, () => h.alloc());
    slots.forEach((s, i) => h.set(s, 10_000 - i));
    expect(h.oldest()).toBe(10_000 - 2999);
    expect(h.live).toBe(3000);
    expect(h.capacity).toBe(4096);
  });

  it('starts over at its first size once the last slot is released (memory back to baseline)', () => {
    const h = new HeadTimes();
    const slots = Array.from({ length: 3000 }, () => h.alloc());
    for (const s of slots.slice(1)) h.release(s);
    expect(h.capacity).toBe(4096);
    h.release(slots[0]!);
    expect(h.capacity).toBe(1024);
    expect(h.live).toBe(0);
    expect(h.oldest()).toBeUndefined();
    expect(h.alloc()).toBe(0);
  });
});

/**
 * The memory store's `oldestAt` against a model of what it holds: random appends, acks,
 * expiries (TTL) and ended sessions; after every step the store's figure must be the oldest
 * retained message's enqueue time, exactly.
 */
describe('MemoryStore oldestAt follows every change of an outbox head', () => {
  it('matches a model over 3000 random steps', async () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const TTL = 5_000;
    const store = new MemoryStore({
      limits: { ...DEFAULT_LIMITS, messageTtlMs: TTL, maxMessages: 8, overflow: 'drop-oldest' },
    });
    // Model: per session, the retained (seq, at) in order.
    const model = new Map<string, Array<{ seq: number; at: number }>>();
    let now = T0;
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      now += 1 + rnd(40);
      const op = rnd(10);
      const sids = [...model.keys()];
      if (op === 0 || sids.length === 0) {
        const sid = `s${next++}`;
        await store.createSession({ sid, keyHash: KEY, now });
        model.set(sid, []);
      } else {
        const sid = sids[rnd(sids.length)]!;
        const held = model.get(sid)!;
        if (op <= 5) {
          const r = await store.append(sid, { data: '1', bytes: 1 }, now);
          if (!('seq' in r)) throw new Error(`append refused: ${JSON.stringify(r)}`);
          held.push({ seq: r.seq, at: now });
          // drop-oldest at 8
          while (held.length > 8) held.shift();
        } else if (op <= 7 && held.length > 0) {
          const upTo = held[rnd(held.length)]!.seq;
          await store.ack(sid, upTo, now);
          model.set(
            sid,
            held.filter((m) => m.seq > upTo),
          );
        } else if (op === 8) {
          await store.deleteSession(sid);
          model.delete(sid);
        } else {
          // Expiry: the sweep removes what reached its TTL.
          await store.sweep(now);
          for (const [s, list] of model)
            model.set(
              s,
              list.filter((m) => m.at + TTL > now),
            );
        }
      }
      const all = [...model.values()].flat();
      const expected = all.length === 0 ? undefined : Math.min(...all.map((m) => m.at));
      const st = await store.stats();
      // White box: one head slot per session with an outbox, none leaked by ended ones.
      const heads = (store as unknown as { totals: { heads: HeadTimes } }).totals.heads;
      expect(heads.live).toBeLessThanOrEqual(model.size);
      expect({ step, oldestAt: st.oldestAt, messages: st.messages }).toEqual({
        step,
        oldestAt: expected,
        messages: all.length,
      });
    }
  });
});

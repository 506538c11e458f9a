import { describe, expect, it } from 'vitest';
import { SessionOutbox, type OutboxTotals } from './session-outbox.js';
import type { StoredMessage } from './store.js';

const message = (seq: number, extra: { key?: string; expiresAt?: number } = {}): StoredMessage => ({
  seq,
  data: `m${seq}`,
  bytes: 10,
  enqueuedAt: 0,
  expiresAt: extra.expiresAt ?? 1000,
  ...(extra.key === undefined ? {} : { key: extra.key }),
});
const seqs = (ms: StoredMessage[]) => ms.map((m) => m.seq);

function filled(n: number, totals: OutboxTotals = { messages: 0, bytes: 0 }) {
  const outbox = new SessionOutbox(totals);
  for (let seq = 1; seq <= n; seq++) outbox.push(message(seq, { expiresAt: seq * 10 }));
  return outbox;
}

describe('SessionOutbox', () => {
  it('reads after a seq with a limit by binary search', () => {
    const outbox = filled(100);
    expect(seqs(outbox.after(41, 3))).toEqual([42, 43, 44]);
    expect(seqs(outbox.after(98, 10))).toEqual([99, 100]);
    expect(outbox.after(100, 10)).toEqual([]);
    expect(outbox.after(0, 0)).toEqual([]);
  });

  it('keeps its own and the shared totals through every removal', () => {
    const totals = { messages: 0, bytes: 0 };
    const outbox = filled(10, totals);
    const other = filled(2, totals);
    expect(totals).toEqual({ messages: 12, bytes: 120 });
    expect(outbox.removeThrough(3)).toBe(3);
    expect(seqs(outbox.removeExpired(50))).toEqual([4, 5]);
    expect(outbox.shift()?.seq).toBe(6);
    expect(outbox.remove(message(8))).toBe(true);
    expect(outbox.remove(message(8))).toBe(false);
    expect(outbox).toMatchObject({ count: 3, bytes: 30 });
    expect(seqs(outbox.after(0, 10))).toEqual([7, 9, 10]);
    expect(seqs(other.clear())).toEqual([1, 2]);
    expect(totals).toEqual({ messages: 3, bytes: 30 });
  });

  it('finds the retained message for a key and forgets it once removed', () => {
    const outbox = new SessionOutbox({ messages: 0, bytes: 0 });
    outbox.push(message(1, { key: 'k' }));
    outbox.push(message(2));
    expect(outbox.keyed('k')?.seq).toBe(1);
    outbox.push(message(3, { key: 'k' }));
    outbox.remove(message(1, { key: 'k' }));
    expect(outbox.keyed('k')?.seq).toBe(3);
    outbox.removeThrough(3);
    expect(outbox.keyed('k')).toBeUndefined();
  });

  it('stays correct while its dead prefix is compacted away', () => {
    const outbox = new SessionOutbox({ messages: 0, bytes: 0 });
    let next = 1;
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 50; i++) outbox.push(message(next++));
      outbox.removeThrough(next - 11);
      expect(outbox.count).toBe(10);
      expect(outbox.first()?.seq).toBe(next - 10);
      expect(seqs(outbox.after(next - 3, 5))).toEqual([next - 2, next - 1]);
    }
  });
});

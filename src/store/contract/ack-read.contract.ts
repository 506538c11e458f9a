/**
 * Store contract: Cumulative acks and reads.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { T0, TTL, msg, seqs, is, type ContractContext } from './support.contract.js';

export function ackReadContract(c: ContractContext): void {
  const { open, session, appendAll } = c;
  c.describe('ack', (test) => {
    test('trims everything up to the ack', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['a', 'b'], T0);
      await appendAll(store, sid, ['c', 'd'], T0 + 7);
      // newestEnqueuedAt: the enqueue time of the newest removed message (ack latency).
      expect(await store.ack(sid, 2, T0 + 9)).toEqual({
        status: 'ok',
        acked: 2,
        removed: 2,
        newestEnqueuedAt: T0,
      });
      expect(await store.ack(sid, 3, T0 + 9)).toMatchObject({
        removed: 1,
        newestEnqueuedAt: T0 + 7,
      });
      const read = is(await store.read(sid, 0, 10, T0), 'ok');
      expect(seqs(read.messages)).toEqual([4]);
      expect(await store.getSession(sid)).toMatchObject({ acked: 3, depth: 1, bytes: 1 });
    });

    test('is cumulative: an ack at or below the current one is a no-op', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['a', 'b', 'c']);
      await store.ack(sid, 2, T0);
      expect(await store.ack(sid, 1, T0)).toEqual({ status: 'ok', acked: 2, removed: 0 });
      expect(await store.ack(sid, 2, T0)).toEqual({ status: 'ok', acked: 2, removed: 0 });
      expect(await store.getSession(sid)).toMatchObject({ acked: 2, depth: 1 });
    });

    test('refuses an ack above last and changes nothing', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['a', 'b']);
      expect(await store.ack(sid, 3, T0)).toEqual({ status: 'bad_ack', last: 2 });
      expect(await store.getSession(sid)).toMatchObject({ acked: 0, depth: 2 });
    });
  });

  c.describe('read', (test) => {
    test('returns up to limit messages after a seq, in order, without removing them', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['a', 'b', 'c', 'd', 'e']);
      const first = is(await store.read(sid, 2, 2, T0), 'ok');
      expect(seqs(first.messages)).toEqual([3, 4]);
      expect(first).toMatchObject({ last: 5, expired: [] });
      expect(seqs(is(await store.read(sid, 0, 100, T0), 'ok').messages)).toEqual([1, 2, 3, 4, 5]);
      expect(is(await store.read(sid, 5, 10, T0), 'ok').messages).toEqual([]);
      expect(is(await store.read(sid, 0, 0, T0), 'ok').messages).toEqual([]);
    });

    test('reports the highest lost seq above the ack (lostTo), not superseded ones', async () => {
      const store = await open({ maxMessages: 3 });
      const sid = await session(store);
      // A keyed replacement leaves a hole that is not a loss.
      await appendAll(store, sid, ['a']);
      await store.append(sid, msg('k1', { key: 'k' }), T0);
      await store.append(sid, msg('k2', { key: 'k' }), T0);
      expect(is(await store.read(sid, 0, 10, T0), 'ok')).toMatchObject({ lostTo: 0 });
      // Overflow evicts seq 1 (drop-oldest): a loss.
      await appendAll(store, sid, ['b', 'c']);
      const afterEviction = is(await store.read(sid, 0, 10, T0), 'ok');
      expect(seqs(afterEviction.messages)).toEqual([3, 4, 5]);
      expect(afterEviction.lostTo).toBe(1);
      // Expiry found by the read itself counts at once.
      const late = is(await store.read(sid, 0, 10, T0 + TTL + 1), 'ok');
      expect(seqs(late.expired)).toEqual([3, 4, 5]);
      expect(late.lostTo).toBe(5);
      // An ack past the losses forgets them.
      await store.ack(sid, 5, T0 + TTL + 1);
      expect(is(await store.read(sid, 0, 10, T0 + TTL + 1), 'ok').lostTo).toBe(0);
    });
  });
}

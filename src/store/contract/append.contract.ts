/**
 * Store contract: Append: seq assignment, call order, stored fields, outbound idempotency ids.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { T0, TTL, WINDOW, msg, is, storedSeq, type ContractContext } from './support.contract.js';

export function appendContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('append', (test) => {
    test('assigns seq 1, 2, 3 per session, independently across sessions', async () => {
      const store = await open();
      const a = await session(store);
      const b = await session(store);
      expect(storedSeq(await store.append(a, msg('a1'), T0))).toBe(1);
      expect(storedSeq(await store.append(a, msg('a2'), T0))).toBe(2);
      expect(storedSeq(await store.append(b, msg('b1'), T0))).toBe(1);
      expect(storedSeq(await store.append(a, msg('a3'), T0))).toBe(3);
      expect(await store.getSession(a)).toMatchObject({ last: 3, depth: 3 });
      expect(await store.getSession(b)).toMatchObject({ last: 1, depth: 1 });
    });

    test('applies calls in call order without waiting for each', async () => {
      const store = await open({ maxMessages: 50 });
      const sid = await session(store);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.append(sid, msg(`m${i}`), T0 + i)),
      );
      expect(results.map(storedSeq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const read = is(await store.read(sid, 0, 100, T0 + 20), 'ok');
      expect(read.messages.map((m) => m.data)).toEqual(results.map((_, i) => `m${i}`));
    });

    test('stores the data as given, with its TTL from the first enqueue', async () => {
      const store = await open();
      const sid = await session(store);
      await store.append(sid, msg('{"n":1}', { id: 'i1', key: 'k1' }), T0 + 5);
      const read = is(await store.read(sid, 0, 10, T0 + 6), 'ok');
      expect(read.messages).toEqual([
        {
          seq: 1,
          data: '{"n":1}',
          bytes: 7,
          id: 'i1',
          key: 'k1',
          enqueuedAt: T0 + 5,
          expiresAt: T0 + 5 + TTL,
        },
      ]);
      expect(read.last).toBe(1);
      expect(await store.getSession(sid)).toMatchObject({ depth: 1, bytes: 7, oldestAt: T0 + 5 });
    });
  });

  c.describe('outbound idempotency', (test) => {
    test('returns the original seq for a repeated id within the window', async () => {
      const store = await open();
      const sid = await session(store);
      expect(storedSeq(await store.append(sid, msg('a', { id: 'op-1' }), T0))).toBe(1);
      expect(storedSeq(await store.append(sid, msg('b'), T0))).toBe(2);
      expect(await store.append(sid, msg('a', { id: 'op-1' }), T0 + WINDOW - 1)).toEqual({
        status: 'duplicate',
        seq: 1,
      });
      await store.ack(sid, 2, T0);
      expect(await store.append(sid, msg('a', { id: 'op-1' }), T0 + 1)).toEqual({
        status: 'duplicate',
        seq: 1,
      });
      expect(await store.getSession(sid)).toMatchObject({ last: 2 });
    });

    test('forgets an id after the window', async () => {
      const store = await open();
      const sid = await session(store);
      await store.append(sid, msg('a', { id: 'op-1' }), T0);
      expect(storedSeq(await store.append(sid, msg('a', { id: 'op-1' }), T0 + WINDOW))).toBe(2);
    });

    test('records the id only of a message it stored', async () => {
      const store = await open({ maxMessages: 1, overflow: 'reject' });
      const sid = await session(store);
      await store.append(sid, msg('1'), T0);
      expect(await store.append(sid, msg('2', { id: 'op-2' }), T0)).toEqual({ status: 'full' });
      await store.ack(sid, 1, T0);
      expect(storedSeq(await store.append(sid, msg('2', { id: 'op-2' }), T0))).toBe(2);
    });
  });
}

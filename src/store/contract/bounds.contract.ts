/**
 * Store contract: Outbox bounds: count, bytes, overflow policies, keyed supersede.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { T0, msg, sized, seqs, is, storedSeq, type ContractContext } from './support.contract.js';

export function boundsContract(c: ContractContext): void {
  const { open, session, appendAll } = c;
  c.describe('bounds', (test) => {
    test('drop-oldest evicts from the head and reports what it dropped', async () => {
      const store = await open({ maxMessages: 3 });
      const sid = await session(store);
      await appendAll(store, sid, ['1', '2', '3']);
      const r = is(await store.append(sid, msg('4'), T0), 'stored');
      expect(r.seq).toBe(4);
      expect(seqs(r.dropped)).toEqual([1]);
      expect(r.superseded).toBeUndefined();
      expect(await store.getSession(sid)).toMatchObject({ depth: 3, last: 4 });
    });

    for (const overflow of ['drop-newest', 'reject', 'disconnect'] as const) {
      test(`${overflow} refuses a message that does not fit and consumes no seq`, async () => {
        const store = await open({ maxMessages: 2, overflow });
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2']);
        expect(await store.append(sid, msg('3'), T0)).toEqual({ status: 'full' });
        expect(await store.getSession(sid)).toMatchObject({ depth: 2, last: 2 });
        await store.ack(sid, 1, T0);
        expect(storedSeq(await store.append(sid, msg('3'), T0))).toBe(3);
      });
    }

    test('bounds bytes as well as count', async () => {
      const store = await open({ maxBytes: 100 });
      const sid = await session(store);
      await store.append(sid, sized(40), T0);
      await store.append(sid, sized(40), T0);
      const r = is(await store.append(sid, sized(90), T0), 'stored');
      expect(seqs(r.dropped)).toEqual([1, 2]);
      expect(await store.getSession(sid)).toMatchObject({ depth: 1, bytes: 90 });

      const strict = await open({ maxBytes: 100, overflow: 'reject' });
      const other = await session(strict);
      await strict.append(other, sized(60), T0);
      expect(await strict.append(other, sized(41), T0)).toEqual({ status: 'full' });
      expect(storedSeq(await strict.append(other, sized(40), T0))).toBe(2);
    });

    test('refuses a single message larger than the byte bound without evicting', async () => {
      const store = await open({ maxBytes: 100 });
      const sid = await session(store);
      await store.append(sid, sized(10), T0);
      expect(await store.append(sid, sized(101), T0)).toEqual({ status: 'full' });
      expect(await store.getSession(sid)).toMatchObject({ depth: 1, last: 1, bytes: 10 });
      expect(storedSeq(await store.append(sid, sized(100), T0))).toBe(2);
    });

    test('lets a keyed message replace its predecessor in a full outbox', async () => {
      const store = await open({ maxMessages: 2, overflow: 'reject' });
      const sid = await session(store);
      await store.append(sid, msg('1'), T0);
      await store.append(sid, msg('p1', { key: 'k' }), T0);
      const r = is(await store.append(sid, msg('p2', { key: 'k' }), T0), 'stored');
      expect(r).toMatchObject({ seq: 3, dropped: [] });
      expect(r.superseded?.seq).toBe(2);
      expect(await store.append(sid, msg('x'), T0)).toEqual({ status: 'full' });
    });
  });
}

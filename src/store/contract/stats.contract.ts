/**
 * Store contract: Stats and the topSessions ranking.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { T0, OWNER, sized, type ContractContext } from './support.contract.js';

export function statsContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('stats', (test) => {
    test('counts sessions, attachment, messages and bytes', async () => {
      const store = await open();
      expect(await store.stats()).toEqual({
        sessions: 0,
        attached: 0,
        detached: 0,
        messages: 0,
        bytes: 0,
      });
      const a = await session(store);
      const b = await session(store);
      await store.append(a, sized(10), T0);
      await store.append(a, sized(20), T0);
      await store.append(b, sized(5), T0);
      await store.detach(b, T0, 1000, OWNER);
      expect(await store.stats()).toEqual({
        sessions: 2,
        attached: 1,
        detached: 1,
        messages: 3,
        bytes: 35,
        oldestAt: T0,
      });
      await store.ack(a, 1, T0);
      await store.sweep(T0 + 1000);
      expect(await store.stats()).toEqual({
        sessions: 1,
        attached: 1,
        detached: 0,
        messages: 1,
        bytes: 20,
        oldestAt: T0,
      });
      await store.ack(a, 2, T0 + 1000);
      expect(await store.stats()).not.toHaveProperty('oldestAt');
    });

    test('reports the oldest retained message across sessions', async () => {
      const store = await open();
      const a = await session(store);
      const b = await session(store);
      await store.append(a, sized(1), T0 + 50);
      await store.append(b, sized(1), T0 + 20);
      await store.append(b, sized(1), T0 + 60);
      expect(await store.stats()).toMatchObject({ oldestAt: T0 + 20 });
      await store.ack(b, 1, T0 + 70);
      expect(await store.stats()).toMatchObject({ oldestAt: T0 + 50 });
    });
  });

  c.describe('topSessions', (test) => {
    test('ranks by outbox depth (ties by bytes), at most limit, without key material', async () => {
      const store = await open();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await session(store));
      const depths = [3, 0, 5, 1, 5, 2];
      for (const [i, d] of depths.entries())
        for (let k = 0; k < d; k++) await store.append(ids[i]!, sized(i === 4 ? 9 : 1), T0);
      const top = await store.topSessions(3, 'depth');
      expect(top.map((r) => r.sid)).toEqual([ids[4], ids[2], ids[0]]);
      expect(top.map((r) => r.depth)).toEqual([5, 5, 3]);
      expect(await store.topSessions(0, 'depth')).toEqual([]);
      expect(await store.topSessions(100, 'depth')).toHaveLength(6);
    });

    test('ranks by the age of the oldest retained message and skips empty outboxes', async () => {
      const store = await open();
      const a = await session(store);
      const b = await session(store);
      const c = await session(store);
      await session(store);
      await store.append(a, sized(1), T0 + 30);
      await store.append(b, sized(1), T0 + 10);
      await store.append(c, sized(1), T0 + 20);
      const top = await store.topSessions(10, 'age');
      expect(top.map((r) => r.sid)).toEqual([b, c, a]);
      expect(top.map((r) => r.oldestAt)).toEqual([T0 + 10, T0 + 20, T0 + 30]);
    });
  });
}

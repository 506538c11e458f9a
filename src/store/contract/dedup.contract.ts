/**
 * Store contract: Inbound dedup: client message claims (pending, done), results.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import type { Store } from '../store.js';
import { T0, WINDOW, OWNER, NEXT_OWNER, type ContractContext } from './support.contract.js';

export function dedupContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('inbound dedup', (test) => {
    const claim = (store: Store, sid: string, id: string, now: number, owner = OWNER) =>
      store.claimClientMessage(sid, id, now, owner);

    test('claims an id once per window, per session', async () => {
      const store = await open();
      const a = await session(store);
      const b = await session(store);
      expect(await claim(store, a, 'c1', T0)).toBe('new');
      await store.completeClientMessage(a, 'c1');
      expect(await claim(store, a, 'c1', T0 + WINDOW - 1)).toBe('duplicate');
      expect(await claim(store, b, 'c1', T0)).toBe('new');
      expect(await claim(store, a, 'c1', T0 + WINDOW)).toBe('new');
    });

    test('answers in_progress while a claim is pending, duplicate once it is done', async () => {
      const store = await open();
      const sid = await session(store);
      expect(await claim(store, sid, 'c1', T0)).toBe('new');
      expect(await claim(store, sid, 'c1', T0 + 1)).toBe('in_progress');
      // Another node's retry of a message whose handler still runs (or whose node died).
      expect(await claim(store, sid, 'c1', T0 + 2, NEXT_OWNER)).toBe('in_progress');
      await store.completeClientMessage(sid, 'c1'); // done without a result
      expect(await claim(store, sid, 'c1', T0 + 3)).toBe('duplicate');
      expect(await claim(store, sid, 'c1', T0 + 3, NEXT_OWNER)).toBe('duplicate');
      expect(await store.clientMessageResult(sid, 'c1', T0 + 3)).toBeUndefined();
    });

    test('a pending claim older than the window is not a duplicate any more', async () => {
      const store = await open();
      const sid = await session(store);
      expect(await claim(store, sid, 'c1', T0)).toBe('new');
      expect(await claim(store, sid, 'c1', T0 + WINDOW - 1, NEXT_OWNER)).toBe('in_progress');
      expect(await claim(store, sid, 'c1', T0 + WINDOW, NEXT_OWNER)).toBe('new');
      expect(await claim(store, sid, 'c1', T0 + WINDOW + 1)).toBe('in_progress');
    });

    test('forgets a released id, pending or done, so that a retry is handled again', async () => {
      const store = await open();
      const sid = await session(store);
      expect(await claim(store, sid, 'c1', T0)).toBe('new');
      await store.releaseClientMessage(sid, 'c1');
      expect(await claim(store, sid, 'c1', T0 + 1)).toBe('new');
      expect(await claim(store, sid, 'c1', T0 + 2)).toBe('in_progress');
      await store.completeClientMessage(sid, 'c1');
      await store.releaseClientMessage(sid, 'c1');
      expect(await claim(store, sid, 'c1', T0 + 3)).toBe('new');
      await store.releaseClientMessage('nope', 'c1');
    });

    test('completing an id that is no longer claimed claims nothing', async () => {
      const store = await open();
      const sid = await session(store);
      await claim(store, sid, 'c1', T0);
      await store.releaseClientMessage(sid, 'c1');
      await store.completeClientMessage(sid, 'c1', '"late"');
      await store.completeClientMessage(sid, 'never-claimed', '"x"');
      expect(await store.clientMessageResult(sid, 'c1', T0 + 1)).toBeUndefined();
      expect(await claim(store, sid, 'c1', T0 + 1)).toBe('new');
      expect(await claim(store, sid, 'never-claimed', T0 + 1)).toBe('new');
    });

    test('keeps a handler result for duplicates, within the window and the result budget', async () => {
      const store = await open({ dedupResultBudget: 10 });
      const sid = await session(store);
      expect(await claim(store, sid, 'c1', T0)).toBe('new');
      expect(await store.clientMessageResult(sid, 'c1', T0)).toBeUndefined();
      await store.completeClientMessage(sid, 'c1', '{"a":1}');
      expect(await store.clientMessageResult(sid, 'c1', T0 + 1)).toBe('{"a":1}');
      // Over the budget: the oldest result goes, its id stays done.
      await claim(store, sid, 'c2', T0 + 2);
      await store.completeClientMessage(sid, 'c2', '"abcdef"');
      expect(await store.clientMessageResult(sid, 'c1', T0 + 3)).toBeUndefined();
      expect(await store.clientMessageResult(sid, 'c2', T0 + 3)).toBe('"abcdef"');
      expect(await claim(store, sid, 'c1', T0 + 3)).toBe('duplicate');
      // A result larger than the whole budget is not kept; the id is done all the same.
      await claim(store, sid, 'c3', T0 + 4);
      await store.completeClientMessage(sid, 'c3', '"0123456789"');
      expect(await store.clientMessageResult(sid, 'c3', T0 + 5)).toBeUndefined();
      expect(await claim(store, sid, 'c3', T0 + 5)).toBe('duplicate');
      // Past the window the result is gone with the id.
      expect(await store.clientMessageResult(sid, 'c2', T0 + 2 + WINDOW)).toBeUndefined();
    });

    test('an id claimed again after its window does not keep the earlier result', async () => {
      const store = await open();
      const sid = await session(store);
      await claim(store, sid, 'c1', T0);
      await store.completeClientMessage(sid, 'c1', '"first"');
      expect(await claim(store, sid, 'c1', T0 + WINDOW)).toBe('new');
      expect(await store.clientMessageResult(sid, 'c1', T0 + WINDOW + 1)).toBeUndefined();
    });

    test('a released id loses its result', async () => {
      const store = await open();
      const sid = await session(store);
      await claim(store, sid, 'c1', T0);
      await store.completeClientMessage(sid, 'c1', '1');
      await store.releaseClientMessage(sid, 'c1');
      expect(await store.clientMessageResult(sid, 'c1', T0)).toBeUndefined();
      expect(await store.clientMessageResult('nope', 'c1', T0)).toBeUndefined();
      await store.completeClientMessage('nope', 'c1', '1');
      await store.completeClientMessage('nope', 'c1');
    });
  });
}

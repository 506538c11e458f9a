/**
 * Store contract: `sessionIdPages`, the cursor over every live session (broadcast): bounded
 * pages, each live session once, sessions created or deleted meanwhile never breaking it.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { isRwsError } from '../../errors.js';
import { allIds, OWNER, T0, type ContractContext } from './support.contract.js';

export function sessionIdsContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('sessionIdPages', (test) => {
    test('lists nothing for an empty store', async () => {
      const store = await open();
      expect(await allIds(store, 1)).toEqual([]);
      expect(await allIds(store, 1000)).toEqual([]);
    });

    test('lists every live session exactly once, in pages of at most pageSize', async () => {
      const store = await open();
      const sids: string[] = [];
      for (let i = 0; i < 11; i++) sids.push(await session(store));
      for (const pageSize of [1, 3, 4, 11, 12, 1000]) {
        const pages: string[][] = [];
        for await (const page of store.sessionIdPages(pageSize)) pages.push(page);
        expect(pages.every((p) => p.length <= pageSize)).toBe(true);
        // Bounded pages and no more of them than the ids need (a cursor, not a trickle).
        expect(pages.length).toBeLessThanOrEqual(Math.ceil(11 / pageSize) + 1);
        const ids = pages.flat();
        expect(ids.length).toBe(11);
        expect([...ids].sort()).toEqual([...sids].sort());
      }
    });

    test('survives sessions created and deleted during the iteration', async () => {
      const store = await open();
      const sids: string[] = [];
      for (let i = 0; i < 30; i++) sids.push(await session(store));
      const seen: string[] = [];
      const created: string[] = [];
      const deleted = new Set<string>();
      let round = 0;
      for await (const page of store.sessionIdPages(3)) {
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...page);
        if (round++ >= 3) continue;
        // Delete one already listed and one not listed yet; create two; reap one.
        const listed = sids.find((sid) => seen.includes(sid) && !deleted.has(sid));
        // The last of those not listed yet: the next ones must still be listed (an offset
        // cursor would skip one after the listed one is deleted).
        const unlisted = sids.filter((sid) => !seen.includes(sid) && !deleted.has(sid)).at(-1);
        for (const sid of [listed, unlisted]) {
          if (sid === undefined) continue;
          await store.deleteSession(sid);
          deleted.add(sid);
        }
        created.push(await session(store), await session(store));
        const reaped = sids.filter((sid) => !deleted.has(sid) && !seen.includes(sid)).at(-1);
        if (reaped !== undefined) {
          await store.detach(reaped, T0, 0, OWNER);
          await store.sweep(T0);
          deleted.add(reaped);
        }
      }
      expect(new Set(seen).size).toBe(seen.length);
      // Every session live throughout is listed; nothing listed was never a session.
      for (const sid of sids) if (!deleted.has(sid)) expect(seen).toContain(sid);
      for (const sid of seen) expect([...sids, ...created]).toContain(sid);
      // Afterwards, a new iteration lists exactly the live sessions.
      const live = [...sids.filter((sid) => !deleted.has(sid)), ...created];
      expect((await allIds(store, 5)).sort()).toEqual(live.sort());
    });

    test('refuses a page size below 1 or not an integer, with bad_page_size', async () => {
      const store = await open();
      await session(store);
      for (const pageSize of [0, -1, 1.5, Number.NaN]) {
        const error: unknown = await allIds(store, pageSize).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRwsError(error) && error.code).toBe('bad_page_size');
      }
    });
  });
}

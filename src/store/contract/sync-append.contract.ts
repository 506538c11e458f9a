/**
 * Store contract: the `SyncAppend` capability. A store that answers at once implements
 * `appendNow` (the send path's fast path); it must be `append` without the promise. A store
 * without it runs one test instead ("is absent, and append alone stores"), so nothing is
 * skipped either way. Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { isRwsError } from '../../errors.js';
import type { OutboxLimits } from '../limits.js';
import {
  hasSyncAppend,
  type AppendResult,
  type NewMessage,
  type Store,
  type SyncAppend,
} from '../store.js';
import { msg, sized, storedSeq, T0, type ContractContext } from './support.contract.js';

type Append = (sid: string, message: NewMessage, now: number) => Promise<AppendResult>;

export function syncAppendContract(c: ContractContext): void {
  const { open, session } = c;

  async function openSync(limits: Partial<OutboxLimits> = {}): Promise<Store & SyncAppend> {
    const store = await open(limits);
    if (!hasSyncAppend(store)) throw new Error('the store stopped implementing SyncAppend');
    return store;
  }

  /** Every kind of append result, then what the store holds, through `append` or `appendNow`. */
  async function scenario(limits: Partial<OutboxLimits>, via: 'append' | 'appendNow') {
    const store = await openSync(limits);
    const sid = await session(store);
    const add: Append =
      via === 'append'
        ? store.append.bind(store)
        : (s, m, now) => Promise.resolve(store.appendNow(s, m, now));
    const results: AppendResult[] = [];
    const steps: [NewMessage, number][] = [
      [msg('a', { id: 'i1' }), T0],
      [msg('a', { id: 'i1' }), T0 + 1], // duplicate
      [msg('p1', { key: 'k' }), T0 + 2],
      [msg('p2', { key: 'k', id: 'i2' }), T0 + 3], // supersedes p1
      [msg('b'), T0 + 4],
      [msg('c'), T0 + 5],
      [msg('d'), T0 + 6],
      [msg('e'), T0 + 7], // the sixth: full (drop-oldest evicts, reject refuses)
      [sized(2000), T0 + 8], // larger than the byte bound: full under every policy
    ];
    for (const [m, now] of steps) results.push(await add(sid, m, now));
    results.push(await add('nope', msg('x'), T0 + 9));
    const read = await store.read(sid, 0, 100, T0 + 10);
    const { sid: _sid, epoch: _epoch, ...record } = (await store.getSession(sid))!;
    return { results, read, record };
  }

  c.describe('appendNow (SyncAppend)', async (test) => {
    const sync = await c.probe((store) => hasSyncAppend(store));
    if (!sync) {
      // A capability, not part of the contract: a store without it is checked for what the
      // send path relies on instead (no `appendNow`, so every send takes the async path),
      // rather than reported as skipped.
      test('is absent, and append alone stores (the send path takes the async path)', async () => {
        const store = await c.open();
        expect(hasSyncAppend(store)).toBe(false);
        const sid = await session(store);
        expect(storedSeq(await store.append(sid, msg('1'), T0))).toBe(1);
      });
      return;
    }

    for (const overflow of ['drop-oldest', 'reject'] as const) {
      test(`gives what append gives, with the same effect (${overflow})`, async () => {
        const expected = await scenario({ overflow }, 'append');
        const actual = await scenario({ overflow }, 'appendNow');
        expect(actual).toEqual(expected);
        expect(actual.results.map((r) => r.status)).toContain('duplicate');
        expect(actual.results.map((r) => r.status)).toContain('full');
      });
    }

    test('takes effect in call order with append', async () => {
      const store = await openSync();
      const sid = await session(store);
      const first = store.append(sid, msg('1'), T0);
      const second = store.appendNow(sid, msg('2'), T0);
      const third = store.append(sid, msg('3'), T0);
      expect([storedSeq(await first), storedSeq(second), storedSeq(await third)]).toEqual([
        1, 2, 3,
      ]);
    });

    test('throws store_closed once closed', async () => {
      const store = await openSync();
      const sid = await session(store);
      await store.close();
      let error: unknown;
      try {
        store.appendNow(sid, msg('x'), T0);
      } catch (e) {
        error = e;
      }
      expect(isRwsError(error) && error.code).toBe('store_closed');
    });
  });
}

/**
 * Store contract: Close and ping.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { isRwsError } from '../../errors.js';
import { allIds, T0, KEY, OWNER, msg, type ContractContext } from './support.contract.js';

export function closeContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('close', (test) => {
    test('answers ping while open and rejects every call once closed', async () => {
      const store = await open();
      const sid = await session(store);
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      const calls: (() => Promise<unknown>)[] = [
        () => store.ping(),
        () => store.createSession({ sid: 'late', keyHash: KEY, now: T0, owner: OWNER }),
        () => store.append(sid, msg('x'), T0),
        () => store.resume(sid, KEY, 0, T0, OWNER),
        () => store.sweep(T0),
        () => store.stats(),
        () => store.topSessions(10, 'depth'),
        () => allIds(store),
      ];
      for (const call of calls) {
        const error: unknown = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRwsError(error) && error.code).toBe('store_closed');
      }
    });
  });
}

/**
 * Store contract: Users: a session's user and claims, the index of each user's live sessions
 * (kept through create, delete and reap), and resumes that name another user.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  T0,
  KEY,
  OTHER_KEY,
  OWNER,
  NEXT_OWNER,
  newSid,
  type ContractContext,
} from './support.contract.js';
import type { Store } from '../store.js';

/** A unique user, so that a store shared between tests never mixes them. */
const newUser = (): string => `user-${randomUUID()}`;

async function userSession(store: Store, user: string, now = T0, claims?: string): Promise<string> {
  const sid = newSid();
  await store.createSession({
    sid,
    keyHash: KEY,
    now,
    owner: OWNER,
    user,
    ...(claims === undefined ? {} : { claims }),
  });
  return sid;
}

const sids = (records: readonly { sid: string }[]): string[] => records.map((r) => r.sid);

export function usersContract(c: ContractContext): void {
  const { open, session } = c;
  c.describe('users', (test) => {
    test('keeps a session user and claims, returned by every read of the record', async () => {
      const store = await open();
      const user = newUser();
      const claims = JSON.stringify({ role: 'admin', n: 1 });
      const sid = await userSession(store, user, T0, claims);
      expect(await store.getSession(sid)).toMatchObject({ sid, user, claims });
      const resumed = await store.resume(sid, KEY, 0, T0 + 1, NEXT_OWNER, user);
      expect(resumed).toMatchObject({ status: 'ok', session: { user, claims } });
      expect(await store.userSessions(user, 10)).toMatchObject([{ sid, user, claims }]);
      // A session without a user has neither field, and is in no user's list.
      const plain = await session(store);
      const rec = await store.getSession(plain);
      expect(rec?.user).toBeUndefined();
      expect(rec?.claims).toBeUndefined();
    });

    test('lists a user sessions oldest first, bounded by the limit', async () => {
      const store = await open();
      const user = newUser();
      const other = newUser();
      const a = await userSession(store, user, T0);
      const b = await userSession(store, user, T0 + 10);
      await userSession(store, other, T0 + 15);
      const d = await userSession(store, user, T0 + 20);
      expect(sids(await store.userSessions(user, 10))).toEqual([a, b, d]);
      expect(sids(await store.userSessions(user, 2))).toEqual([a, b]);
      expect(await store.userSessions(newUser(), 10)).toEqual([]);
      await expect(store.userSessions(user, 0)).rejects.toMatchObject({ code: 'bad_page_size' });
      await expect(store.userSessions(user, 1.5)).rejects.toMatchObject({
        code: 'bad_page_size',
      });
    });

    test('a deleted or reaped session leaves its user list', async () => {
      const store = await open();
      const user = newUser();
      const a = await userSession(store, user, T0);
      const b = await userSession(store, user, T0 + 1);
      const d = await userSession(store, user, T0 + 2);
      await store.deleteSession(a);
      expect(sids(await store.userSessions(user, 10))).toEqual([b, d]);
      expect(await store.detach(b, T0 + 3, 100, OWNER)).toBe(true);
      const swept = await store.sweep(T0 + 200);
      expect(swept.reaped.map((r) => r.sid)).toEqual([b]);
      expect(sids(await store.userSessions(user, 10))).toEqual([d]);
      await store.deleteSession(d);
      expect(await store.userSessions(user, 10)).toEqual([]);
    });

    test('a resume that names another user is wrong_user and changes nothing', async () => {
      const store = await open();
      const user = newUser();
      const sid = await userSession(store, user, T0);
      is(await store.append(sid, { data: '"x"', bytes: 3 }, T0));
      expect(await store.detach(sid, T0 + 1, 10_000, OWNER)).toBe(true);
      const before = await store.getSession(sid);
      expect(await store.resume(sid, KEY, 1, T0 + 2, NEXT_OWNER, newUser())).toEqual({
        status: 'wrong_user',
      });
      // Naming no user is not the same user either.
      expect(await store.resume(sid, KEY, 1, T0 + 2, NEXT_OWNER)).toEqual({
        status: 'wrong_user',
      });
      expect(await store.getSession(sid)).toEqual(before);
      // The key is checked first: a wrong key is bad_key whatever the user.
      expect(await store.resume(sid, OTHER_KEY, 0, T0 + 2, NEXT_OWNER, newUser())).toEqual({
        status: 'bad_key',
      });
      // A session without a user refuses a resume that names one.
      const plain = await session(store);
      expect(await store.resume(plain, KEY, 0, T0 + 2, NEXT_OWNER, user)).toEqual({
        status: 'wrong_user',
      });
      // The right user resumes.
      expect(await store.resume(sid, KEY, 1, T0 + 3, NEXT_OWNER, user)).toMatchObject({
        status: 'ok',
        acked: 1,
        session: { attached: true, user },
      });
    });
  });
}

function is(r: { status: string }): void {
  expect(r.status).toBe('stored');
}

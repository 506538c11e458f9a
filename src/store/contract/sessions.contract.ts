/**
 * Store contract: Sessions: create, get, list, unknown sids, owners (the detach fence), delete.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import {
  T0,
  TTL,
  KEY,
  OTHER_KEY,
  OWNER,
  NEXT_OWNER,
  msg,
  seqs,
  is,
  storedSeq,
  allIds,
  type ContractContext,
} from './support.contract.js';

export function sessionsContract(c: ContractContext): void {
  const { open, session, appendAll } = c;
  c.describe('sessions', (test) => {
    test('creates an attached session with nothing sent', async () => {
      const store = await open();
      const created = await store.createSession({
        sid: 's1',
        keyHash: KEY,
        now: T0,
        owner: OWNER,
      });
      expect(created).toMatchObject({ sid: 's1', keyHash: KEY, createdAt: T0, last: 0 });
      expect(created).toMatchObject({ acked: 0, attached: true, depth: 0, bytes: 0 });
      expect(created.expiresAt).toBeUndefined();
      expect(created.oldestAt).toBeUndefined();
      expect(typeof created.epoch).toBe('string');
      expect(created.epoch.length).toBeGreaterThan(0);
      expect(await store.getSession('s1')).toEqual(created);
      expect(await store.getSession('nope')).toBeUndefined();
    });

    test('lists every live session', async () => {
      const store = await open();
      const a = await session(store);
      const b = await session(store);
      expect((await allIds(store)).sort()).toEqual([a, b].sort());
    });

    test('answers unknown_session for a sid it does not hold', async () => {
      const store = await open();
      expect(await store.append('nope', msg('x'), T0)).toEqual({ status: 'unknown_session' });
      expect(await store.ack('nope', 1, T0)).toEqual({ status: 'unknown_session' });
      expect(await store.read('nope', 0, 10, T0)).toEqual({ status: 'unknown_session' });
      expect(await store.resume('nope', KEY, 0, T0, OWNER)).toEqual({
        status: 'unknown_session',
      });
      expect(await store.claimClientMessage('nope', 'c1', T0, OWNER)).toBe('unknown_session');
      expect(await store.detach('nope', T0, 1000, OWNER)).toBe(false);
      expect(await store.deleteSession('nope')).toBeUndefined();
    });
    test('detach with a stale owner changes nothing', async () => {
      const store = await open({ messageTtlMs: 600_000 });
      const sid = await session(store);
      await appendAll(store, sid, ['1', '2']);
      // Node B takes the session over while node A still holds it.
      const taken = await store.resume(sid, KEY, 0, T0 + 10, NEXT_OWNER);
      expect(taken).toMatchObject({ status: 'ok', session: { attached: true } });
      // Node A's connection closes late: its detach must not detach B's session.
      expect(await store.detach(sid, T0 + 20, 0, OWNER)).toBe(false);
      expect(await store.detach(sid, T0 + 20, 1000, OWNER)).toBe(false);
      const after = await store.getSession(sid);
      expect(after).toMatchObject({ attached: true, depth: 2, last: 2 });
      expect(after?.expiresAt).toBeUndefined();
      expect(await store.sweep(T0 + 20)).toEqual({ expired: [], reaped: [] });
      expect(await store.sweep(T0 + 1020)).toEqual({ expired: [], reaped: [] });
      expect(seqs(is(await store.read(sid, 0, 10, T0 + 1020), 'ok').messages)).toEqual([1, 2]);
      expect(await store.stats()).toMatchObject({ attached: 1, detached: 0 });
      // The current owner's detach works, and A's late one cannot move B's deadline.
      expect(await store.detach(sid, T0 + 30, 5000, NEXT_OWNER)).toBe(true);
      expect(await store.detach(sid, T0 + 40, 0, OWNER)).toBe(false);
      expect(await store.getSession(sid)).toMatchObject({
        attached: false,
        expiresAt: T0 + 5030,
      });
      expect((await store.sweep(T0 + 5029)).reaped).toEqual([]);
      expect((await store.sweep(T0 + 5030)).reaped.map((r) => r.sid)).toEqual([sid]);
    });

    test('a resume makes its caller the owner, also of a detached session', async () => {
      const store = await open();
      const sid = await session(store);
      expect(await store.detach(sid, T0, 60_000, OWNER)).toBe(true);
      await store.resume(sid, KEY, 0, T0 + 1, NEXT_OWNER);
      expect(await store.detach(sid, T0 + 2, 60_000, OWNER)).toBe(false);
      expect(await store.getSession(sid)).toMatchObject({ attached: true });
      // A refused resume (wrong key) takes nothing over.
      expect(await store.resume(sid, OTHER_KEY, 0, T0 + 3, OWNER)).toEqual({ status: 'bad_key' });
      expect(await store.detach(sid, T0 + 4, 60_000, OWNER)).toBe(false);
      expect(await store.detach(sid, T0 + 4, 60_000, NEXT_OWNER)).toBe(true);
    });

    test('the record names its owner while attached, and none while detached', async () => {
      const store = await open();
      const sid = await session(store);
      expect((await store.getSession(sid))?.owner).toBe(OWNER);
      await store.resume(sid, KEY, 0, T0 + 1, NEXT_OWNER);
      expect((await store.getSession(sid))?.owner).toBe(NEXT_OWNER);
      await store.detach(sid, T0 + 2, 60_000, NEXT_OWNER);
      const detached = await store.getSession(sid);
      expect(detached?.attached).toBe(false);
      expect(detached?.owner).toBeUndefined();
    });
  });

  c.describe('deleteSession', (test) => {
    test('forgets everything the session had', async () => {
      const store = await open();
      const sid = await session(store);
      await store.append(sid, msg('1', { id: 'op-1' }), T0);
      await store.append(sid, msg('2', { key: 'k' }), T0);
      await store.claimClientMessage(sid, 'c1', T0, OWNER);
      expect(seqs((await store.deleteSession(sid)) ?? [])).toEqual([1, 2]);
      expect(await store.getSession(sid)).toBeUndefined();
      expect(await store.resume(sid, KEY, 0, T0, OWNER)).toEqual({ status: 'unknown_session' });
      expect(await store.claimClientMessage(sid, 'c1', T0, OWNER)).toBe('unknown_session');
      expect(await store.sweep(T0 + TTL)).toEqual({ expired: [], reaped: [] });

      await store.createSession({ sid, keyHash: KEY, now: T0 + 1, owner: OWNER });
      expect(storedSeq(await store.append(sid, msg('1', { id: 'op-1' }), T0 + 1))).toBe(1);
      const r = is(await store.append(sid, msg('3', { key: 'k' }), T0 + 1), 'stored');
      expect(r.superseded).toBeUndefined();
      expect(await store.claimClientMessage(sid, 'c1', T0 + 1, OWNER)).toBe('new');
    });
  });
}

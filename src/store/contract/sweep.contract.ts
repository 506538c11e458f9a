/**
 * Store contract: Sweeps: message TTL, reaping detached sessions.
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import { allIds, T0, TTL, KEY, OWNER, seqs, is, type ContractContext } from './support.contract.js';
import type { Store, SweepResult } from '../store.js';

export function sweepContract(c: ContractContext): void {
  const { open, session, appendAll, resume } = c;
  c.describe('sweep', (test) => {
    test('expires messages exactly at their TTL and returns them', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['1'], T0);
      await appendAll(store, sid, ['2'], T0 + 500);
      expect(await store.sweep(T0 + TTL - 1)).toEqual({ expired: [], reaped: [] });
      const swept = await store.sweep(T0 + TTL);
      expect(swept.reaped).toEqual([]);
      expect(swept.expired.map((e) => ({ sid: e.sid, seqs: seqs(e.messages) }))).toEqual([
        { sid, seqs: [1] },
      ]);
      expect(await store.getSession(sid)).toMatchObject({ depth: 1, oldestAt: T0 + 500 });
      expect((await store.sweep(T0 + TTL + 500)).expired[0]?.messages[0]?.seq).toBe(2);
      expect(await store.sweep(T0 + TTL + 10_000)).toEqual({ expired: [], reaped: [] });
    });

    test('never returns an expired message from read', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['1', '2']);
      const r = is(await store.read(sid, 0, 10, T0 + TTL), 'ok');
      expect(r.messages).toEqual([]);
      expect(seqs(r.expired)).toEqual([1, 2]);
      expect(await store.sweep(T0 + TTL)).toEqual({ expired: [], reaped: [] });
    });

    test('does not reset a message TTL on read or resume', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['1']);
      await store.read(sid, 0, 10, T0 + 4000);
      await store.detach(sid, T0 + 5000, 60_000, OWNER);
      expect(seqs((await resume(store, sid, 0, T0 + 8000)).messages)).toEqual([1]);
      const swept = await store.sweep(T0 + TTL);
      expect(seqs(swept.expired[0]?.messages ?? [])).toEqual([1]);
    });

    test('reaps a detached session at its TTL with what its outbox held', async () => {
      const store = await open({ messageTtlMs: 600_000 });
      const sid = await session(store);
      const kept = await session(store);
      await appendAll(store, sid, ['1', '2']);
      await store.claimClientMessage(sid, 'c1', T0, OWNER);
      expect(await store.detach(sid, T0 + 100, 5000, OWNER)).toBe(true);
      expect(await store.getSession(sid)).toMatchObject({
        attached: false,
        expiresAt: T0 + 5100,
      });
      expect((await store.sweep(T0 + 5099)).reaped).toEqual([]);
      const swept = await store.sweep(T0 + 5100);
      expect(swept.reaped.map((r) => ({ sid: r.sid, seqs: seqs(r.messages) }))).toEqual([
        { sid, seqs: [1, 2] },
      ]);
      expect(await store.getSession(sid)).toBeUndefined();
      expect(await store.resume(sid, KEY, 0, T0 + 5200, OWNER)).toEqual({
        status: 'unknown_session',
      });
      expect(await allIds(store)).toEqual([kept]);
    });

    test('reaps a session detached with TTL 0 at the very next sweep', async () => {
      const store = await open();
      const sid = await session(store);
      await store.detach(sid, T0 + 1234, 0, OWNER);
      const swept = await store.sweep(T0 + 1234);
      expect(swept.reaped).toEqual([{ sid, messages: [] }]);
      expect(await store.getSession(sid)).toBeUndefined();
    });

    test('never reaps an attached session, nor one that resumed', async () => {
      const store = await open();
      const attached = await session(store);
      const resumed = await session(store);
      await store.detach(resumed, T0, 1000, OWNER);
      await resume(store, resumed, 0, T0 + 500);
      const swept = await store.sweep(T0 + 365 * 86_400_000);
      expect(swept.reaped).toEqual([]);
      expect((await allIds(store)).sort()).toEqual([attached, resumed].sort());
    });

    /** A store with messages due at T0 + TTL in three sessions and two sessions to reap. */
    async function due(store: Store): Promise<string[]> {
      const sids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2'], T0);
        sids.push(sid);
      }
      for (let i = 0; i < 2; i++) {
        const sid = await session(store);
        await appendAll(store, sid, ['r'], T0 + TTL - 1);
        await store.detach(sid, T0, 1000, OWNER);
        sids.push(sid);
      }
      return sids;
    }

    /** `sid:seq` of every message handed back by sweeps (expired and reaped). */
    const handed = (sweeps: SweepResult[]): string[] =>
      sweeps.flatMap((r) =>
        [...r.expired, ...r.reaped].flatMap((e) => e.messages.map((m) => `${e.sid}:${m.seq}`)),
      );

    test('two sweeps at the same now never hand back a message twice', async () => {
      const store = await open();
      const sids = await due(store);
      const first = await store.sweep(T0 + TTL);
      const second = await store.sweep(T0 + TTL);
      expect(second).toEqual({ expired: [], reaped: [] });
      const all = handed([first, second]);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe(3 * 2 + 2);
      expect(first.reaped.map((r) => r.sid).sort()).toEqual(sids.slice(3).sort());
    });

    test('overlapping sweeps (several nodes) never hand back a message or a session twice', async () => {
      const store = await open();
      const sids = await due(store);
      // Started together, before either resolves, at the same and at a later now.
      const sweeps = await Promise.all([
        store.sweep(T0 + TTL),
        store.sweep(T0 + TTL),
        store.sweep(T0 + TTL + 1),
      ]);
      const all = handed(sweeps);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe(3 * 2 + 2);
      const reaped = sweeps.flatMap((r) => r.reaped.map((e) => e.sid));
      expect(reaped.sort()).toEqual(sids.slice(3).sort());
      expect(await store.stats()).toMatchObject({ sessions: 3, messages: 0 });
    });

    test('a sweep and a read at once never both hand back the same expired message', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['1', '2', '3'], T0);
      const [swept, read] = await Promise.all([
        store.sweep(T0 + TTL),
        store.read(sid, 0, 10, T0 + TTL),
      ]);
      const seqsOf = [
        ...swept.expired.flatMap((e) => seqs(e.messages)),
        ...(read.status === 'ok' ? seqs(read.expired) : []),
      ];
      expect(seqsOf.sort()).toEqual([1, 2, 3]);
    });
  });
}

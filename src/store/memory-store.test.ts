import { describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import { DEFAULT_LIMITS, type OutboxLimits } from './limits.js';
import { MemoryStore } from './memory-store.js';
import { EMPTY_OUTBOX } from './session-state.js';
import { runStoreContract } from './store.contract.js';

runStoreContract('memory', (limits) => new MemoryStore({ limits }));

const T0 = 1_700_000_000_000;
const KEY = 'k'.repeat(64);
const msg = (data: string) => ({ data, bytes: Buffer.byteLength(data) });

function counted(limits: Partial<OutboxLimits> = {}) {
  const visits: string[] = [];
  const store = new MemoryStore({
    limits: { ...DEFAULT_LIMITS, ...limits },
    onSweepVisit: (sid) => visits.push(sid),
  });
  return { store, visits };
}

describe('MemoryStore', () => {
  it('reports a kind and refuses a second session with the same sid', async () => {
    const store = new MemoryStore({ limits: DEFAULT_LIMITS });
    expect(store.kind).toBe('memory');
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    const error: unknown = await store.createSession({ sid: 's', keyHash: KEY, now: T0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRwsError(error) && error.code).toBe('session_exists');
  });

  it("gives its sessions the store's epoch, and another store another one", async () => {
    // A memory store never loses a stream while keeping its record, so one epoch per store
    // tells a client everything an epoch can: a new store (a restart) is a new epoch.
    const store = new MemoryStore({ limits: DEFAULT_LIMITS });
    const a = await store.createSession({ sid: 'a', keyHash: KEY, now: T0 });
    const b = await store.createSession({ sid: 'b', keyHash: KEY, now: T0 });
    expect(a.epoch).toMatch(/^[0-9a-f]{16}$/);
    expect(b.epoch).toBe(a.epoch);
    const other = new MemoryStore({ limits: DEFAULT_LIMITS });
    const c = await other.createSession({ sid: 'a', keyHash: KEY, now: T0 });
    expect(c.epoch).not.toBe(a.epoch);
  });

  it('gives a session its own outbox only at its first message; the shared empty one stays empty', async () => {
    const store = new MemoryStore({ limits: DEFAULT_LIMITS });
    await store.createSession({ sid: 'idle', keyHash: KEY, now: T0 });
    await store.createSession({ sid: 'busy', keyHash: KEY, now: T0 });
    await store.append('busy', msg('"x"'), T0);
    await store.ack('idle', 5, T0);
    await store.ack('busy', 1, T0);
    await store.append('busy', msg('"y"'), T0);
    const idle = await store.read('idle', 0, 10, T0);
    const busy = await store.read('busy', 0, 10, T0);
    expect('messages' in idle && idle.messages).toEqual([]);
    expect('messages' in busy && busy.messages.map((m) => m.data)).toEqual(['"y"']);
    const st = await store.stats();
    expect([st.messages, st.bytes]).toEqual([1, 3]);
    expect(EMPTY_OUTBOX.count).toBe(0);
    expect(EMPTY_OUTBOX.bytes).toBe(0);
  });

  it('sweeps at a cost proportional to what expires, not to what is stored', async () => {
    const { store, visits } = counted({ messageTtlMs: 60_000 });
    for (let i = 0; i < 100_000; i++) {
      await store.createSession({ sid: `s${i}`, keyHash: KEY, now: T0 });
      // Every tenth session holds a message that expires well after the sweeps below.
      if (i % 10 === 0) await store.append(`s${i}`, msg('late'), T0 + 30_000);
    }
    for (let i = 0; i < 10; i++) await store.append(`s${i * 10 + 3}`, msg('early'), T0);
    for (let t = T0; t < T0 + 60_000; t += 1000) {
      expect(await store.sweep(t)).toEqual({ expired: [], reaped: [] });
    }
    expect(visits).toEqual([]);
    const swept = await store.sweep(T0 + 60_000);
    expect(swept.expired.map((e) => e.sid).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `s${i * 10 + 3}`).sort(),
    );
    expect(visits.length).toBe(10);
    expect((await store.stats()).messages).toBe(10_000);
  });

  it('reaps only the sessions whose TTL passed, touching no other', async () => {
    const { store, visits } = counted();
    for (let i = 0; i < 10_000; i++) {
      await store.createSession({ sid: `s${i}`, keyHash: KEY, now: T0 });
      if (i % 1000 === 0) await store.detach(`s${i}`, T0, 5000);
    }
    expect((await store.sweep(T0 + 4999)).reaped).toEqual([]);
    expect(visits).toEqual([]);
    const swept = await store.sweep(T0 + 5000);
    expect(swept.reaped.length).toBe(10);
    expect(visits.length).toBe(10);
    expect(await store.stats()).toMatchObject({ sessions: 9990, detached: 0 });
  });

  it('visits a session whose deadline moved later once, then waits for the new one', async () => {
    const { store, visits } = counted({ messageTtlMs: 10_000 });
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    await store.append('s', msg('1'), T0);
    await store.append('s', msg('2'), T0 + 5000);
    await store.ack('s', 1, T0 + 5000);
    expect(await store.sweep(T0 + 10_000)).toEqual({ expired: [], reaped: [] });
    expect(await store.sweep(T0 + 14_000)).toEqual({ expired: [], reaped: [] });
    expect(visits).toEqual(['s']);
    expect((await store.sweep(T0 + 15_000)).expired[0]?.messages.map((m) => m.seq)).toEqual([2]);
  });

  it('stops watching a session whose outbox emptied', async () => {
    const { store, visits } = counted();
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    await store.append('s', msg('1'), T0);
    await store.ack('s', 1, T0);
    await store.sweep(T0 + DEFAULT_LIMITS.messageTtlMs);
    expect(visits).toEqual([]);
  });

  it('catches up after a long pause without missing a deadline', async () => {
    const store = new MemoryStore({ limits: { ...DEFAULT_LIMITS, messageTtlMs: 1000 } });
    await store.createSession({ sid: 'a', keyHash: KEY, now: T0 });
    await store.createSession({ sid: 'b', keyHash: KEY, now: T0 });
    await store.sweep(T0);
    await store.append('a', msg('1'), T0);
    await store.detach('b', T0, 2000);
    const swept = await store.sweep(T0 + 86_400_000);
    expect(swept.expired.map((e) => e.sid)).toEqual(['a']);
    expect(swept.reaped.map((r) => r.sid)).toEqual(['b']);
  });

  it('keeps each dedup window bounded at dedupMaxIds, forgetting the oldest first', async () => {
    const store = new MemoryStore({ limits: { ...DEFAULT_LIMITS, dedupMaxIds: 3 } });
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(await store.claimClientMessage('s', id, T0)).toBe('new');
      await store.completeClientMessage('s', id);
    }
    expect(await store.claimClientMessage('s', 'd', T0)).toBe('duplicate');
    expect(await store.claimClientMessage('s', 'b', T0)).toBe('duplicate');
    expect(await store.claimClientMessage('s', 'a', T0)).toBe('new');

    for (const id of ['o1', 'o2', 'o3', 'o4']) {
      await store.append('s', { ...msg(id), id }, T0);
    }
    expect(await store.append('s', { ...msg('o4'), id: 'o4' }, T0)).toEqual({
      status: 'duplicate',
      seq: 4,
    });
    expect(await store.append('s', { ...msg('o1'), id: 'o1' }, T0)).toMatchObject({
      status: 'stored',
      seq: 5,
    });
  });

  it('forgets a kept result with its id (expired or pushed out)', async () => {
    const store = new MemoryStore({
      limits: { ...DEFAULT_LIMITS, dedupWindowMs: 1000, dedupMaxIds: 3 },
    });
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    const kept = (): number =>
      (
        store as unknown as {
          sessions: Map<string, { clientResults?: { size: number } }>;
        }
      ).sessions.get('s')?.clientResults?.size ?? 0;
    for (const id of ['a', 'b']) {
      await store.claimClientMessage('s', id, T0);
      await store.completeClientMessage('s', id, `"${id}"`);
    }
    expect(kept()).toBe(2);
    // Past the window: the next claim forgets a and b, and their results with them.
    await store.claimClientMessage('s', 'c', T0 + 1000);
    await store.completeClientMessage('s', 'c', '"c"');
    expect(kept()).toBe(1);
    // Pushed out by dedupMaxIds (3): d, e, f push c out, and its result.
    for (const id of ['d', 'e', 'f']) {
      await store.claimClientMessage('s', id, T0 + 1000);
      await store.completeClientMessage('s', id);
    }
    expect(await store.claimClientMessage('s', 'c', T0 + 1000)).toBe('new');
    expect(kept()).toBe(0);
  });

  it('keeps a long-lived outbox correct through many trims', async () => {
    const store = new MemoryStore({ limits: { ...DEFAULT_LIMITS, maxMessages: 100 } });
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    for (let i = 1; i <= 10_000; i++) {
      await store.append('s', msg(`m${i}`), T0);
      if (i % 7 === 0) await store.ack('s', i - 3, T0);
    }
    const r = await store.read('s', 9992, 5, T0);
    expect(r.status === 'ok' && r.messages.map((m) => m.data)).toEqual([
      'm9994',
      'm9995',
      'm9996',
      'm9997',
      'm9998',
    ]);
    expect(await store.getSession('s')).toMatchObject({ acked: 9993, depth: 7, last: 10_000 });
  });

  it('frees everything on close', async () => {
    const store = new MemoryStore({ limits: DEFAULT_LIMITS });
    await store.createSession({ sid: 's', keyHash: KEY, now: T0 });
    await store.close();
    await store.close();
    await expect(store.getSession('s')).rejects.toMatchObject({ code: 'store_closed' });
  });
});

/**
 * The Store contract as a test suite. Every store runs it unchanged:
 *
 *   runStoreContract('memory', (limits) => new MemoryStore({ limits }));
 *
 * It talks to the store only through the `Store` interface and passes every time as an
 * explicit `now`, so a networked store runs it as is. `createStore` must return a store that
 * holds no sessions (a Redis store: a fresh key prefix or a flushed database).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import type { OutboxLimits, OverflowPolicy } from './limits.js';
import {
  hasSyncAppend,
  type AppendResult,
  type NewMessage,
  type Store,
  type StoredMessage,
  type SyncAppend,
} from './store.js';

export interface StoreContractOptions {
  /** Releases a store after each test (default: `store.close()`). */
  teardown?: (store: Store) => Promise<void> | void;
}

const T0 = 1_700_000_000_000;
const TTL = 10_000;
const WINDOW = 60_000;
const KEY = 'a'.repeat(64);
const OTHER_KEY = 'b'.repeat(64);
/** Owner tokens: which connection (on which node) holds an attached session. */
const OWNER = 'node-a:1';
const NEXT_OWNER = 'node-b:7';

const BASE: OutboxLimits = {
  maxMessages: 5,
  maxBytes: 1000,
  overflow: 'drop-oldest',
  messageTtlMs: TTL,
  dedupWindowMs: WINDOW,
  dedupMaxIds: 100,
  dedupResultBudget: 1000,
};

const msg = (data: string, extra: { id?: string; key?: string } = {}): NewMessage => ({
  data,
  bytes: Buffer.byteLength(data),
  ...extra,
});
const sized = (bytes: number): NewMessage => msg('x'.repeat(bytes));
const seqs = (messages: readonly StoredMessage[]): number[] => messages.map((m) => m.seq);

function is<T extends { status: string }, S extends T['status']>(
  result: T,
  status: S,
): Extract<T, { status: S }> {
  expect(result).toMatchObject({ status });
  return result as Extract<T, { status: S }>;
}

const storedSeq = (r: AppendResult): number => is(r, 'stored').seq;

export function runStoreContract(
  name: string,
  createStore: (limits: OutboxLimits) => Promise<Store> | Store,
  options: StoreContractOptions = {},
): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];

    afterEach(async () => {
      for (const store of opened.splice(0)) {
        await (options.teardown ?? ((s: Store) => s.close()))(store);
      }
    });

    async function open(limits: Partial<OutboxLimits> = {}): Promise<Store> {
      const store = await createStore({ ...BASE, ...limits });
      opened.push(store);
      return store;
    }

    async function session(store: Store, now = T0): Promise<string> {
      const sid = `contract-${randomUUID()}`;
      await store.createSession({ sid, keyHash: KEY, now, owner: OWNER });
      return sid;
    }

    async function appendAll(store: Store, sid: string, data: string[], now = T0): Promise<void> {
      for (const d of data) is(await store.append(sid, msg(d), now), 'stored');
    }

    const resume = async (store: Store, sid: string, ack: number, now = T0) =>
      is(await store.resume(sid, KEY, ack, now, OWNER), 'ok');

    describe('sessions', () => {
      it('creates an attached session with nothing sent', async () => {
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

      it('lists every live session', async () => {
        const store = await open();
        const a = await session(store);
        const b = await session(store);
        expect((await store.sessionIds()).sort()).toEqual([a, b].sort());
      });

      it('answers unknown_session for a sid it does not hold', async () => {
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
      it('detach with a stale owner changes nothing', async () => {
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

      it('a resume makes its caller the owner, also of a detached session', async () => {
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
    });

    describe('append', () => {
      it('assigns seq 1, 2, 3 per session, independently across sessions', async () => {
        const store = await open();
        const a = await session(store);
        const b = await session(store);
        expect(storedSeq(await store.append(a, msg('a1'), T0))).toBe(1);
        expect(storedSeq(await store.append(a, msg('a2'), T0))).toBe(2);
        expect(storedSeq(await store.append(b, msg('b1'), T0))).toBe(1);
        expect(storedSeq(await store.append(a, msg('a3'), T0))).toBe(3);
        expect(await store.getSession(a)).toMatchObject({ last: 3, depth: 3 });
        expect(await store.getSession(b)).toMatchObject({ last: 1, depth: 1 });
      });

      it('applies calls in call order without waiting for each', async () => {
        const store = await open({ maxMessages: 50 });
        const sid = await session(store);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.append(sid, msg(`m${i}`), T0 + i)),
        );
        expect(results.map(storedSeq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        const read = is(await store.read(sid, 0, 100, T0 + 20), 'ok');
        expect(read.messages.map((m) => m.data)).toEqual(results.map((_, i) => `m${i}`));
      });

      it('stores the data as given, with its TTL from the first enqueue', async () => {
        const store = await open();
        const sid = await session(store);
        await store.append(sid, msg('{"n":1}', { id: 'i1', key: 'k1' }), T0 + 5);
        const read = is(await store.read(sid, 0, 10, T0 + 6), 'ok');
        expect(read.messages).toEqual([
          {
            seq: 1,
            data: '{"n":1}',
            bytes: 7,
            id: 'i1',
            key: 'k1',
            enqueuedAt: T0 + 5,
            expiresAt: T0 + 5 + TTL,
          },
        ]);
        expect(read.last).toBe(1);
        expect(await store.getSession(sid)).toMatchObject({ depth: 1, bytes: 7, oldestAt: T0 + 5 });
      });
    });

    describe('ack', () => {
      it('trims everything up to the ack', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b'], T0);
        await appendAll(store, sid, ['c', 'd'], T0 + 7);
        // newestEnqueuedAt: the enqueue time of the newest removed message (ack latency).
        expect(await store.ack(sid, 2, T0 + 9)).toEqual({
          status: 'ok',
          acked: 2,
          removed: 2,
          newestEnqueuedAt: T0,
        });
        expect(await store.ack(sid, 3, T0 + 9)).toMatchObject({
          removed: 1,
          newestEnqueuedAt: T0 + 7,
        });
        const read = is(await store.read(sid, 0, 10, T0), 'ok');
        expect(seqs(read.messages)).toEqual([4]);
        expect(await store.getSession(sid)).toMatchObject({ acked: 3, depth: 1, bytes: 1 });
      });

      it('is cumulative: an ack at or below the current one is a no-op', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b', 'c']);
        await store.ack(sid, 2, T0);
        expect(await store.ack(sid, 1, T0)).toEqual({ status: 'ok', acked: 2, removed: 0 });
        expect(await store.ack(sid, 2, T0)).toEqual({ status: 'ok', acked: 2, removed: 0 });
        expect(await store.getSession(sid)).toMatchObject({ acked: 2, depth: 1 });
      });

      it('refuses an ack above last and changes nothing', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b']);
        expect(await store.ack(sid, 3, T0)).toEqual({ status: 'bad_ack', last: 2 });
        expect(await store.getSession(sid)).toMatchObject({ acked: 0, depth: 2 });
      });
    });

    describe('read', () => {
      it('returns up to limit messages after a seq, in order, without removing them', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b', 'c', 'd', 'e']);
        const first = is(await store.read(sid, 2, 2, T0), 'ok');
        expect(seqs(first.messages)).toEqual([3, 4]);
        expect(first).toMatchObject({ last: 5, expired: [] });
        expect(seqs(is(await store.read(sid, 0, 100, T0), 'ok').messages)).toEqual([1, 2, 3, 4, 5]);
        expect(is(await store.read(sid, 5, 10, T0), 'ok').messages).toEqual([]);
        expect(is(await store.read(sid, 0, 0, T0), 'ok').messages).toEqual([]);
      });
    });

    describe('resume', () => {
      it('recovers every retained message after the ack, in order', async () => {
        const store = await open();
        const sid = await session(store);
        const { epoch } = (await store.getSession(sid))!;
        await appendAll(store, sid, ['a', 'b', 'c', 'd']);
        await store.detach(sid, T0 + 1, 60_000, OWNER);
        const r = await resume(store, sid, 1, T0 + 2);
        expect(r).toMatchObject({ acked: 1, missing: 0, expired: [], epochChanged: false });
        expect(r.messages.map((m) => m.data)).toEqual(['b', 'c', 'd']);
        expect(r.session).toMatchObject({ sid, epoch, last: 4, acked: 1, attached: true });
        expect(r.session.expiresAt).toBeUndefined();
        expect(await store.getSession(sid)).toMatchObject({ depth: 3, attached: true });
      });

      it('counts an ack below a previous ack as the previous ack', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b', 'c', 'd']);
        await store.ack(sid, 3, T0);
        const r = await resume(store, sid, 1, T0);
        expect(r).toMatchObject({ acked: 3, missing: 0 });
        expect(seqs(r.messages)).toEqual([4]);
      });

      it('refuses a wrong key, an unknown sid and an ack above last', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['a', 'b']);
        await store.detach(sid, T0, 60_000, OWNER);
        expect(await store.resume(sid, OTHER_KEY, 0, T0, OWNER)).toEqual({ status: 'bad_key' });
        expect(await store.resume(sid, 'short', 0, T0, OWNER)).toEqual({ status: 'bad_key' });
        expect(await store.resume('nope', KEY, 0, T0, OWNER)).toEqual({
          status: 'unknown_session',
        });
        expect(await store.resume(sid, KEY, 3, T0, OWNER)).toEqual({ status: 'bad_ack', last: 2 });
        expect(await store.getSession(sid)).toMatchObject({ attached: false, acked: 0, depth: 2 });
      });

      it('reports the exact gap after drop-oldest overflow', async () => {
        const store = await open({ maxMessages: 3 });
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2', '3', '4', '5', '6']);
        const r = await resume(store, sid, 0, T0);
        expect(r).toMatchObject({ acked: 0, missing: 3 });
        expect(seqs(r.messages)).toEqual([4, 5, 6]);
        expect((await resume(store, sid, 2, T0)).missing).toBe(1);
        expect((await resume(store, sid, 3, T0)).missing).toBe(0);
      });

      it('reports the exact gap after TTL expiry and hands back what expired', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2'], T0);
        await appendAll(store, sid, ['3'], T0 + 5000);
        await store.detach(sid, T0 + 6000, 60_000, OWNER);
        const r = await resume(store, sid, 0, T0 + TTL);
        expect(r).toMatchObject({ acked: 0, missing: 2 });
        expect(seqs(r.expired)).toEqual([1, 2]);
        expect(seqs(r.messages)).toEqual([3]);
        expect((await resume(store, sid, 1, T0 + TTL)).missing).toBe(1);
      });

      it('does not count superseded keyed messages as missing', async () => {
        const store = await open({ maxMessages: 3 });
        const sid = await session(store);
        await store.append(sid, msg('p10', { key: 'progress' }), T0);
        const second = is(await store.append(sid, msg('p20', { key: 'progress' }), T0), 'stored');
        expect(second).toMatchObject({ seq: 2, dropped: [] });
        expect(second.superseded?.seq).toBe(1);
        await appendAll(store, sid, ['3', '4', '5']); // 5 evicts 2: a loss
        const r = await resume(store, sid, 0, T0);
        expect(r.missing).toBe(1);
        expect(seqs(r.messages)).toEqual([3, 4, 5]);
      });

      it('gives a resumer only the newest message per key', async () => {
        const store = await open();
        const sid = await session(store);
        await store.append(sid, msg('p1', { key: 'a' }), T0);
        await store.append(sid, msg('x'), T0);
        await store.append(sid, msg('q1', { key: 'b' }), T0);
        await store.append(sid, msg('p2', { key: 'a' }), T0);
        await store.append(sid, msg('p3', { key: 'a' }), T0);
        const r = await resume(store, sid, 0, T0);
        expect(r.missing).toBe(0);
        expect(r.messages.map((m) => m.data)).toEqual(['x', 'q1', 'p3']);
        expect(await store.getSession(sid)).toMatchObject({ depth: 3, bytes: 5 });
      });
    });

    describe('bounds', () => {
      it('drop-oldest evicts from the head and reports what it dropped', async () => {
        const store = await open({ maxMessages: 3 });
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2', '3']);
        const r = is(await store.append(sid, msg('4'), T0), 'stored');
        expect(r.seq).toBe(4);
        expect(seqs(r.dropped)).toEqual([1]);
        expect(r.superseded).toBeUndefined();
        expect(await store.getSession(sid)).toMatchObject({ depth: 3, last: 4 });
      });

      it.each<OverflowPolicy>(['drop-newest', 'reject', 'disconnect'])(
        '%s refuses a message that does not fit and consumes no seq',
        async (overflow) => {
          const store = await open({ maxMessages: 2, overflow });
          const sid = await session(store);
          await appendAll(store, sid, ['1', '2']);
          expect(await store.append(sid, msg('3'), T0)).toEqual({ status: 'full' });
          expect(await store.getSession(sid)).toMatchObject({ depth: 2, last: 2 });
          await store.ack(sid, 1, T0);
          expect(storedSeq(await store.append(sid, msg('3'), T0))).toBe(3);
        },
      );

      it('bounds bytes as well as count', async () => {
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

      it('refuses a single message larger than the byte bound without evicting', async () => {
        const store = await open({ maxBytes: 100 });
        const sid = await session(store);
        await store.append(sid, sized(10), T0);
        expect(await store.append(sid, sized(101), T0)).toEqual({ status: 'full' });
        expect(await store.getSession(sid)).toMatchObject({ depth: 1, last: 1, bytes: 10 });
        expect(storedSeq(await store.append(sid, sized(100), T0))).toBe(2);
      });

      it('lets a keyed message replace its predecessor in a full outbox', async () => {
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

    describe('outbound idempotency', () => {
      it('returns the original seq for a repeated id within the window', async () => {
        const store = await open();
        const sid = await session(store);
        expect(storedSeq(await store.append(sid, msg('a', { id: 'op-1' }), T0))).toBe(1);
        expect(storedSeq(await store.append(sid, msg('b'), T0))).toBe(2);
        expect(await store.append(sid, msg('a', { id: 'op-1' }), T0 + WINDOW - 1)).toEqual({
          status: 'duplicate',
          seq: 1,
        });
        await store.ack(sid, 2, T0);
        expect(await store.append(sid, msg('a', { id: 'op-1' }), T0 + 1)).toEqual({
          status: 'duplicate',
          seq: 1,
        });
        expect(await store.getSession(sid)).toMatchObject({ last: 2 });
      });

      it('forgets an id after the window', async () => {
        const store = await open();
        const sid = await session(store);
        await store.append(sid, msg('a', { id: 'op-1' }), T0);
        expect(storedSeq(await store.append(sid, msg('a', { id: 'op-1' }), T0 + WINDOW))).toBe(2);
      });

      it('records the id only of a message it stored', async () => {
        const store = await open({ maxMessages: 1, overflow: 'reject' });
        const sid = await session(store);
        await store.append(sid, msg('1'), T0);
        expect(await store.append(sid, msg('2', { id: 'op-2' }), T0)).toEqual({ status: 'full' });
        await store.ack(sid, 1, T0);
        expect(storedSeq(await store.append(sid, msg('2', { id: 'op-2' }), T0))).toBe(2);
      });
    });

    describe('inbound dedup', () => {
      const claim = (store: Store, sid: string, id: string, now: number, owner = OWNER) =>
        store.claimClientMessage(sid, id, now, owner);

      it('claims an id once per window, per session', async () => {
        const store = await open();
        const a = await session(store);
        const b = await session(store);
        expect(await claim(store, a, 'c1', T0)).toBe('new');
        await store.completeClientMessage(a, 'c1');
        expect(await claim(store, a, 'c1', T0 + WINDOW - 1)).toBe('duplicate');
        expect(await claim(store, b, 'c1', T0)).toBe('new');
        expect(await claim(store, a, 'c1', T0 + WINDOW)).toBe('new');
      });

      it('answers in_progress while a claim is pending, duplicate once it is done', async () => {
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

      it('a pending claim older than the window is not a duplicate any more', async () => {
        const store = await open();
        const sid = await session(store);
        expect(await claim(store, sid, 'c1', T0)).toBe('new');
        expect(await claim(store, sid, 'c1', T0 + WINDOW - 1, NEXT_OWNER)).toBe('in_progress');
        expect(await claim(store, sid, 'c1', T0 + WINDOW, NEXT_OWNER)).toBe('new');
        expect(await claim(store, sid, 'c1', T0 + WINDOW + 1)).toBe('in_progress');
      });

      it('forgets a released id, pending or done, so that a retry is handled again', async () => {
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

      it('completing an id that is no longer claimed claims nothing', async () => {
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

      it('keeps a handler result for duplicates, within the window and the result budget', async () => {
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

      it('an id claimed again after its window does not keep the earlier result', async () => {
        const store = await open();
        const sid = await session(store);
        await claim(store, sid, 'c1', T0);
        await store.completeClientMessage(sid, 'c1', '"first"');
        expect(await claim(store, sid, 'c1', T0 + WINDOW)).toBe('new');
        expect(await store.clientMessageResult(sid, 'c1', T0 + WINDOW + 1)).toBeUndefined();
      });

      it('a released id loses its result', async () => {
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

    describe('sweep', () => {
      it('expires messages exactly at their TTL and returns them', async () => {
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

      it('never returns an expired message from read', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['1', '2']);
        const r = is(await store.read(sid, 0, 10, T0 + TTL), 'ok');
        expect(r.messages).toEqual([]);
        expect(seqs(r.expired)).toEqual([1, 2]);
        expect(await store.sweep(T0 + TTL)).toEqual({ expired: [], reaped: [] });
      });

      it('does not reset a message TTL on read or resume', async () => {
        const store = await open();
        const sid = await session(store);
        await appendAll(store, sid, ['1']);
        await store.read(sid, 0, 10, T0 + 4000);
        await store.detach(sid, T0 + 5000, 60_000, OWNER);
        expect(seqs((await resume(store, sid, 0, T0 + 8000)).messages)).toEqual([1]);
        const swept = await store.sweep(T0 + TTL);
        expect(seqs(swept.expired[0]?.messages ?? [])).toEqual([1]);
      });

      it('reaps a detached session at its TTL with what its outbox held', async () => {
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
        expect(await store.sessionIds()).toEqual([kept]);
      });

      it('reaps a session detached with TTL 0 at the very next sweep', async () => {
        const store = await open();
        const sid = await session(store);
        await store.detach(sid, T0 + 1234, 0, OWNER);
        const swept = await store.sweep(T0 + 1234);
        expect(swept.reaped).toEqual([{ sid, messages: [] }]);
        expect(await store.getSession(sid)).toBeUndefined();
      });

      it('never reaps an attached session, nor one that resumed', async () => {
        const store = await open();
        const attached = await session(store);
        const resumed = await session(store);
        await store.detach(resumed, T0, 1000, OWNER);
        await resume(store, resumed, 0, T0 + 500);
        const swept = await store.sweep(T0 + 365 * 86_400_000);
        expect(swept.reaped).toEqual([]);
        expect((await store.sessionIds()).sort()).toEqual([attached, resumed].sort());
      });
    });

    describe('deleteSession', () => {
      it('forgets everything the session had', async () => {
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

    describe('stats', () => {
      it('counts sessions, attachment, messages and bytes', async () => {
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

      it('reports the oldest retained message across sessions', async () => {
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

    describe('topSessions', () => {
      it('ranks by outbox depth (ties by bytes), at most limit, without key material', async () => {
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

      it('ranks by the age of the oldest retained message and skips empty outboxes', async () => {
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

    // A capability (`SyncAppend`): a store that answers at once implements `appendNow` (the
    // send path's fast path). It must be `append` without the promise. A store without it
    // gets these tests reported as skipped, with the reason.
    describe('appendNow (SyncAppend)', async () => {
      const probe = await createStore(BASE);
      const sync = hasSyncAppend(probe);
      await (options.teardown ?? ((s: Store) => s.close()))(probe);
      const test = (title: string, fn: () => Promise<void>): void => {
        if (sync) it(title, fn);
        else
          it.skip(`${title} (skipped: the ${probe.kind} store does not implement SyncAppend)`, fn);
      };
      type Append = (sid: string, message: NewMessage, now: number) => Promise<AppendResult>;

      async function openSync(limits: Partial<OutboxLimits> = {}): Promise<Store & SyncAppend> {
        const store = await open(limits);
        if (!hasSyncAppend(store)) throw new Error('the store lost SyncAppend');
        return store;
      }

      /** Every kind of append result, then what the store holds: through `append`. */
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

    describe('close', () => {
      it('answers ping while open and rejects every call once closed', async () => {
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
  });
}

/**
 * Store contract: Resume: replay after the ack, key and ack checks, the exact gap (missing).
 * Run by `runStoreContract` (src/store/store.contract.ts).
 */
import { expect } from 'vitest';
import {
  T0,
  TTL,
  KEY,
  OTHER_KEY,
  OWNER,
  msg,
  seqs,
  is,
  type ContractContext,
} from './support.contract.js';

export function resumeContract(c: ContractContext): void {
  const { open, session, appendAll, resume } = c;
  c.describe('resume', (test) => {
    test('recovers every retained message after the ack, in order', async () => {
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

    test('counts an ack below a previous ack as the previous ack', async () => {
      const store = await open();
      const sid = await session(store);
      await appendAll(store, sid, ['a', 'b', 'c', 'd']);
      await store.ack(sid, 3, T0);
      const r = await resume(store, sid, 1, T0);
      expect(r).toMatchObject({ acked: 3, missing: 0 });
      expect(seqs(r.messages)).toEqual([4]);
    });

    test('refuses a wrong key, an unknown sid and an ack above last', async () => {
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

    test('reports the exact gap after drop-oldest overflow', async () => {
      const store = await open({ maxMessages: 3 });
      const sid = await session(store);
      await appendAll(store, sid, ['1', '2', '3', '4', '5', '6']);
      const r = await resume(store, sid, 0, T0);
      expect(r).toMatchObject({ acked: 0, missing: 3 });
      expect(seqs(r.messages)).toEqual([4, 5, 6]);
      expect((await resume(store, sid, 2, T0)).missing).toBe(1);
      expect((await resume(store, sid, 3, T0)).missing).toBe(0);
    });

    test('reports the exact gap after TTL expiry and hands back what expired', async () => {
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

    test('does not count superseded keyed messages as missing', async () => {
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

    test('gives a resumer only the newest message per key', async () => {
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
}

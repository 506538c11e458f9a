/**
 * The handshake (handshake.ts) through the Hub: resume (replay order, gaps, refusals),
 * takeover of a connection by a newer one, and the races a resume can meet: a connection
 * closing, the session ended by bye or an admin, the store failing, all while the store is
 * answering.
 */
import { describe, expect, it } from 'vitest';
import { HubHarness, TEST_HUB_OPTIONS } from './test-support/hub-harness.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A session whose connection went away, with `n` messages stored. */
async function detachedSession(h: HubHarness, n: number) {
  const s = await h.session();
  s.t.fireClose(1006);
  await h.settle();
  for (const i of range(1, n)) await h.hub.send(s.sid, `m${i}`);
  return s;
}

describe('resume', () => {
  it('replays unacked messages in seq order after the welcome, then new ones', async () => {
    const h = new HubHarness();
    const resumes = h.record('resume');
    const a = await h.session();
    for (const i of range(1, 5)) await h.hub.send(a.sid, `m${i}`);
    await h.settle();
    a.t.peerSends({ t: 'ack', seq: 2 });
    await h.settle();
    a.t.fireClose(1006);
    await h.settle();
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
    await h.hub.send(a.sid, 'm6');

    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 3 });
    expect(w).toMatchObject({
      sid: a.sid,
      key: a.key,
      resumed: true,
      recovered: true,
      last: 6,
      hb: 1000,
    });
    expect(w.reason).toBeUndefined();
    expect(w.missing).toBeUndefined();
    expect(b.frames[0]?.t).toBe('welcome');
    expect(b.framesOf('msg')).toEqual([
      { t: 'msg', seq: 4, data: 'm4' },
      { t: 'msg', seq: 5, data: 'm5' },
      { t: 'msg', seq: 6, data: 'm6' },
    ]);
    await h.hub.send(a.sid, 'm7');
    await h.settle();
    expect(b.seqs).toEqual([4, 5, 6, 7]);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true, acked: 3 });
    expect(resumes.at(-1)).toEqual({
      sid: a.sid,
      resumed: true,
      recovered: true,
      reason: undefined,
      missing: 0,
      replayed: 3,
    });
  });

  it('an ack below one already received counts as that one: nothing is missing', async () => {
    const h = new HubHarness();
    const a = await h.session();
    for (const i of range(1, 4)) await h.hub.send(a.sid, i);
    await h.settle();
    a.t.peerSends({ t: 'ack', seq: 2 });
    await h.settle();
    a.t.fireClose(1006);
    await h.settle();
    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    expect(w).toMatchObject({ resumed: true, recovered: true, last: 4 });
    expect(b.seqs).toEqual([3, 4]);
  });

  it("the first replayed message names as prev the ack the client resumed with, below the server's (1.1)", async () => {
    const h = new HubHarness();
    const a = await h.session();
    for (const i of range(1, 4)) await h.hub.send(a.sid, i);
    await h.settle();
    a.t.peerSends({ t: 'ack', seq: 2 });
    await h.settle();
    a.t.fireClose(1006);
    await h.settle();
    const b = h.connect();
    await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    // 1 and 2 were acked before (by an earlier instance of the client): prev accounts for
    // them, as the protocol says; with the server's ack as prev the SDK would report 1..2.
    expect(b.framesOf('msg')).toEqual([
      { t: 'msg', seq: 3, prev: 0, data: 3 },
      { t: 'msg', seq: 4, data: 4 },
    ]);
  });

  it('reports a gap when messages after the ack were lost, and replays what is left', async () => {
    const h = new HubHarness({ limits: { maxMessages: 3 } });
    const resumes = h.record('resume');
    const a = await detachedSession(h, 5);
    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    expect(w).toMatchObject({
      resumed: true,
      recovered: false,
      reason: 'gap',
      missing: 2,
      last: 5,
    });
    expect(b.seqs).toEqual([3, 4, 5]);
    expect(resumes.at(-1)).toMatchObject({ reason: 'gap', missing: 2, replayed: 3 });
    expect(h.dlq.list({ sid: a.sid }).map((e) => [e.seq, e.reason])).toEqual([
      [1, 'overflow'],
      [2, 'overflow'],
    ]);
  });

  it('keyed messages superseded while detached are not a gap: only the latest is replayed', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 0);
    await h.hub.send(a.sid, 'v1', { key: 'price' });
    await h.hub.send(a.sid, 'other');
    await h.hub.send(a.sid, 'v2', { key: 'price' });
    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    expect(w).toMatchObject({ recovered: true, last: 3 });
    expect(b.framesOf('msg').map((m) => [m.seq, m.data])).toEqual([
      [2, 'other'],
      [3, 'v2'],
    ]);
  });

  it('a replay larger than the high-water mark arrives over several turns, in order, once', async () => {
    const h = new HubHarness({ writer: { highWaterMark: 200 } });
    const a = await detachedSession(h, 60);
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    await h.settle();
    expect(b.frames[0]?.t).toBe('welcome');
    expect(b.seqs).toEqual(range(1, 60));
    expect(b.messages.length).toBeGreaterThan(2);
  });

  it('messages sent while the resume is in flight follow the replay, once', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 3);
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    const sends = [h.hub.send(a.sid, 'm4'), h.hub.send(a.sid, 'm5')];
    await Promise.all(sends);
    await h.settle();
    expect(b.seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('an unknown sid gets a new session with reason unknown_session', async () => {
    const h = new HubHarness();
    const t = h.connect();
    const w = await h.hello(t, { sid: 'no-such-session', key: 'k', ack: 7 });
    expect(w).toMatchObject({
      resumed: false,
      recovered: false,
      reason: 'unknown_session',
      last: 0,
    });
    expect(w.sid).not.toBe('no-such-session');
    expect(await h.store.getSession(w.sid)).toMatchObject({ attached: true });
  });

  it('a reaped session is unknown', async () => {
    const h = new HubHarness({ hub: { sessionTtlMs: 1000 } });
    const reaps = h.record('reap');
    const a = await detachedSession(h, 2);
    h.clock.advance(5000);
    await h.outbox.sweep();
    expect(reaps).toEqual([{ sid: a.sid, leftover: 2 }]);
    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    expect(w).toMatchObject({ resumed: false, reason: 'unknown_session' });
    expect(b.seqs).toEqual([]);
  });

  it('a wrong key closes 4502 with bad_key and leaves the session as it was', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 1);
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: 'wrong', ack: 0 } });
    await h.settle();
    expect(b.frames).toEqual([
      { t: 'error', code: 'bad_key', message: expect.any(String) as string },
    ]);
    expect(b.closed?.code).toBe(4502);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false, depth: 1 });
  });

  it('a wrong key does not disturb the connection that holds the session', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: 'wrong', ack: 0 } });
    await h.settle();
    expect(b.closed?.code).toBe(4502);
    expect(a.t.closed).toBeUndefined();
    await h.hub.send(a.sid, 'still yours');
    await h.settle();
    expect(a.t.seqs).toEqual([1]);
  });

  it('an ack above last closes 4501 with bad_ack', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 2);
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 3 } });
    await h.settle();
    expect(b.frames).toEqual([
      { t: 'error', code: 'bad_ack', message: expect.any(String) as string },
    ]);
    expect(b.closed?.code).toBe(4501);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false, acked: 0 });
  });
});

describe('takeover', () => {
  it('closes the old connection with 4001; its later close does not detach the session', async () => {
    const h = new HubHarness();
    const disconnects = h.record('disconnect');
    const a = await h.session();
    for (const i of range(1, 3)) await h.hub.send(a.sid, i);
    await h.settle();
    const b = h.connect();
    const w = await h.hello(b, { sid: a.sid, key: a.key, ack: 1 });
    expect(w).toMatchObject({ resumed: true, recovered: true, last: 3 });
    expect(a.t.closed).toEqual({ code: 4001, reason: 'replaced by a newer connection' });
    expect(b.seqs).toEqual([2, 3]);

    a.t.fireClose();
    await h.settle();
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true });
    expect(disconnects).toEqual([
      { sid: a.sid, code: 4001, reason: 'replaced by a newer connection' },
    ]);

    await h.hub.send(a.sid, 4);
    await h.settle();
    expect(b.seqs).toEqual([2, 3, 4]);
    expect(a.t.seqs).toEqual([1, 2, 3]);
    expect(b.closed).toBeUndefined();
  });

  it('emits takeover (this node) when the old connection here is replaced, not for a plain resume', async () => {
    const h = new HubHarness({ node: 'node-x' });
    const takeovers = h.record('takeover');
    const a = await h.session();
    const b = h.connect();
    await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    expect(a.t.closed?.code).toBe(4001);
    expect(takeovers).toEqual([{ sid: a.sid, node: 'node-x' }]);
    // A resume of a detached session replaces no connection: no takeover.
    b.fireClose(1006);
    await h.settle();
    const c = h.connect();
    expect(await h.hello(c, { sid: a.sid, key: a.key, ack: 0 })).toMatchObject({ resumed: true });
    expect(takeovers).toHaveLength(1);
  });

  it('client messages are answered on the new connection', async () => {
    const h = new HubHarness();
    let release: () => void = () => {};
    h.hub.clientMessages.handler = () =>
      new Promise<string>((resolve) => {
        release = () => resolve('done');
      });
    const a = await h.session();
    a.t.peerSends({ t: 'msg', id: 'slow', data: 1 });
    await h.settle();
    const b = h.connect();
    await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
    release();
    await h.settle();
    expect(b.framesOf('ok')).toEqual([{ t: 'ok', id: 'slow', data: 'done' }]);
    expect(a.t.framesOf('ok')).toEqual([]);
  });
});

describe('a close during an in-flight resume', () => {
  it('the resuming connection closes: the session stays detached and nothing is written', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 2);
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    b.fireClose(1006);
    await h.settle();
    expect(b.messages).toEqual([]);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false, depth: 2 });
    // It can still be resumed afterwards, with nothing lost.
    const c = h.connect();
    expect(await h.hello(c, { sid: a.sid, key: a.key, ack: 0 })).toMatchObject({ recovered: true });
    expect(c.seqs).toEqual([1, 2]);
  });

  it('the old connection closes: the session ends up attached to the new one', async () => {
    const h = new HubHarness();
    const a = await h.session();
    await h.hub.send(a.sid, 1);
    await h.settle();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    a.t.fireClose(1006);
    await h.settle();
    expect(b.welcome).toMatchObject({ resumed: true, recovered: true });
    expect(b.seqs).toEqual([1]);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true });
    await h.hub.send(a.sid, 2);
    await h.settle();
    expect(b.seqs).toEqual([1, 2]);

    b.fireClose(1006);
    await h.settle();
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
  });

  it('both close: the session is detached', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    a.t.fireClose(1006);
    b.fireClose(1006);
    await h.settle();
    expect(b.messages).toEqual([]);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
  });

  it('the resuming connection closes while the old one is open: the old one keeps the session', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    b.fireClose(1006);
    await h.settle();
    expect(a.t.closed).toBeUndefined();
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true });
    await h.hub.send(a.sid, 'for a');
    await h.settle();
    expect(a.t.seqs).toEqual([1]);
  });

  it('the old connection closes while a resume with a wrong key is in flight: the session is detached', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: 'wrong', ack: 0 } });
    a.t.fireClose(1006);
    await h.settle();
    expect(b.closed?.code).toBe(4502);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
  });
  it('two resumes in flight, the first connection closes: the later one keeps the session attached (not reaped)', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 1);
    const b = h.connect();
    const c = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    c.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    b.fireClose(1006);
    await h.settle();
    expect(c.welcome).toMatchObject({ resumed: true, recovered: true });
    expect(c.seqs).toEqual([1]);
    // The first resume's close must not detach what the later one attached.
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: true });
    h.clock.advance(TEST_HUB_OPTIONS.sessionTtlMs + 1);
    await h.store.sweep(h.clock.now());
    await h.hub.send(a.sid, 'm2');
    await h.settle();
    expect(c.seqs).toEqual([1, 2]);
  });

  it('two resumes in flight, the first closes and the later has a wrong key: the session is detached', async () => {
    const h = new HubHarness();
    const a = await detachedSession(h, 1);
    const b = h.connect();
    const c = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    c.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: 'wrong', ack: 0 } });
    b.fireClose(1006);
    await h.settle();
    expect(c.closed?.code).toBe(4502);
    expect(h.hub.isAttached(a.sid)).toBe(false);
    expect(await h.store.getSession(a.sid)).toMatchObject({ attached: false });
  });
});

describe('a session ended or a store failing during an in-flight resume', () => {
  it('store.resume fails while the old connection closes: the session is detached (and reaped)', async () => {
    const h = new HubHarness({ hub: { sessionTtlMs: 0 } });
    const a = await h.session();
    await h.hub.send(a.sid, 'm1');
    await h.settle();

    // The store fails this one resume (a Redis hiccup, a breaker opening…).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h.store.resume = async () => {
      await gate;
      throw new Error('store unavailable');
    };

    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    // The old connection dies while the resume is in flight: its close leaves the detach to
    // the resume.
    a.t.fireClose(1006);
    release();
    await h.settle();
    expect(b.closed?.code).toBe(4003);

    // Nobody holds the session any more: it is detached, and with sessionTtl 0 reaped by the
    // next sweep.
    expect(h.hub.isAttached(a.sid)).toBe(false);
    h.clock.advance(10_000);
    await h.outbox.sweep();
    expect(await h.store.getSession(a.sid)).toBeUndefined();
  });

  it('an admin kick (endSession) racing a resume gives the new connection a new session', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    // The resume reaches the store first…
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    // …then the session is ended (admin kick; the same happens with `bye` from the old connection).
    void h.hub.endSession(a.sid);
    await h.settle();

    expect(await h.store.getSession(a.sid)).toBeUndefined();
    expect(b.welcome.resumed).toBe(false);
    expect(b.welcome.reason).toBe('unknown_session');
    expect(h.hub.isAttached(a.sid)).toBe(false);
    expect(a.t.closed?.code).toBe(1000);
  });

  it('bye from the old connection racing a resume: a new session, no ghost attachment', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    a.t.peerSends({ t: 'bye' });
    await h.settle();
    expect(await h.store.getSession(a.sid)).toBeUndefined();
    expect(b.welcome.resumed).toBe(false);
    expect(h.hub.isAttached(a.sid)).toBe(false);
  });

  it('a resume that starts while bye is being handled does not revive the session', async () => {
    const h = new HubHarness();
    // bye waits for the session's earlier client messages: a slow handler holds it there.
    let finish!: () => void;
    h.hub.setHandler(() => new Promise<void>((r) => (finish = r)));
    const a = await h.session();
    a.t.peerSends({ t: 'msg', id: 'c1', data: 'slow' }, { t: 'bye' });
    await h.settle();
    // The resume starts after bye did and reaches the store before bye forgets the session.
    const b = h.connect();
    b.peerSends({ t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } });
    await h.settle();
    finish();
    await h.settle();
    expect(await h.store.getSession(a.sid)).toBeUndefined();
    expect(b.welcome.resumed).toBe(false);
    expect(b.welcome.sid).not.toBe(a.sid);
    expect(h.hub.isAttached(a.sid)).toBe(false);
  });
});

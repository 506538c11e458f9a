/**
 * Incoming frames through a Hub with fake transports: the hello handshake, frames held until
 * welcome, protocol errors and their limit, acks, heartbeats and bye.
 */
import type { Connection } from './connection.js';
import { describe, expect, it } from 'vitest';
import { HubHarness, TEST_HUB_OPTIONS } from './test-support/hub-harness.js';

describe('hello', () => {
  it('a hello without resume gets a welcome for a new, attached session', async () => {
    const h = new HubHarness();
    const sessions = h.record('session');
    const resumes = h.record('resume');
    const connections = h.record('connection');
    const t = h.connect('10.0.0.1');
    const w = await h.hello(t);
    expect(w).toMatchObject({
      t: 'welcome',
      v: 1,
      resumed: false,
      recovered: false,
      reason: 'new_session',
      last: 0,
      hb: 1000,
    });
    expect(w.missing).toBeUndefined();
    expect(w.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(w.key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const rec = await h.store.getSession(w.sid);
    expect(rec).toMatchObject({ attached: true, last: 0, epoch: w.epoch });
    expect(connections).toEqual([{ remote: '10.0.0.1' }]);
    expect(sessions).toEqual([{ sid: w.sid, resumed: false }]);
    expect(resumes).toEqual([
      {
        sid: w.sid,
        resumed: false,
        recovered: false,
        reason: 'new_session',
        missing: 0,
        replayed: 0,
      },
    ]);
    expect(t.closed).toBeUndefined();
  });

  it('every hello gets its own session', async () => {
    const h = new HubHarness();
    const a = await h.session();
    const b = await h.session();
    expect(a.sid).not.toBe(b.sid);
    expect(a.key).not.toBe(b.key);
    expect(await h.store.stats()).toMatchObject({ sessions: 2, attached: 2 });
  });

  it.each<[string, string]>([
    ['a ping', '{"t":"ping"}'],
    ['a msg', '{"t":"msg","id":"a","data":1}'],
    ['an unknown type', '{"t":"subscribe"}'],
    ['not JSON', 'hello'],
  ])('%s before hello closes 4501 with hello_required', async (_name, text) => {
    const h = new HubHarness();
    const errors = h.record('frameError');
    const t = h.connect();
    t.peerSendsRaw(text);
    await h.settle();
    expect(t.frames).toEqual([
      { t: 'error', code: 'hello_required', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4501);
    expect(errors).toEqual([{ sid: undefined, code: 'hello_required' }]);
    expect(await h.store.stats()).toMatchObject({ sessions: 0 });
  });

  it('an unsupported version closes 4501 with unsupported_version', async () => {
    const h = new HubHarness();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 2 });
    await h.settle();
    expect(t.frames).toEqual([
      { t: 'error', code: 'unsupported_version', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4501);
  });

  it('a refused token closes 4500; an accepted one gets a welcome', async () => {
    const seen: (string | undefined)[] = [];
    const h = new HubHarness({
      hub: {
        authenticate: (hello) => {
          seen.push(hello.token);
          return Promise.resolve(hello.token === 'good');
        },
      },
    });
    const bad = h.connect();
    bad.peerSends({ t: 'hello', v: 1, token: 'bad' });
    const good = h.connect();
    good.peerSends({ t: 'hello', v: 1, token: 'good' });
    await h.settle();
    expect(bad.frames).toEqual([
      { t: 'error', code: 'unauthorized', message: expect.any(String) as string },
    ]);
    expect(bad.closed?.code).toBe(4500);
    expect(good.welcome.resumed).toBe(false);
    expect(seen).toEqual(['bad', 'good']);
  });

  it('a second hello on an open connection is a bad_frame, and the connection stays open', async () => {
    const h = new HubHarness();
    const { t } = await h.session();
    t.take();
    t.peerSends({ t: 'hello', v: 1 });
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'error', code: 'bad_frame', message: expect.any(String) as string },
    ]);
    expect(t.closed).toBeUndefined();
    expect(await h.store.stats()).toMatchObject({ sessions: 1 });
  });

  it('a connection that closes while hello creates its session frees it (nobody has its key)', async () => {
    const h = new HubHarness();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 });
    t.fireClose(1006);
    await h.settle();
    expect(t.messages).toEqual([]);
    expect(await h.store.stats()).toMatchObject({ sessions: 0, attached: 0, detached: 0 });
  });

  it('a store failure during hello closes 4003 with unavailable and emits error', async () => {
    const h = new HubHarness();
    const errors = h.record('error');
    await h.store.close();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 });
    await h.settle();
    expect(t.frames).toEqual([
      { t: 'error', code: 'unavailable', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4003);
    expect(errors.map((e) => e.where)).toEqual(['hello']);
  });
});

describe('frames before welcome', () => {
  it('are held while hello is in flight and handled in order after the welcome', async () => {
    const h = new HubHarness();
    const seen: unknown[] = [];
    h.hub.clientMessages.handler = (m) => {
      seen.push(m.data);
      return `got ${String(m.data)}`;
    };
    const t = h.connect();
    t.peerSendsRaw(['{"t":"hello","v":1}', '{"t":"ping"}'].join('\n'));
    t.peerSends({ t: 'subscribe' });
    t.peerSends({ t: 'msg', id: 'm1', data: 'early' }, { t: 'ping' });
    t.peerSendsRaw('not json');
    expect(t.messages).toEqual([]);
    await h.settle();
    expect(t.frames.map((f) => (f.t === 'error' ? `error:${f.code}` : f.t))).toEqual([
      'welcome',
      'pong',
      'error:unknown_type',
      'pong',
      'error:bad_frame',
      'ok',
    ]);
    expect(t.framesOf('ok')).toEqual([{ t: 'ok', id: 'm1', data: 'got early' }]);
    expect(seen).toEqual(['early']);
    expect(t.closed).toBeUndefined();
  });

  it('an ack held before welcome is applied after it', async () => {
    const h = new HubHarness();
    const a = await h.session();
    await h.hub.send(a.sid, 1);
    await h.hub.send(a.sid, 2);
    a.t.fireClose(1006);
    await h.settle();
    const t = h.connect();
    t.peerSends(
      { t: 'hello', v: 1, resume: { sid: a.sid, key: a.key, ack: 0 } },
      { t: 'ack', seq: 2 },
    );
    await h.settle();
    expect(t.seqs).toEqual([1, 2]);
    expect(await h.store.getSession(a.sid)).toMatchObject({ acked: 2, depth: 0 });
  });

  it('a bye held before welcome ends the session after it', async () => {
    const h = new HubHarness();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 }, { t: 'bye' });
    await h.settle();
    const sid = t.welcome.sid;
    expect(t.closed?.code).toBe(1000);
    expect(await h.store.getSession(sid)).toBeUndefined();
  });
});

describe('frames before welcome, bounded', () => {
  it('more than 1000 frames while hello is in flight close 4501 with too_many_frames', async () => {
    const h = new HubHarness();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 });
    t.peerSendsRaw(Array.from({ length: 1001 }, () => '{"t":"ping"}').join('\n'));
    await h.settle();
    expect(t.frames).toEqual([
      { t: 'error', code: 'too_many_frames', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4501);
  });

  it('1000 frames while hello is in flight are all handled after the welcome', async () => {
    const h = new HubHarness();
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 });
    t.peerSendsRaw(Array.from({ length: 1000 }, () => '{"t":"ping"}').join('\n'));
    await h.settle();
    expect(t.frames[0]?.t).toBe('welcome');
    expect(t.framesOf('pong')).toHaveLength(1000);
    expect(t.closed).toBeUndefined();
  });
});

describe('bad frames', () => {
  it('each gets an error frame; past maxBadFrames the connection is closed 4501', async () => {
    const h = new HubHarness({ hub: { maxBadFrames: 3 } });
    const errors = h.record('frameError');
    const { t, sid } = await h.session();
    t.take();
    t.peerSendsRaw('nope');
    t.peerSends({ t: 'subscribe' });
    t.peerSends({ t: 'ack', seq: -1 });
    await h.settle();
    expect(t.take().map((f) => f.t === 'error' && f.code)).toEqual([
      'bad_frame',
      'unknown_type',
      'bad_frame',
    ]);
    expect(t.closed).toBeUndefined();

    t.peerSends({ t: 'whatever' });
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'error', code: 'too_many_errors', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4501);
    expect(errors).toEqual([
      { sid, code: 'bad_frame' },
      { sid, code: 'unknown_type' },
      { sid, code: 'bad_frame' },
      { sid, code: 'unknown_type' },
    ]);
  });

  it('good frames in between do not reset the count', async () => {
    const h = new HubHarness({ hub: { maxBadFrames: 2 } });
    const { t } = await h.session();
    t.peerSendsRaw(['x', '{"t":"ping"}', 'y', '{"t":"ping"}', 'z', '{"t":"ping"}'].join('\n'));
    await h.settle();
    expect(t.closed?.code).toBe(4501);
    // The frames after the closing one are not handled.
    expect(t.framesOf('pong')).toHaveLength(2);
  });

  it('the connection stays usable below the limit', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    t.peerSendsRaw('{"t":"unknown"}\n{"t":"ack"}');
    await h.hub.send(sid, 'still here');
    await h.settle();
    expect(t.framesOf('msg')).toEqual([{ t: 'msg', seq: 1, data: 'still here' }]);
    expect(t.closed).toBeUndefined();
  });
});

describe('acks, heartbeats and bye', () => {
  it('an ack removes delivered messages from the outbox and emits ack', async () => {
    const h = new HubHarness();
    const acks = h.record('ack');
    const { t, sid } = await h.session();
    for (const d of ['a', 'b', 'c']) await h.hub.send(sid, d);
    await h.settle();
    h.clock.advance(40);
    t.peerSends({ t: 'ack', seq: 2 });
    await h.settle();
    expect(await h.store.getSession(sid)).toMatchObject({ acked: 2, depth: 1 });
    expect(acks).toEqual([{ sid, seq: 2, removed: 2, latencyMs: 40 }]);
  });

  it('an ack above last gets error bad_ack, changes nothing, and counts as a bad frame', async () => {
    const h = new HubHarness({ hub: { maxBadFrames: 1 } });
    const errors = h.record('frameError');
    const { t, sid } = await h.session();
    await h.hub.send(sid, 'a');
    await h.settle();
    t.take();
    t.peerSends({ t: 'ack', seq: 5 });
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'error', code: 'bad_ack', message: expect.any(String) as string },
    ]);
    expect(t.closed).toBeUndefined();
    expect(errors).toEqual([{ sid, code: 'bad_ack' }]);
    expect(await h.store.getSession(sid)).toMatchObject({ acked: 0, depth: 1 });

    t.peerSends({ t: 'ack', seq: 6 });
    await h.settle();
    expect(t.closed?.code).toBe(4501);
  });

  it('ping gets pong; pong gets nothing', async () => {
    const h = new HubHarness();
    const { t } = await h.session();
    t.take();
    t.peerSends({ t: 'ping' }, { t: 'pong' }, { t: 'ping' });
    await h.settle();
    expect(t.take()).toEqual([{ t: 'pong' }, { t: 'pong' }]);
  });

  it('a pong alone in its message (the fast path) counts as traffic and gets nothing', async () => {
    const h = new HubHarness();
    const { t } = await h.session();
    t.take();
    const conn = (t as unknown as { handlers: Connection }).handlers;
    h.clock.advance(5000);
    const before = conn.lastReceivedAt;
    t.peerSendsRaw('{"t":"pong"}');
    await h.settle();
    expect(conn.lastReceivedAt).toBe(before + 5000);
    expect(t.take()).toEqual([]);
    expect(t.closed).toBeUndefined();
  });

  it('bye forgets the session, dead-letters leftovers, closes 1000, and a resume then starts over', async () => {
    const h = new HubHarness();
    const ends = h.record('end');
    const drops = h.record('drop');
    const { t, sid, key } = await h.session();
    for (const d of ['a', 'b', 'c']) await h.hub.send(sid, d);
    await h.settle();
    t.peerSends({ t: 'ack', seq: 1 }, { t: 'bye' }, { t: 'ping' });
    await h.settle();
    expect(t.closed).toEqual({ code: 1000, reason: 'bye' });
    expect(t.framesOf('pong')).toEqual([]);
    expect(await h.store.getSession(sid)).toBeUndefined();
    expect(h.dlq.list({ sid }).map((e) => [e.seq, e.reason, e.data])).toEqual([
      [2, 'session_closed', '"b"'],
      [3, 'session_closed', '"c"'],
    ]);
    expect(ends).toEqual([{ sid, by: 'bye' }]);
    expect(drops).toEqual([{ sid, reason: 'session_closed', count: 2 }]);

    // The close event of the ended connection does not bring the session back.
    t.fireClose();
    await h.settle();
    expect(await h.store.stats()).toMatchObject({ sessions: 0 });

    const again = h.connect();
    const w = await h.hello(again, { sid, key, ack: 3 });
    expect(w).toMatchObject({ resumed: false, recovered: false, reason: 'unknown_session' });
    expect(w.sid).not.toBe(sid);
  });

  it('bye whose forget fails detaches the session, so it is reaped after its TTL (never attached forever)', async () => {
    const h = new HubHarness();
    const errors = h.record('error');
    const { t, sid } = await h.session();
    await h.hub.send(sid, 'left');
    await h.settle();
    const deleteSession = h.store.deleteSession.bind(h.store);
    h.store.deleteSession = () => Promise.reject(new Error('store down'));
    t.peerSends({ t: 'bye' });
    await h.settle();
    h.store.deleteSession = deleteSession;
    expect(t.closed).toEqual({ code: 1000, reason: 'bye' });
    expect(errors.map((e) => e.where)).toEqual(['bye']);
    t.fireClose();
    await h.settle();
    expect(await h.store.getSession(sid)).toMatchObject({ attached: false });
    h.clock.advance(TEST_HUB_OPTIONS.sessionTtlMs + 1);
    const swept = await h.outbox.sweep();
    expect(swept.reaped.map((r) => r.sid)).toEqual([sid]);
    expect(h.dlq.list({ sid }).map((e) => e.reason)).toEqual(['session_reaped']);
  });

  it('messages sent to a session after bye are refused as unknown_session', async () => {
    const h = new HubHarness();
    const { t, sid } = await h.session();
    t.peerSends({ t: 'bye' });
    await h.settle();
    await expect(h.hub.send(sid, 'late')).rejects.toMatchObject({ code: 'unknown_session' });
  });
});

describe('bye after client messages', () => {
  it('a msg followed by bye in the same message is handled and answered first', async () => {
    const h = new HubHarness();
    const seen: unknown[] = [];
    h.hub.setHandler((m) => {
      seen.push(m.data);
      return 'done';
    });
    const a = await h.session();
    a.t.peerSends({ t: 'msg', id: 'c1', data: 'last words' }, { t: 'bye' });
    await h.settle();
    expect(a.t.closed?.code).toBe(1000);
    expect(seen).toEqual(['last words']);
    expect(a.t.framesOf('ok').map((f) => f.id)).toEqual(['c1']);
  });
});

/**
 * Identity in the core: the `authenticate` hook's principal becomes the session's user, a
 * resume must name the same user, handlers see who sent a message, sessions per user are
 * bounded, and a send to a user reaches each of its sessions once.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, type Authenticate } from '../auth/principal.js';
import type { ClientMessage } from './client-messages.js';
import { toIdentity } from './identity.js';
import { HubHarness } from './test-support/hub-harness.js';
import { TwoNodes } from './test-support/two-nodes.js';
import type { FakeTransport } from './test-support/fake-transport.js';

/** Tokens `user:<name>` authenticate as <name> with a claim; anything else is refused. */
const byToken: Authenticate = (hello) => {
  const token = hello.token ?? '';
  if (token.startsWith('user:')) return { user: token.slice(5), claims: { plan: 'pro' } };
  if (token === 'anonymous') return true;
  if (token === 'throw') throw new Error('boom');
  if (token === 'later') throw new AuthError('jwks_unavailable', 'no keys', { retryable: true });
  throw new AuthError('bad_token');
};

function hello(h: HubHarness, token: string, resume?: { sid: string; key: string; ack: number }) {
  const t = h.connect();
  t.peerSends(
    resume === undefined ? { t: 'hello', v: 1, token } : { t: 'hello', v: 1, token, resume },
  );
  return t;
}

async function welcomed(h: HubHarness, t: FakeTransport) {
  await h.settle();
  return t.welcome;
}

describe('identity', () => {
  it('stores the principal with the session and shows it in the record', async () => {
    const h = new HubHarness({ hub: { authenticate: byToken } });
    const w = await welcomed(h, hello(h, 'user:alice'));
    expect(await h.store.getSession(w.sid)).toMatchObject({
      user: 'alice',
      claims: JSON.stringify({ plan: 'pro' }),
    });
    const anon = await welcomed(h, hello(h, 'anonymous'));
    expect((await h.store.getSession(anon.sid))?.user).toBeUndefined();
  });

  it('refusals close 4500, say only unauthorized, and count their reason', async () => {
    const h = new HubHarness({
      hub: {
        authenticate: (hello) =>
          hello.token === 'bad-principal'
            ? { user: '' }
            : hello.token === 'no'
              ? false
              : byToken(hello, { ip: '', headers: {}, url: '' }),
      },
    });
    const failed = h.record('authFailed');
    const errors = h.record('error');
    const ts = ['nope', 'no', 'bad-principal'].map((token) => hello(h, token));
    await h.settle();
    for (const t of ts) {
      expect(t.closed?.code).toBe(4500);
      expect(t.frames).toEqual([{ t: 'error', code: 'unauthorized', message: 'unauthorized' }]);
    }
    expect(failed.map((f) => f.reason)).toEqual(['bad_token', 'refused', 'bad_principal']);
    // A hook that fails (not a refusal) is retryable: 4003 unavailable, and logged.
    const broken = hello(h, 'throw');
    await h.settle();
    expect(broken.closed?.code).toBe(4003);
    expect(broken.frames).toEqual([
      { t: 'error', code: 'unavailable', message: expect.any(String) as string },
    ]);
    expect(failed.at(-1)).toEqual({ reason: 'error' });
    expect(errors).toMatchObject([{ where: 'authenticate' }]);
    expect(await h.store.stats()).toMatchObject({ sessions: 0 });
  });

  it('a retryable AuthError closes 4003 unavailable and counts its reason', async () => {
    const h = new HubHarness({ hub: { authenticate: byToken } });
    const failed = h.record('authFailed');
    const errors = h.record('error');
    const t = hello(h, 'later');
    await h.settle();
    expect(t.closed?.code).toBe(4003);
    expect(failed).toEqual([{ reason: 'jwks_unavailable' }]);
    // The check could not be made: logged like any failing hook (why the keys are missing),
    // which a refusal (the client's own fault) is not.
    expect(errors).toMatchObject([
      { where: 'authenticate', error: { reason: 'jwks_unavailable' } },
    ]);
  });

  it('the hook sees the upgrade request (a Bearer header for Node clients)', async () => {
    const seen: unknown[] = [];
    const h = new HubHarness({
      hub: {
        authenticate: (_hello, request) => {
          seen.push(request);
          return { user: 'bob' };
        },
      },
    });
    const t = h.connect('10.0.0.1', {
      headers: { authorization: 'Bearer abc' },
      url: '/ws?x=1',
    });
    t.peerSends({ t: 'hello', v: 1 });
    await h.settle();
    expect(seen).toEqual([
      { ip: '10.0.0.1', headers: { authorization: 'Bearer abc' }, url: '/ws?x=1' },
    ]);
  });

  it('a resume as the same user recovers; as another user it gets a fresh session of its own', async () => {
    const h = new HubHarness({ hub: { authenticate: byToken } });
    const first = hello(h, 'user:alice');
    const w = await welcomed(h, first);
    await h.hub.send(w.sid, 'for alice');
    await h.settle();
    first.fireClose(1006);
    await h.settle();

    const mallory = hello(h, 'user:mallory', { sid: w.sid, key: w.key, ack: 0 });
    const mw = await welcomed(h, mallory);
    expect(mw).toMatchObject({ resumed: false, reason: 'unknown_session' });
    expect(mw.sid).not.toBe(w.sid);
    expect(mallory.framesOf('msg')).toEqual([]);
    // Alice's session is untouched: still detached, its message still waiting.
    expect(await h.store.getSession(w.sid)).toMatchObject({
      user: 'alice',
      attached: false,
      depth: 1,
    });
    expect(await h.store.getSession(mw.sid)).toMatchObject({ user: 'mallory' });

    const again = hello(h, 'user:alice', { sid: w.sid, key: w.key, ack: 0 });
    expect(await welcomed(h, again)).toMatchObject({ sid: w.sid, resumed: true, recovered: true });
    expect(again.framesOf('msg').map((m) => m.data)).toEqual(['for alice']);
  });

  it('handlers receive the user and claims of the session that sent the message', async () => {
    const got: ClientMessage[] = [];
    const h = new HubHarness({
      hub: {
        authenticate: byToken,
        handler: (m) => {
          got.push(m);
          return 'ok';
        },
      },
    });
    const t = hello(h, 'user:carol');
    const w = await welcomed(h, t);
    t.peerSends({ t: 'msg', id: 'm1', data: { x: 1 } });
    const anon = hello(h, 'anonymous');
    const aw = await welcomed(h, anon);
    anon.peerSends({ t: 'msg', id: 'm2', data: 2 });
    await h.settle();
    expect(got).toEqual([
      { sid: w.sid, id: 'm1', data: { x: 1 }, user: 'carol', claims: { plan: 'pro' } },
      { sid: aw.sid, id: 'm2', data: 2 },
    ]);
  });

  it('sendToUser stores the message once in each live session of the user, each with its own seq', async () => {
    const h = new HubHarness({ hub: { authenticate: byToken } });
    const a = hello(h, 'user:dave');
    const aw = await welcomed(h, a);
    await h.hub.send(aw.sid, 'earlier');
    const b = hello(h, 'user:dave');
    const bw = await welcomed(h, b);
    const other = hello(h, 'user:erin');
    await welcomed(h, other);
    const r = await h.hub.sendToUser('dave', { hi: 1 }, { id: 'p1' });
    expect(r).toEqual({
      user: 'dave',
      sessions: [
        { sid: aw.sid, seq: 2 },
        { sid: bw.sid, seq: 1 },
      ],
    });
    // The same id again: a duplicate in each session, nothing stored twice.
    const again = await h.hub.sendToUser('dave', { hi: 1 }, { id: 'p1' });
    expect(again.sessions).toEqual([
      { sid: aw.sid, seq: 2, dup: true },
      { sid: bw.sid, seq: 1, dup: true },
    ]);
    await h.settle();
    expect(a.framesOf('msg').map((m) => m.data)).toEqual(['earlier', { hi: 1 }]);
    expect(b.framesOf('msg').map((m) => m.data)).toEqual([{ hi: 1 }]);
    expect(other.framesOf('msg')).toEqual([]);
    await expect(h.hub.sendToUser('nobody', 1)).rejects.toMatchObject({ code: 'unknown_user' });
    await expect(h.hub.sendToUser('', 1)).rejects.toMatchObject({ code: 'bad_options' });
    await expect(h.hub.sendToUser('dave', undefined)).rejects.toMatchObject({ code: 'bad_data' });
  });

  it('past maxSessionsPerUser the oldest detached session ends first, then the oldest attached', async () => {
    const h = new HubHarness({ hub: { authenticate: byToken, maxSessionsPerUser: 2 } });
    const ended = h.record('end');
    const t1 = hello(h, 'user:fay');
    const w1 = await welcomed(h, t1);
    const t2 = hello(h, 'user:fay');
    const w2 = await welcomed(h, t2);
    // The second one goes away: detached, it is the first to go.
    t2.fireClose(1006);
    await h.settle();
    const t3 = hello(h, 'user:fay');
    const w3 = await welcomed(h, t3);
    await h.settle();
    expect(ended).toEqual([{ sid: w2.sid, by: 'user_limit' }]);
    expect((await h.hub.userSessions('fay')).map((s) => s.sid)).toEqual([w1.sid, w3.sid]);
    // All attached now: the oldest attached one is closed with 1000.
    const t4 = hello(h, 'user:fay');
    const w4 = await welcomed(h, t4);
    await h.settle();
    expect(ended.at(-1)).toEqual({ sid: w1.sid, by: 'user_limit' });
    expect(t1.closed).toEqual({ code: 1000, reason: 'too many sessions' });
    expect(t3.closed).toBeUndefined();
    expect(t4.closed).toBeUndefined();
    expect((await h.hub.userSessions('fay')).map((s) => s.sid)).toEqual([w3.sid, w4.sid]);
  });
});

describe('identity on two nodes (one store, one bus)', () => {
  it('a send to a user on one node reaches the user on both; the limit counts both nodes', async () => {
    const n = new TwoNodes(undefined, { hub: { authenticate: byToken, maxSessionsPerUser: 2 } });
    const onA = hello(n.a, 'user:gus');
    const wa = await welcomed(n.a, onA);
    const onB = hello(n.b, 'user:gus');
    const wb = await welcomed(n.b, onB);
    const r = await n.b.hub.sendToUser('gus', 'hello both');
    expect(r.sessions.map((s) => s.sid)).toEqual([wa.sid, wb.sid]);
    await n.settle();
    expect(onA.framesOf('msg').map((m) => m.data)).toEqual(['hello both']);
    expect(onB.framesOf('msg').map((m) => m.data)).toEqual(['hello both']);
    // A third session of gus on B ends the oldest, the one attached on A.
    const third = hello(n.b, 'user:gus');
    await welcomed(n.b, third);
    await n.settle();
    expect(onA.closed).toEqual({ code: 1000, reason: 'too many sessions' });
    expect(onB.closed).toBeUndefined();
    // Another user resuming gus's session on node A gets a session of its own.
    const thief = hello(n.a, 'user:hal', { sid: wb.sid, key: wb.key, ack: 0 });
    expect(await welcomed(n.a, thief)).toMatchObject({ resumed: false });
    await n.settle();
    expect(onB.closed).toBeUndefined();
    expect(n.b.hub.isAttached(wb.sid)).toBe(true);
  });
});

describe('toIdentity', () => {
  it('accepts a user of 1-256 characters and JSON object claims within 4 KiB', () => {
    expect(toIdentity({ user: 'u' })).toEqual({
      user: 'u',
      claims: undefined,
      claimsJson: undefined,
    });
    expect(toIdentity({ user: 'u', claims: { a: [1] } })?.claimsJson).toBe('{"a":[1]}');
    expect(toIdentity({ user: 'x'.repeat(256) })).toBeDefined();
    for (const bad of [
      null,
      'alice',
      { user: '' },
      { user: 'x'.repeat(257) },
      { user: 7 },
      { user: 'u', claims: [1] },
      { user: 'u', claims: 'text' },
      { user: 'u', claims: { big: 'x'.repeat(4096) } },
      { user: 'u', claims: { n: 10n } },
    ])
      expect(toIdentity(bad)).toBeUndefined();
  });
});

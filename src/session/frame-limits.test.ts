/**
 * The client limits through a Hub with fake transports (docs/security.md "Limits"): the rate
 * of client messages (nack rate_limited with retryAfterMs, then 4003 rate_limited), the JSON
 * depth of frames (nack or error too_deep), and the pending-message bound (nack overloaded),
 * each reported as a `clientMessageRefused` event.
 */
import { describe, expect, it } from 'vitest';
import type { ClientLimits } from './client-limits.js';
import type { MessageHandler } from './client-messages.js';
import { HubHarness, TEST_HUB_OPTIONS } from './test-support/hub-harness.js';

const msg = (id: string, data: unknown = id) => ({ t: 'msg', id, data });

async function setup(limits: Partial<ClientLimits>, handler?: MessageHandler) {
  const h = new HubHarness({
    hub: { clientLimits: { ...TEST_HUB_OPTIONS.clientLimits, ...limits } },
  });
  const handled: string[] = [];
  h.hub.clientMessages.handler =
    handler ??
    ((m) => {
      handled.push(m.id);
      return m.data;
    });
  const refused = h.record('clientMessageRefused');
  const frameErrors = h.record('frameError');
  const s = await h.session();
  s.t.take();
  return { h, handled, refused, frameErrors, ...s };
}

const nack = (id: string, code: string, retryable: boolean, retryAfterMs?: number) => ({
  t: 'nack',
  id,
  code,
  message: expect.any(String) as string,
  retryable,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

describe('client message rate (clientRate, clientBurst)', () => {
  it('past the burst a message gets nack rate_limited with retryAfterMs; retried then, it is handled', async () => {
    const { h, t, sid, handled, refused } = await setup({ rate: 10, burst: 2 });
    t.peerSends(msg('a'), msg('b'), msg('c'), msg('d'));
    await h.settle();
    expect(t.take()).toEqual([
      nack('c', 'rate_limited', true, 100),
      nack('d', 'rate_limited', true, 200),
      { t: 'ok', id: 'a', data: 'a' },
      { t: 'ok', id: 'b', data: 'b' },
    ]);
    expect(handled).toEqual(['a', 'b']);
    expect(refused).toEqual([
      { sid, id: 'c', code: 'rate_limited' },
      { sid, id: 'd', code: 'rate_limited' },
    ]);
    // Retried when told, each fits.
    h.clock.advance(100);
    t.peerSends(msg('c'));
    await h.settle();
    h.clock.advance(100);
    t.peerSends(msg('d'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'ok', id: 'c', data: 'c' },
      { t: 'ok', id: 'd', data: 'd' },
    ]);
    expect(handled).toEqual(['a', 'b', 'c', 'd']);
    expect(t.closed).toBeUndefined();
  });

  it('a client that keeps sending past the promised waits is closed with 4003 rate_limited', async () => {
    const { h, t, sid, handled, frameErrors } = await setup({ rate: 10, burst: 1, maxWaitMs: 300 });
    // a fits; b, c, d are promised 100, 200, 300 ms; e would need 400 ms.
    t.peerSends(msg('a'), msg('b'), msg('c'), msg('d'), msg('e'), msg('f'));
    await h.settle();
    const frames = t.take();
    expect(
      frames.filter((f) => f.t === 'nack').map((f) => f.t === 'nack' && f.retryAfterMs),
    ).toEqual([100, 200, 300]);
    expect(frames).toContainEqual({
      t: 'error',
      code: 'rate_limited',
      message: expect.any(String) as string,
    });
    expect(t.closed?.code).toBe(4003);
    expect(frameErrors).toEqual([{ sid, code: 'rate_limited' }]);
    // Nothing after the closing frame was handled.
    expect(handled).toEqual(['a']);
  });

  it('each connection has its own bucket: a flood on one leaves another untouched', async () => {
    const { h, t } = await setup({ rate: 10, burst: 2, maxWaitMs: 300 });
    const other = await h.session();
    other.t.take();
    t.peerSends(...Array.from({ length: 20 }, (_, i) => msg(`x${i}`)));
    await h.settle();
    expect(t.closed?.code).toBe(4003);
    other.t.peerSends(msg('y1'), msg('y2'));
    await h.settle();
    expect(other.t.take()).toEqual([
      { t: 'ok', id: 'y1', data: 'y1' },
      { t: 'ok', id: 'y2', data: 'y2' },
    ]);
  });

  it('pings, acks and other frames do not use the bucket', async () => {
    const { h, t } = await setup({ rate: 1, burst: 1 });
    t.peerSends(...Array.from({ length: 50 }, () => ({ t: 'ping' })), { t: 'ack', seq: 0 });
    await h.settle();
    t.peerSends(msg('a'));
    await h.settle();
    expect(t.framesOf('ok')).toEqual([{ t: 'ok', id: 'a', data: 'a' }]);
  });
});

describe('JSON depth (maxJsonDepth)', () => {
  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };

  it('msg data at the limit is handled; one level deeper gets nack too_deep (not retryable)', async () => {
    const { h, t, sid, handled, refused } = await setup({ maxDepth: 3 });
    t.peerSends(msg('ok', nested(3)), msg('deep', nested(4)));
    await h.settle();
    expect(t.take()).toEqual([
      nack('deep', 'too_deep', false),
      { t: 'ok', id: 'ok', data: nested(3) },
    ]);
    expect(handled).toEqual(['ok']);
    expect(refused).toEqual([{ sid, id: 'deep', code: 'too_deep' }]);
  });

  it('too_deep nacks do not count toward maxBadFrames (the SDK can send such data)', async () => {
    const { h, t } = await setup({ maxDepth: 2 });
    for (let i = 0; i <= TEST_HUB_OPTIONS.maxBadFrames + 2; i++)
      t.peerSends(msg(`d${i}`, nested(5)));
    await h.settle();
    expect(t.closed).toBeUndefined();
    expect(t.framesOf('nack')).toHaveLength(TEST_HUB_OPTIONS.maxBadFrames + 3);
  });

  it('deep unknown fields of other frames are dropped, as any unknown field', async () => {
    const { h, t, frameErrors } = await setup({ maxDepth: 2 });
    // 50 000 levels: too deep for JSON.stringify; parsed and dropped.
    t.peerSendsRaw(`{"t":"ping","extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
    await h.settle();
    expect(t.take()).toEqual([{ t: 'pong' }]);
    expect(frameErrors).toEqual([]);
  });

  it('a deep msg sent with hello, before welcome, is answered after welcome', async () => {
    const h = new HubHarness({
      hub: { clientLimits: { ...TEST_HUB_OPTIONS.clientLimits, maxDepth: 2 } },
    });
    const t = h.connect();
    t.peerSends({ t: 'hello', v: 1 }, msg('deep', nested(3)));
    await h.settle();
    expect(t.frames.map((f) => f.t)).toEqual(['welcome', 'nack']);
    expect(t.framesOf('nack')).toEqual([nack('deep', 'too_deep', false)]);
  });

  it('a deep msg takes its place in the rate like any message', async () => {
    const { h, t } = await setup({ maxDepth: 2, rate: 10, burst: 1 });
    t.peerSends(msg('deep', nested(3)), msg('next'));
    await h.settle();
    expect(t.take()).toEqual([
      nack('deep', 'too_deep', false),
      nack('next', 'rate_limited', true, 100),
    ]);
  });
});

describe('pending client messages (maxPendingClientMessages)', () => {
  it('a nack overloaded is reported as clientMessageRefused', async () => {
    const h = new HubHarness({ hub: { maxQueuedClientMessages: 1 } });
    h.hub.clientMessages.handler = () => new Promise(() => undefined);
    const refused = h.record('clientMessageRefused');
    const { t, sid } = await h.session();
    t.peerSends(msg('a'), msg('b'));
    await h.settle();
    expect(t.framesOf('nack')).toEqual([nack('b', 'overloaded', true)]);
    expect(refused).toEqual([{ sid, id: 'b', code: 'overloaded' }]);
  });
});

/**
 * Client → server messages through the Hub: one at a time per session in arrival order,
 * dedup, the per-session bound, and handler outcomes.
 */
import { describe, expect, it } from 'vitest';
import type { OkFrame, ServerFrame } from '../protocol/index.js';
import { RwsError } from '../errors.js';
import { NackError, type ClientMessage, type MessageHandler } from './client-messages.js';
import { HubHarness } from './test-support/hub-harness.js';

/** A handler whose calls wait until the test resolves or rejects them. */
function manualHandler() {
  const calls: {
    message: ClientMessage;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const handler: MessageHandler = (message) =>
    new Promise((resolve, reject) => {
      calls.push({ message, resolve, reject });
    });
  return { handler, calls, ids: () => calls.map((c) => c.message.id) };
}

async function setup(options: { maxQueued?: number; handler?: MessageHandler } = {}) {
  const h = new HubHarness(
    options.maxQueued === undefined ? {} : { hub: { maxQueuedClientMessages: options.maxQueued } },
  );
  if (options.handler !== undefined) h.hub.clientMessages.handler = options.handler;
  const s = await h.session();
  s.t.take();
  return { h, ...s };
}

/** `ok dup` may repeat the original result (when the store kept it), never anything else. */
function expectDup(frame: ServerFrame | undefined, id: string, original: unknown): void {
  expect(frame).toMatchObject({ t: 'ok', id, dup: true });
  const { data } = frame as OkFrame;
  if (data !== undefined) expect(data).toEqual(original);
}

const msg = (id: string, data: unknown = id) => ({ t: 'msg', id, data });

describe('client messages', () => {
  it('are handled one at a time per session, in arrival order', async () => {
    const m = manualHandler();
    const { h, t, sid } = await setup({ handler: m.handler });
    t.peerSends(msg('a'), msg('b'));
    t.peerSends(msg('c'));
    await h.settle();
    expect(m.ids()).toEqual(['a']);
    expect(m.calls[0]!.message).toEqual({ sid, id: 'a', data: 'a' });
    expect(t.take()).toEqual([]);

    m.calls[0]!.resolve('A');
    await h.settle();
    expect(m.ids()).toEqual(['a', 'b']);
    expect(t.take()).toEqual([{ t: 'ok', id: 'a', data: 'A' }]);

    m.calls[1]!.resolve(undefined);
    await h.settle();
    m.calls[2]!.resolve({ n: 3 });
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'ok', id: 'b' },
      { t: 'ok', id: 'c', data: { n: 3 } },
    ]);
  });

  it('sessions do not wait for each other', async () => {
    const m = manualHandler();
    const h = new HubHarness();
    h.hub.clientMessages.handler = m.handler;
    const x = await h.session();
    const y = await h.session();
    x.t.peerSends(msg('x1'));
    y.t.peerSends(msg('y1'));
    await h.settle();
    expect(m.ids()).toEqual(['x1', 'y1']);
    m.calls[1]!.resolve('Y');
    await h.settle();
    expect(y.t.framesOf('ok')).toEqual([{ t: 'ok', id: 'y1', data: 'Y' }]);
    expect(x.t.framesOf('ok')).toEqual([]);
  });

  it('a duplicate id arriving while the first is in flight is answered ok dup after the first finished', async () => {
    const m = manualHandler();
    const { h, t, sid } = await setup({ handler: m.handler });
    const handled = h.record('clientMessage');
    t.peerSends(msg('x', 1));
    t.peerSends(msg('x', 1));
    await h.settle();
    expect(m.ids()).toEqual(['x']);
    expect(t.take()).toEqual([]);

    m.calls[0]!.resolve('first');
    await h.settle();
    const replies = t.take();
    expect(replies).toHaveLength(2);
    expect(replies[0]).toEqual({ t: 'ok', id: 'x', data: 'first' });
    expectDup(replies[1], 'x', 'first');
    expect(m.calls).toHaveLength(1);
    expect(handled).toEqual([
      { sid, id: 'x', dup: false, ok: true },
      { sid, id: 'x', dup: true, ok: true },
    ]);
  });

  it('a duplicate after the first finished is answered ok dup without calling the handler', async () => {
    let calls = 0;
    const { h, t } = await setup({ handler: () => ++calls });
    t.peerSends(msg('x'));
    await h.settle();
    t.peerSends(msg('x'));
    await h.settle();
    const replies = t.take();
    expect(replies).toHaveLength(2);
    expect(replies[0]).toEqual({ t: 'ok', id: 'x', data: 1 });
    expectDup(replies[1], 'x', 1);
    expect(calls).toBe(1);
  });

  it('a handler that returns no data still completes the claim: a repeat is ok dup', async () => {
    let calls = 0;
    const { h, t } = await setup({ handler: () => void calls++ });
    t.peerSends(msg('x'));
    await h.settle();
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'ok', id: 'x' },
      { t: 'ok', id: 'x', dup: true },
    ]);
    expect(calls).toBe(1);
  });

  it('a repeat of a message claimed elsewhere and not completed gets a retryable nack in_progress', async () => {
    let calls = 0;
    const { h, t, sid } = await setup({ handler: () => ++calls });
    const events = h.record('clientMessage');
    // Another node claimed 'x' and its handler has not finished (or that node died).
    expect(await h.store.claimClientMessage(sid, 'x', h.clock.now(), 'node-other')).toBe('new');
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([
      {
        t: 'nack',
        id: 'x',
        code: 'in_progress',
        message: 'this message id is still being handled; retry later',
        retryable: true,
      },
    ]);
    expect(calls).toBe(0);
    expect(events).toEqual([{ sid, id: 'x', dup: true, ok: false }]);
    // The other node completes: the retry is a duplicate.
    await h.store.completeClientMessage(sid, 'x', '"theirs"');
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([{ t: 'ok', id: 'x', dup: true, data: 'theirs' }]);
    expect(calls).toBe(0);
  });

  it('a duplicate sent on a new connection after a resume is still a duplicate', async () => {
    let calls = 0;
    const { h, t, sid, key } = await setup({ handler: () => ++calls });
    t.peerSends(msg('x'));
    await h.settle();
    t.fireClose(1006);
    await h.settle();
    const t2 = h.connect();
    await h.hello(t2, { sid, key, ack: 0 });
    t2.peerSends(msg('x'));
    await h.settle();
    const replies = t2.framesOf('ok');
    expect(replies).toHaveLength(1);
    expectDup(replies[0], 'x', 1);
    expect(calls).toBe(1);
  });

  it('past the per-session bound a message is refused with a retryable nack overloaded', async () => {
    const m = manualHandler();
    const { h, t } = await setup({ maxQueued: 2, handler: m.handler });
    t.peerSends(msg('a'), msg('b'), msg('c'));
    await h.settle();
    expect(t.take()).toEqual([
      {
        t: 'nack',
        id: 'c',
        code: 'overloaded',
        message: expect.any(String) as string,
        retryable: true,
      },
    ]);
    m.calls[0]!.resolve(undefined);
    await h.settle();
    m.calls[1]!.resolve(undefined);
    await h.settle();
    expect(m.ids()).toEqual(['a', 'b']);
    expect(t.take()).toEqual([
      { t: 'ok', id: 'a' },
      { t: 'ok', id: 'b' },
    ]);
    // Room again: the refused one can be retried and is handled, not a duplicate.
    t.peerSends(msg('c'));
    await h.settle();
    m.calls[2]!.resolve('C');
    await h.settle();
    expect(t.take()).toEqual([{ t: 'ok', id: 'c', data: 'C' }]);
  });

  it('a handler returning data that is not JSON-serializable yields nack handler_error, not a crash', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const results: unknown[] = [10n, circular, 'fine'];
    const { h, t } = await setup({ handler: () => results.shift() });
    t.peerSends(msg('big'), msg('loop'), msg('next'));
    await h.settle();
    expect(t.take()).toEqual([
      {
        t: 'nack',
        id: 'big',
        code: 'handler_error',
        message: expect.any(String) as string,
        retryable: false,
      },
      {
        t: 'nack',
        id: 'loop',
        code: 'handler_error',
        message: expect.any(String) as string,
        retryable: false,
      },
      { t: 'ok', id: 'next', data: 'fine' },
    ]);
    expect(t.closed).toBeUndefined();
  });

  it('a NackError refuses with its code and retryable flag, and a retry is handled again', async () => {
    let n = 0;
    const { h, t, sid } = await setup({
      handler: () => {
        n++;
        if (n === 1) throw new NackError('busy', 'try later', { retryable: true });
        return 'ok now';
      },
    });
    const errors = h.record('error');
    const handled = h.record('clientMessage');
    t.peerSends(msg('x'));
    await h.settle();
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'nack', id: 'x', code: 'busy', message: 'try later', retryable: true },
      { t: 'ok', id: 'x', data: 'ok now' },
    ]);
    expect(n).toBe(2);
    expect(errors).toEqual([]);
    expect(handled).toEqual([
      { sid, id: 'x', dup: false, ok: false },
      { sid, id: 'x', dup: false, ok: true },
    ]);
  });

  it('a NackError is not retryable unless it says so', async () => {
    const { h, t } = await setup({
      handler: () => Promise.reject(new NackError('invalid', 'no')),
    });
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'nack', id: 'x', code: 'invalid', message: 'no', retryable: false },
    ]);
  });

  it('a NackError from another copy of the package (a branded error with retryable) is honoured', async () => {
    const foreign = Object.assign(new Error('slow down'), {
      [Symbol.for('resilient-ws.error')]: true,
      code: 'rate_limited',
      retryable: true,
    });
    const { h, t } = await setup({
      handler: () => {
        throw foreign;
      },
    });
    t.peerSends(msg('x'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'nack', id: 'x', code: 'rate_limited', message: 'slow down', retryable: true },
    ]);
  });

  it('any other handler error is a non-retryable nack handler_error and an error event', async () => {
    const boom = new Error('boom: internal details');
    const { h, t } = await setup({
      handler: () => {
        throw boom;
      },
    });
    const errors = h.record('error');
    t.peerSends(msg('x'));
    await h.settle();
    const [nack] = t.take();
    expect(nack).toEqual({
      t: 'nack',
      id: 'x',
      code: 'handler_error',
      message: expect.any(String) as string,
      retryable: false,
    });
    expect(nack?.t === 'nack' && nack.message).not.toContain('internal details');
    expect(errors).toEqual([{ where: 'message-handler', error: boom }]);
  });

  it('a failed message does not hold up the ones behind it', async () => {
    const m = manualHandler();
    const { h, t } = await setup({ handler: m.handler });
    t.peerSends(msg('a'), msg('b'));
    await h.settle();
    m.calls[0]!.reject(new Error('no'));
    await h.settle();
    expect(m.ids()).toEqual(['a', 'b']);
    m.calls[1]!.resolve('B');
    await h.settle();
    expect(t.framesOf('nack').map((f) => f.id)).toEqual(['a']);
    expect(t.framesOf('ok')).toEqual([{ t: 'ok', id: 'b', data: 'B' }]);
  });

  it('without a handler every message is answered ok', async () => {
    const { h, t } = await setup();
    t.peerSends(msg('a'), msg('b'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'ok', id: 'a' },
      { t: 'ok', id: 'b' },
    ]);
  });

  it('a message for a session that ended while it waited is dropped, not answered elsewhere', async () => {
    const m = manualHandler();
    const { h, t, sid } = await setup({ handler: m.handler });
    t.peerSends(msg('a'), msg('b'));
    await h.settle();
    await h.hub.endSession(sid);
    m.calls[0]!.resolve('late');
    await h.settle();
    expect(t.framesOf('ok')).toEqual([]);
    expect(m.ids()).toEqual(['a']);
  });
});

describe('client messages: allIdle (shutdown)', () => {
  it('resolves once every queued message of every session is answered', async () => {
    const m = manualHandler();
    const { h, t } = await setup({ handler: m.handler });
    const other = await h.session();
    t.peerSends(msg('a'), msg('b'));
    other.t.peerSends(msg('c'));
    await h.settle();
    let idle = false;
    void h.hub.clientMessages.allIdle(60_000).then(() => (idle = true));
    for (let i = 0; i < 3; i++) {
      await h.settle();
      expect(idle).toBe(false);
      m.calls[i]!.resolve(i);
    }
    await h.settle();
    expect(idle).toBe(true);
  });

  it('gives up after its timeout when a handler hangs', async () => {
    const m = manualHandler();
    const { h, t } = await setup({ handler: m.handler });
    t.peerSends(msg('hung'));
    await h.settle();
    await h.hub.clientMessages.allIdle(20);
    expect(m.ids()).toEqual(['hung']);
  });
});

describe('client messages: a store that fails', () => {
  const unavailable = () => new RwsError('store_unavailable', 'Redis: connection lost');

  it('answers a retryable nack unavailable when the claim fails, and handles a retry once the store is back', async () => {
    const m = manualHandler();
    const { h, t } = await setup({ handler: m.handler });
    const claim = h.store.claimClientMessage.bind(h.store);
    h.store.claimClientMessage = () => Promise.reject(unavailable());
    t.peerSends(msg('a'));
    await h.settle();
    expect(m.ids()).toEqual([]);
    expect(t.take()).toEqual([
      {
        t: 'nack',
        id: 'a',
        code: 'unavailable',
        message: 'the session store is unavailable; retry',
        retryable: true,
      },
    ]);
    h.store.claimClientMessage = claim;
    t.peerSends(msg('a'));
    await h.settle();
    m.calls[0]!.resolve('A');
    await h.settle();
    expect(t.take()).toEqual([{ t: 'ok', id: 'a', data: 'A' }]);
  });

  it('answers ok when the handler succeeded but recording it failed (the error is reported)', async () => {
    const { h, t } = await setup({ handler: () => 'done' });
    const errors: unknown[] = [];
    h.events.on('error', (e) => errors.push(e.where));
    h.store.completeClientMessage = () => Promise.reject(unavailable());
    t.peerSends(msg('a'));
    await h.settle();
    expect(t.take()).toEqual([{ t: 'ok', id: 'a', data: 'done' }]);
    expect(errors).toEqual(['client-message']);
  });

  it('answers the handler’s nack when releasing the claim failed', async () => {
    const { h, t } = await setup({
      handler: () => {
        throw new NackError('busy', 'try later', { retryable: true });
      },
    });
    h.store.releaseClientMessage = () => Promise.reject(unavailable());
    t.peerSends(msg('a'));
    await h.settle();
    expect(t.take()).toEqual([
      { t: 'nack', id: 'a', code: 'busy', message: 'try later', retryable: true },
    ]);
  });
});

describe('client messages: a store that fails on a duplicate', () => {
  it('answers nack unavailable (retryable) when the kept result cannot be read', async () => {
    const { h, t } = await setup({ handler: () => 'done' });
    t.peerSends(msg('a'));
    await h.settle();
    expect(t.take()).toEqual([{ t: 'ok', id: 'a', data: 'done' }]);
    h.store.clientMessageResult = () =>
      Promise.reject(new RwsError('store_unavailable', 'Redis: connection lost'));
    t.peerSends(msg('a'));
    await h.settle();
    expect(t.take()).toEqual([
      {
        t: 'nack',
        id: 'a',
        code: 'unavailable',
        message: 'the session store is unavailable; retry',
        retryable: true,
      },
    ]);
  });
});

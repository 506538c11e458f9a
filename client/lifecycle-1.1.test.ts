/**
 * Protocol and SDK 1.1 on a fake socket: keyed holes named by `msg.prev` are never a gap,
 * `reconnecting` with attempt and delay, one `close` when the client really stops, the
 * server's `session_ended` and `disconnected`, and `onSessionLost`.
 */
import { describe, expect, it } from 'vitest';
import { isClientError } from './errors.js';
import { connected, msg, setup, tick, welcome } from './test-support/harness.js';

const V11 = { minor: 1 };

describe('keyed holes (msg.prev)', () => {
  it('a hole the server names with prev is not a gap; the message carries its key', () => {
    const h = setup();
    const sock = connected(h, V11);
    sock.receive(msg(1), { t: 'msg', seq: 4, prev: 1, key: 'tick', data: 'v4' });
    expect(h.events.of('gap')).toEqual([]);
    expect(h.events.of('message').at(-1)).toEqual({ data: 'v4', seq: 4, key: 'tick' });
  });

  it('a hole the server does not name is a real loss: a live gap for exactly those seqs', () => {
    const h = setup();
    const sock = connected(h, V11);
    sock.receive(msg(1), { t: 'msg', seq: 5, prev: 3, data: 'x' });
    // 2 and 3 were never accounted for; 4 was (superseded).
    expect(h.events.of('gap')).toEqual([{ reason: 'live', from: 2, to: 3 }]);
    sock.receive(msg(7));
    expect(h.events.of('gap')).toEqual([
      { reason: 'live', from: 2, to: 3 },
      { reason: 'live', from: 6, to: 6 },
    ]);
  });

  it('the first replayed message after a resume names the client ack as prev: no gap', () => {
    const h = setup();
    const first = connected(h, V11);
    first.receive(msg(1), msg(2));
    first.serverClose(1006);
    h.clock.advance(250);
    const second = h.server.last();
    welcome(second, { ...V11, resumed: true, recovered: true, reason: undefined, last: 9 });
    // 3..8 were keyed and superseded while away; 9 is the newest value.
    second.receive({ t: 'msg', seq: 9, prev: 2, key: 'k', data: 'latest' });
    expect(h.events.of('gap')).toEqual([]);
    expect(h.events.of('message').map((m) => m.seq)).toEqual([1, 2, 9]);
  });

  it('from a 1.1 server, prev decides within the replay too: welcome.last does not hide a hole prev does not name', () => {
    // The test above passes with the 1.0 rule as well (every hole at or below welcome.last
    // is covered by `missing`); this one does not.
    const h = setup();
    const first = connected(h, V11);
    first.receive(msg(1), msg(2));
    first.serverClose(1006);
    h.clock.advance(250);
    const second = h.server.last();
    welcome(second, { ...V11, resumed: true, recovered: true, reason: undefined, last: 9 });
    // 6..8 superseded (named by prev: 5), 3..5 never accounted for.
    second.receive({ t: 'msg', seq: 9, prev: 5, key: 'k', data: 'latest' });
    expect(h.events.of('gap')).toEqual([{ reason: 'live', from: 3, to: 5 }]);
    // Above welcome.last, a hole prev names is not a gap (the 1.0 rule would report 10..11).
    second.receive({ t: 'msg', seq: 12, prev: 9, key: 'k', data: 'newer' });
    expect(h.events.of('gap')).toHaveLength(1);
  });

  it('a 1.0 server (no welcome.minor) keeps the 1.0 rule: a hole above welcome.last is a gap', () => {
    const h = setup();
    const sock = connected(h);
    sock.receive(msg(1), { t: 'msg', seq: 3, prev: 1, data: 'x' });
    expect(h.events.of('gap')).toEqual([{ reason: 'live', from: 2, to: 2 }]);
  });
});

describe('reconnecting and close', () => {
  it('reports each attempt with its delay and the last close code, and no close', () => {
    const h = setup({ backoff: { baseMs: 100, capMs: 10_000 } });
    connected(h).serverClose(4003, 'busy');
    expect(h.client.state).toBe('reconnecting');
    // random 0.5: full jitter gives half of min(cap, base * 2^n).
    expect(h.events.of('reconnecting')).toEqual([
      { attempt: 1, delayMs: 50, lastCloseCode: 4003, reason: 'busy' },
    ]);
    h.clock.advance(50);
    h.server.last().fail();
    h.clock.advance(100);
    h.server.last().fail();
    expect(h.events.of('reconnecting').map((e) => [e.attempt, e.delayMs, e.lastCloseCode])).toEqual(
      [
        [1, 50, 4003],
        [2, 100, 1006],
        [3, 200, 1006],
      ],
    );
    expect(h.events.of('close')).toEqual([]);
    // A welcome starts the count again.
    h.clock.advance(200);
    welcome(h.server.last(), { resumed: true, recovered: true, reason: undefined });
    h.server.last().serverClose(1001);
    expect(h.events.of('reconnecting').at(-1)).toMatchObject({ attempt: 1, lastCloseCode: 1001 });
  });

  it('emits close exactly once, when the client stops', async () => {
    const h = setup();
    connected(h).serverClose(1006);
    h.clock.advance(250);
    h.server.last().fail();
    h.clock.advance(500);
    expect(h.events.of('close')).toEqual([]);
    await h.client.close();
    expect(h.events.of('close')).toEqual([
      { code: 1000, reason: 'closed by the client', willReconnect: false },
    ]);
    expect(h.client.state).toBe('closed');
  });
});

describe('the server ends or disconnects', () => {
  it('session_ended then 1000: sessionEnded with the reason, one close, session forgotten', async () => {
    const h = setup();
    const sock = connected(h);
    const pending = h.client.send('x');
    await tick();
    sock.receive({ t: 'error', code: 'session_ended', message: 'account closed' });
    sock.serverClose(1000, 'session ended');
    expect(h.events.of('sessionEnded')).toEqual([{ reason: 'account closed', code: 1000 }]);
    expect(h.events.of('close')).toEqual([
      { code: 1000, reason: 'session ended', willReconnect: false },
    ]);
    expect(h.events.of('error')).toEqual([]);
    expect(h.client.session).toBeUndefined();
    const error: unknown = await pending.catch((e: unknown) => e);
    expect(isClientError(error) && error.code).toBe('closed_1000');
    // sessionEnded comes before close.
    const order = h.events.all.map(([n]) => n).filter((n) => n === 'sessionEnded' || n === 'close');
    expect(order).toEqual(['sessionEnded', 'close']);
  });

  it('disconnected then 4004: reconnecting with the reason, then a resume of the same session', () => {
    const h = setup();
    const sock = connected(h);
    sock.receive(msg(1));
    sock.receive({ t: 'error', code: 'disconnected', message: 'rebalancing' });
    sock.serverClose(4004, 'disconnected');
    expect(h.events.of('reconnecting')).toMatchObject([
      { attempt: 1, lastCloseCode: 4004, reason: 'rebalancing' },
    ]);
    expect(h.events.of('sessionEnded')).toEqual([]);
    h.clock.advance(250);
    h.server.last().accept();
    expect(h.server.last().frames()[0]).toMatchObject({
      t: 'hello',
      resume: { sid: 's1', key: 'k1', ack: 1 },
    });
  });
});

describe('onSessionLost', () => {
  async function lostWith(onSessionLost: 'resend' | 'stop') {
    const h = setup({ onSessionLost });
    const first = connected(h);
    first.serverClose(1006);
    // Queued while away: never reached a socket.
    const queued = h.client.send('after the cut').then(
      () => 'resolved',
      (e: unknown) => `rejected ${(e as { code?: string }).code}`,
    );
    h.clock.advance(250);
    const second = h.server.last();
    welcome(second, {
      sid: 's2',
      key: 'k2',
      resumed: false,
      recovered: false,
      reason: 'unknown_session',
    });
    await tick();
    return { h, second, queued };
  }

  it("'resend' (default) sends what never reached the old session in the new one", async () => {
    const { h, second, queued } = await lostWith('resend');
    expect(second.frames().filter((f) => f.t === 'msg')).toEqual([
      { t: 'msg', id: 'c1', data: 'after the cut' },
    ]);
    expect(h.events.of('sessionLost')).toEqual([{ reason: 'unknown_session' }]);
    expect(h.client.state).toBe('open');
    second.receive({ t: 'ok', id: 'c1' });
    expect(await queued).toBe('resolved');
  });

  it("'stop' sends nothing in the new session, rejects every send, ends it with bye and stops", async () => {
    const { h, second, queued } = await lostWith('stop');
    expect(await queued).toBe('rejected session_lost');
    expect(second.frames().filter((f) => f.t === 'msg')).toEqual([]);
    expect(second.framesOf('bye')).toEqual([{ t: 'bye' }]);
    expect(h.events.of('sessionLost')).toEqual([{ reason: 'unknown_session' }]);
    expect(h.events.of('open')).toHaveLength(1); // the first connection's only
    second.serverClose(1000, 'bye');
    expect(h.events.of('close')).toEqual([{ code: 1000, reason: 'bye', willReconnect: false }]);
    expect(h.client.state).toBe('closed');
    expect(h.client.session).toBeUndefined();
    const late: unknown = await h.client.send('late').catch((e: unknown) => e);
    expect(isClientError(late) && late.code).toBe('closed');
  });

  it("'stop': a send made by a listener of the lost session's events is not sent in the new session either", async () => {
    for (const event of ['resumed', 'gap', 'sessionLost'] as const) {
      const h = setup({ onSessionLost: 'stop' });
      const first = connected(h);
      first.serverClose(1006);
      let late: Promise<string> | undefined;
      h.client.on(event, () => {
        late ??= h.client.send('from a listener').then(
          () => 'resolved',
          (e: unknown) => `rejected ${(e as { code?: string }).code}`,
        );
      });
      h.clock.advance(250);
      const second = h.server.last();
      welcome(second, {
        sid: 's2',
        key: 'k2',
        resumed: false,
        recovered: false,
        reason: event === 'gap' ? 'epoch_changed' : 'unknown_session',
        ...(event === 'gap' ? { sid: 's1', key: 'k1', resumed: true, missing: 2 } : {}),
      });
      await tick();
      expect(late, event).toBeDefined();
      // Nothing but the bye goes out in the new session: the application asked to stop.
      expect(
        second.frames().filter((f) => f.t === 'msg'),
        event,
      ).toEqual([]);
      expect(second.framesOf('bye'), event).toEqual([{ t: 'bye' }]);
      second.serverClose(1000, 'bye');
      expect(await late, event).toMatch(/^rejected (session_lost|closed)$/);
    }
  });

  it('refuses an unknown onSessionLost value with invalid_option', () => {
    expect(() => setup({ onSessionLost: 'retry' as 'stop' })).toThrow(/options.onSessionLost/);
  });
});

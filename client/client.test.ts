import { describe, expect, it } from 'vitest';
import { ResilientClient } from './client.js';
import { isClientError } from './errors.js';
import { resolveWebSocket } from './socket.js';
import { fakeServer } from './test-support/fake-websocket.js';
import { WELCOME, connected, msg, setup, welcome } from './test-support/harness.js';

describe('handshake', () => {
  it('opens the socket with rws.v1, sends hello, and opens on welcome', () => {
    const h = setup({ token: 't0k' });
    expect(h.client.state).toBe('idle');
    h.client.connect();
    h.client.connect();
    expect(h.server.sockets).toHaveLength(1);
    const sock = h.server.last();
    expect(sock.url).toBe('ws://server.test/ws');
    expect(sock.protocols).toEqual(['rws.v1']);
    expect(h.client.state).toBe('connecting');
    sock.accept();
    expect(sock.frames()).toEqual([{ t: 'hello', v: 1, token: 't0k' }]);
    sock.receive(WELCOME);
    expect(h.client.state).toBe('open');
    expect(h.events.of('open')).toEqual([{ sid: 's1', resumed: false }]);
    expect(h.events.of('resumed')).toEqual([]);
    expect(h.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
  });

  it('works with a socket that only has onopen/onmessage/onclose/onerror', () => {
    const h = setup({}, fakeServer({ eventTarget: false }));
    const sock = connected(h);
    sock.receive(msg(1));
    expect(h.events.of('message')).toEqual([{ data: 'm1', seq: 1 }]);
    sock.serverClose(4000);
    expect(h.client.state).toBe('reconnecting');
  });

  it('resumes a session passed in options on the first connection', () => {
    const h = setup({ resume: { sid: 'old', key: 'kk', ack: 7 } });
    expect(h.client.session).toEqual({ sid: 'old', key: 'kk', ack: 7 });
    expect(h.client.lastSeq).toBe(7);
    h.client.connect();
    const sock = h.server.last();
    welcome(sock, {
      sid: 'old',
      key: 'kk',
      resumed: true,
      recovered: true,
      reason: undefined,
      last: 9,
    });
    expect(sock.frames()[0]).toEqual({
      t: 'hello',
      v: 1,
      resume: { sid: 'old', key: 'kk', ack: 7 },
    });
    expect(h.events.of('resumed')).toEqual([{ recovered: true }]);
    expect(h.events.of('open')).toEqual([{ sid: 'old', resumed: true }]);
  });

  it('validates options, naming the key and the value', () => {
    const bad = (o: object) => {
      try {
        new ResilientClient('ws://x', o);
      } catch (error) {
        return isClientError(error) ? `${error.code}: ${error.message}` : String(error);
      }
      return 'no error';
    };
    expect(bad({ maxQueue: 0 })).toBe(
      'invalid_option: options.maxQueue must be an integer >= 1, got 0',
    );
    expect(bad({ ackDelayMs: -1 })).toMatch(/options\.ackDelayMs .* got -1/);
    expect(bad({ backoff: { baseMs: 1000, capMs: 10 } })).toMatch(/options\.backoff\.capMs/);
    expect(bad({ resume: { sid: '', key: 'k', ack: 0 } })).toMatch(/options\.resume\.sid/);
  });

  it('finds a WebSocket implementation without network (global, else ws)', async () => {
    expect(typeof (await resolveWebSocket())).toBe('function');
  });
});

describe('receiving', () => {
  it('delivers every frame of a multi-frame message, in order', () => {
    const h = setup();
    h.client.connect();
    const sock = h.server.last();
    sock.accept();
    sock.receive(WELCOME, msg(1), { t: 'msg', seq: 2, data: { x: 1 }, id: 'srv-2' }, msg(3));
    expect(h.events.of('message')).toEqual([
      { data: 'm1', seq: 1 },
      { data: { x: 1 }, seq: 2, id: 'srv-2' },
      { data: 'm3', seq: 3 },
    ]);
    expect(h.client.lastSeq).toBe(3);
  });

  it('sends one cumulative ack per ackDelayMs for a burst', () => {
    const h = setup();
    const sock = connected(h);
    for (let seq = 1; seq <= 10; seq++) sock.receive(msg(seq));
    expect(sock.framesOf('ack')).toEqual([]);
    h.clock.advance(24);
    expect(sock.framesOf('ack')).toEqual([]);
    h.clock.advance(1);
    expect(sock.framesOf('ack')).toEqual([{ t: 'ack', seq: 10 }]);
    h.clock.advance(1000);
    expect(h.client.stats.acksSent).toBe(1);
  });

  it('acks at once when 64 messages are unacked', () => {
    const h = setup();
    const sock = connected(h);
    for (let seq = 1; seq <= 63; seq++) sock.receive(msg(seq));
    expect(sock.framesOf('ack')).toEqual([]);
    sock.receive(msg(64));
    expect(sock.framesOf('ack')).toEqual([{ t: 'ack', seq: 64 }]);
    // 64 in one message: the ack leaves right after that message is handled.
    sock.receive(...Array.from({ length: 64 }, (_, i) => msg(65 + i)));
    expect(sock.framesOf('ack')).toEqual([
      { t: 'ack', seq: 64 },
      { t: 'ack', seq: 128 },
    ]);
  });

  it('emits volatile messages without a seq and never acks them', () => {
    const h = setup();
    const sock = connected(h);
    sock.receive({ t: 'msg', data: 'v' });
    h.clock.advance(100);
    expect(h.events.of('message')).toEqual([{ data: 'v', seq: undefined }]);
    expect(sock.framesOf('ack')).toEqual([]);
    expect(h.client.lastSeq).toBe(0);
  });

  it('reports a live gap and goes on', () => {
    const h = setup();
    const sock = connected(h);
    sock.receive(msg(1), msg(2), msg(5));
    expect(h.events.of('gap')).toEqual([{ reason: 'live', from: 3, to: 4 }]);
    expect(h.events.of('message').map((m) => m.seq)).toEqual([1, 2, 5]);
    h.clock.advance(25);
    expect(sock.framesOf('ack')).toEqual([{ t: 'ack', seq: 5 }]);
  });

  it('answers ping with pong', () => {
    const h = setup();
    const sock = connected(h);
    sock.receive({ t: 'ping' });
    expect(sock.framesOf('pong')).toEqual([{ t: 'pong' }]);
  });

  it('reports error frames, undecodable frames and frames before welcome', () => {
    const h = setup();
    h.client.connect();
    const sock = h.server.last();
    sock.accept();
    sock.receive(msg(1));
    sock.receive(
      WELCOME,
      '{not json',
      { t: 'bogus' },
      { t: 'error', code: 'bad_ack', message: 'm' },
    );
    expect(h.events.of('error').map((e) => e.code)).toEqual([
      'unexpected_frame',
      'bad_frame',
      'unknown_type',
      'bad_ack',
    ]);
    expect(h.events.of('message')).toEqual([]);
    expect(h.client.state).toBe('open');
  });

  it('keeps delivering when a listener throws', () => {
    const h = setup();
    const seen: number[] = [];
    h.client.on('message', (m) => {
      if (m.seq === 1) throw new Error('app bug');
    });
    h.client.on('message', (m) => seen.push(m.seq ?? 0));
    const sock = connected(h);
    sock.receive(msg(1), msg(2));
    sock.receive(msg(3));
    expect(seen).toEqual([1, 2, 3]);
    expect(h.events.of('error')).toMatchObject([
      { code: 'listener_error', message: 'a "message" listener threw: app bug' },
    ]);
    h.clock.advance(25);
    expect(sock.framesOf('ack')).toEqual([{ t: 'ack', seq: 3 }]);
  });
});

describe('reconnect and resume', () => {
  it('reconnects after a retryable close and resumes with the last processed seq', () => {
    const h = setup();
    const first = connected(h);
    first.receive(msg(1), msg(2), msg(3));
    first.serverClose(1006);
    expect(h.events.of('close')).toEqual([]);
    expect(h.events.of('reconnecting')).toMatchObject([
      { attempt: 1, lastCloseCode: 1006, reason: '' },
    ]);
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(249); // random 0.5 * base 500
    expect(h.server.sockets).toHaveLength(1);
    h.clock.advance(1);
    const second = h.server.last();
    expect(second).not.toBe(first);
    expect(h.client.stats.reconnects).toBe(1);
    welcome(second, { resumed: true, recovered: true, reason: undefined, last: 5 });
    expect(second.frames()[0]).toEqual({
      t: 'hello',
      v: 1,
      resume: { sid: 's1', key: 'k1', ack: 3 },
    });
    expect(h.events.of('resumed')).toEqual([{ recovered: true }]);
    expect(h.events.of('open')).toEqual([
      { sid: 's1', resumed: false },
      { sid: 's1', resumed: true },
    ]);
    // The server replays what it has not seen acked: 3 is a duplicate.
    second.receive(msg(3), msg(4), msg(5));
    expect(h.events.of('message').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(h.client.stats.duplicatesDropped).toBe(1);
    expect(h.events.of('gap')).toEqual([]);
  });

  it('ignores a stale socket after reconnecting', () => {
    const h = setup();
    const first = connected(h);
    first.fail();
    expect(h.events.of('reconnecting')).toHaveLength(1);
    h.clock.advance(250);
    welcome(h.server.last(), { resumed: true, recovered: true, reason: undefined });
    first.receive(msg(1));
    first.serverClose(4000);
    expect(h.events.of('message')).toEqual([]);
    expect(h.client.state).toBe('open');
  });

  it('reports a resume with a gap, without a second live gap for the replay', () => {
    const h = setup();
    const first = connected(h);
    first.receive(msg(1), msg(2));
    first.serverClose(4002);
    h.clock.advance(250);
    const second = h.server.last();
    welcome(second, { resumed: true, recovered: false, reason: 'gap', missing: 2, last: 6 });
    expect(h.events.of('resumed')).toEqual([{ recovered: false, reason: 'gap', missing: 2 }]);
    expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 2 }]);
    second.receive(msg(5), msg(6), msg(8));
    expect(h.events.of('gap')).toEqual([
      { reason: 'resume', missing: 2 },
      { reason: 'live', from: 7, to: 7 },
    ]);
  });

  it.each(['unknown_session', 'epoch_changed'])(
    'starts again from seq 1 when the server answers %s',
    (reason) => {
      const h = setup();
      const first = connected(h);
      first.receive(msg(1), msg(2), msg(3));
      first.serverClose(1001);
      h.clock.advance(250);
      const second = h.server.last();
      welcome(second, { sid: 's2', key: 'k2', resumed: false, recovered: false, reason });
      expect(h.events.of('resumed')).toEqual([{ recovered: false, reason }]);
      expect(h.client.lastSeq).toBe(0);
      expect(h.client.session).toEqual({ sid: 's2', key: 'k2', ack: 0 });
      second.receive(msg(1, 'fresh'));
      expect(h.events.of('message').at(-1)).toEqual({ data: 'fresh', seq: 1 });
      expect(h.events.of('gap')).toEqual([]);
    },
  );

  it('backs off with growing full-jitter delays and resets once a connection stayed open', () => {
    const h = setup({ random: () => 1, backoff: { baseMs: 100, capMs: 350 } });
    h.client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.server.last().fail();
      const before = h.server.sockets.length;
      let waited = 0;
      while (h.server.sockets.length === before) {
        h.clock.advance(1);
        waited++;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 350, 350]);
    // Open for min(hb, 5 s): the connection proved stable, the next delay is the base one.
    welcome(h.server.last());
    h.clock.advance(5000);
    h.server.last().serverClose(4003);
    h.clock.advance(99);
    expect(h.server.sockets).toHaveLength(5);
    h.clock.advance(1);
    expect(h.server.sockets).toHaveLength(6);
  });

  it('keeps backing off when every welcome is followed by an immediate close', () => {
    const h = setup({ random: () => 1, backoff: { baseMs: 100, capMs: 10_000 } });
    h.client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sock = h.server.last();
      welcome(sock, { hb: 1000 });
      h.clock.advance(999); // one ms short of min(hb, 5 s)
      sock.serverClose(4003);
      const before = h.server.sockets.length;
      let waited = 0;
      while (h.server.sockets.length === before) {
        h.clock.advance(1);
        waited++;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    // Open for a full hb (1000 ms < 5 s): reset.
    welcome(h.server.last(), { hb: 1000 });
    h.clock.advance(1000);
    h.server.last().serverClose(4003);
    h.clock.advance(100);
    expect(h.server.sockets).toHaveLength(7);
  });

  it.each([1001, 1006, 4000, 4002, 4003, 4499])('reconnects after close %i', (code) => {
    const h = setup();
    connected(h).serverClose(code);
    expect(h.events.of('close')).toEqual([]);
    expect(h.events.of('reconnecting')).toMatchObject([
      { attempt: 1, lastCloseCode: code, reason: '' },
    ]);
    h.clock.advance(250);
    expect(h.server.sockets).toHaveLength(2);
  });

  it.each([1000, 1008, 1009, 4001, 4500, 4501, 4502, 4999])(
    'stops for good after close %i',
    async (code) => {
      const h = setup();
      const sock = connected(h);
      const pending = h.client.send('x');
      sock.serverClose(code, 'why');
      expect(h.events.of('close')).toEqual([{ code, reason: 'why', willReconnect: false }]);
      expect(h.client.state).toBe('closed');
      const error: unknown = await pending.catch((e: unknown) => e);
      expect(isClientError(error) && error.code).toBe(`closed_${code}`);
      h.clock.advance(60_000);
      expect(h.server.sockets).toHaveLength(1);
      h.client.connect();
      expect(h.server.sockets).toHaveLength(1);
    },
  );
});

describe('heartbeat watchdog', () => {
  it('pings when idle and drops a silent connection after hb + heartbeatTimeoutMs', () => {
    const h = setup({ heartbeatTimeoutMs: 500 });
    const sock = connected(h, { hb: 1000 });
    h.clock.advance(1000);
    expect(sock.framesOf('ping')).toEqual([{ t: 'ping' }]);
    h.clock.advance(400);
    sock.receive({ t: 'pong' });
    h.clock.advance(1499);
    expect(h.events.of('close')).toEqual([]);
    h.clock.advance(1);
    expect(sock.terminated).toBe(true);
    expect(h.events.of('close')).toEqual([]);
    expect(h.events.of('reconnecting')).toMatchObject([
      { attempt: 1, lastCloseCode: 4000, reason: 'heartbeat timeout (client watchdog)' },
    ]);
    h.clock.advance(250);
    expect(h.server.sockets).toHaveLength(2);
  });

  it('bounds the handshake by heartbeatTimeoutMs', () => {
    const h = setup({ heartbeatTimeoutMs: 3000 });
    h.client.connect();
    h.clock.advance(2999);
    expect(h.client.state).toBe('connecting');
    h.clock.advance(1);
    expect(h.events.of('close')).toEqual([]);
    expect(h.events.of('reconnecting')).toMatchObject([{ attempt: 1, lastCloseCode: 4000 }]);
    expect(h.client.state).toBe('reconnecting');
  });
});

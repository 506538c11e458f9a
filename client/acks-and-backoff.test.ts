/**
 * Regression: reconnect backoff after refused connections, acks that survive a throwing
 * listener, and the stream restarting from seq 1 (acks, dedup) after `unknown_session` or
 * `epoch_changed`, with the `epoch_changed` losses reported as a `resume` gap.
 */
import { expect, it } from 'vitest';
import { connected, msg, setup, welcome } from './test-support/harness.js';

it('4003 before welcome backs off with growing delays (no reconnect storm)', () => {
  const h = setup({ random: () => 1, backoff: { baseMs: 100, capMs: 10_000 } });
  h.client.connect();
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const s = h.server.last();
    s.accept();
    s.receive({ t: 'error', code: 'unavailable', message: 'x' });
    s.serverClose(4003);
    const before = h.server.sockets.length;
    let waited = 0;
    while (h.server.sockets.length === before) {
      h.clock.advance(1);
      waited++;
    }
    delays.push(waited);
  }
  expect(delays).toEqual([100, 200, 400, 800, 1600, 3200]);
});

it('a throwing message listener does not stop acks; ack carries the highest seq seen', () => {
  const h = setup();
  h.client.on('message', () => {
    throw new Error('app bug');
  });
  const sock = connected(h);
  sock.receive(msg(1), msg(2));
  h.clock.advance(25);
  expect(sock.framesOf('ack')).toEqual([{ t: 'ack', seq: 2 }]);
  expect(h.events.of('error').map((e) => e.code)).toEqual(['listener_error', 'listener_error']);
});

it('after unknown_session, acks and dedup restart from the new stream', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1), msg(2), msg(3));
  h.clock.advance(25);
  first.serverClose(1006);
  h.clock.advance(250);
  const second = h.server.last();
  welcome(second, { sid: 's2', key: 'k2', reason: 'unknown_session' });
  second.receive(msg(1, 'new'));
  h.clock.advance(25);
  expect(second.framesOf('ack')).toEqual([{ t: 'ack', seq: 1 }]);
  expect(h.events.of('message').at(-1)).toEqual({ data: 'new', seq: 1 });
});

it('epoch_changed with resumed: true restarts from seq 1 and reports missing as a resume gap', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1), msg(2), msg(3));
  first.serverClose(1006);
  h.clock.advance(250);
  const second = h.server.last();
  welcome(second, {
    resumed: true,
    recovered: false,
    reason: 'epoch_changed',
    missing: 2,
    last: 1,
    epoch: 'e2',
  });
  second.receive(msg(1, 'fresh'));
  expect(h.client.lastSeq).toBe(1);
  expect(h.events.of('resumed')).toEqual([
    { recovered: false, reason: 'epoch_changed', missing: 2 },
  ]);
  expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 2 }]);
});

/**
 * Regression: `welcome.hb: 0` (accepted by the codec: "integer >= 0") does not switch the
 * client's keep-alive and watchdog off. The server always answers `ping` with `pong`
 * (docs/protocol.md §2.1), so the client pings at a default interval of 25 000 ms and drops a
 * connection silent for that + `heartbeatTimeoutMs`: a half-open connection is detected.
 */
import { expect, it } from 'vitest';
import { connected, setup } from './test-support/harness.js';

it('pings every 25 s and detects a dead connection when the server announces hb: 0', () => {
  const h = setup({ heartbeatTimeoutMs: 10_000 });
  const sock = connected(h, { hb: 0 });
  expect(h.client.state).toBe('open');
  // The network silently dies (no close event ever arrives).
  h.clock.advance(24_999);
  expect(sock.framesOf('ping')).toEqual([]);
  h.clock.advance(1);
  expect(sock.framesOf('ping')).toEqual([{ t: 'ping' }]);
  h.clock.advance(9_999);
  expect(h.client.state).toBe('open');
  h.clock.advance(1);
  expect(sock.terminated).toBe(true);
  expect(h.events.of('close')).toEqual([]);
  expect(h.events.of('reconnecting')).toMatchObject([{ attempt: 1, lastCloseCode: 4000 }]);
  expect(h.client.state).toBe('reconnecting');
});

it('with hb: 0, pongs keep the connection alive', () => {
  const h = setup({ heartbeatTimeoutMs: 10_000 });
  const sock = connected(h, { hb: 0 });
  for (let i = 0; i < 10; i++) {
    h.clock.advance(25_000);
    sock.receive({ t: 'pong' });
  }
  expect(sock.framesOf('ping')).toHaveLength(10);
  expect(h.events.of('close')).toEqual([]);
  expect(h.client.state).toBe('open');
});

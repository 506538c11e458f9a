/**
 * Regression: what each terminal close does to `client.session`.
 * - An unsolicited 1000 means the server ended the session (hub.endSession; docs/protocol.md §11):
 *   `session` becomes undefined, so an app that persists it does not resume a dead session.
 * - 4502 (bad resume key): the stored key is useless, `session` becomes undefined.
 * - 4001 (replaced by a newer connection): another client instance (e.g. a second tab that
 *   restored the persisted session) took the session over. The client stops instead of
 *   taking it back (no takeover ping-pong) and keeps `session`: the other instance owns it.
 */
import { expect, it } from 'vitest';
import { isClientError } from './errors.js';
import { connected, setup, tick } from './test-support/harness.js';

it('forgets the session after an unsolicited 1000 (session ended by the server)', () => {
  const h = setup();
  connected(h).serverClose(1000, 'session ended');
  expect(h.client.state).toBe('closed');
  expect(h.client.session).toBeUndefined();
});

it('forgets the session after 4502 (bad resume key)', () => {
  const h = setup({ resume: { sid: 's1', key: 'stale', ack: 3 } });
  h.client.connect();
  const sock = h.server.last();
  sock.accept();
  sock.receive({ t: 'error', code: 'bad_key', message: 'wrong key' });
  sock.serverClose(4502);
  expect(h.events.of('close')).toEqual([{ code: 4502, reason: '', willReconnect: false }]);
  expect(h.client.state).toBe('closed');
  expect(h.client.session).toBeUndefined();
});

it('stops on 4001 without reconnecting, rejects pending sends with closed_4001 and keeps the session', async () => {
  const h = setup();
  const sock = connected(h);
  const pending = h.client.send('x').catch((e: unknown) => e);
  await tick();
  sock.serverClose(4001, 'replaced by a newer connection');
  expect(h.events.of('close')).toEqual([
    { code: 4001, reason: 'replaced by a newer connection', willReconnect: false },
  ]);
  expect(h.client.state).toBe('closed');
  const error = await pending;
  expect(isClientError(error) && error.code).toBe('closed_4001');
  expect(h.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
  h.clock.advance(60_000);
  expect(h.server.sockets).toHaveLength(1);
  expect(h.clock.pending).toBe(0);
});

it('keeps the session after other terminal closes (1008) and after a retryable one', () => {
  const a = setup();
  connected(a).serverClose(1008);
  expect(a.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
  const b = setup();
  connected(b).serverClose(4000);
  expect(b.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
});

/**
 * Regression: after a resume answered `unknown_session` (or `epoch_changed`) the client is on
 * a new session whose dedup window is empty. A message that went out to the old session may
 * have been handled there, so it is not resent: its send() rejects with `session_lost` and
 * the application decides. A message that never went out is sent in the new session.
 */
import { expect, it } from 'vitest';
import { connected, setup, tick, welcome } from './test-support/harness.js';

it('unanswered sends that went out are rejected with session_lost, never replayed into a new session', async () => {
  const h = setup();
  const first = connected(h);
  const p = h.client.send('charge card').then(
    () => 'resolved',
    (e: unknown) => `rejected ${(e as { code?: string }).code}`,
  );
  await tick();
  expect(first.frames().filter((f) => f.t === 'msg')).toHaveLength(1);
  // The server handled c1, but the connection died before its ok arrived…
  first.serverClose(1006);
  h.clock.advance(1000);
  const second = h.server.last();
  // …and by the time the client came back, the session was gone.
  welcome(second, {
    sid: 's2',
    key: 'k2',
    resumed: false,
    recovered: false,
    reason: 'unknown_session',
  });
  await tick();
  const resent = second.frames().filter((f) => f.t === 'msg');
  // Expected: the pending send is failed with a distinct code (e.g. `session_lost`, retryable
  // at the app's discretion) rather than silently re-executed on the new session.
  expect.soft(resent).toEqual([]); // fails: [{ t: 'msg', id: 'c1', data: 'charge card' }]
  second.receive({ t: 'ok', id: 'c1' });
  expect.soft(await p).toMatch(/rejected/); // fails: 'resolved'
});

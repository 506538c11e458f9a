/**
 * Regression: a queued message counts as transmitted (so a resume answered `unknown_session`
 * or `epoch_changed` rejects it with `session_lost`) only once its frame was handed to the
 * socket's `send` without an error. A frame dropped from the write batch when the connection
 * died, a frame whose `send` threw, and a message waiting out a retry delay after a retryable
 * `nack` never reached (or were refused by) the old session: they are sent in the new one.
 */
import { expect, it } from 'vitest';
import { connected, setup, tick, welcome } from './test-support/harness.js';

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => `rejected ${(e as { code?: string }).code}`,
  );

const NEW_SESSION = {
  sid: 's2',
  key: 'k2',
  resumed: false,
  recovered: false,
  reason: 'unknown_session',
};

it('a send dropped from the write batch before it left is sent in the new session', async () => {
  const h = setup();
  const first = connected(h);
  const p = outcome(h.client.send('never left'));
  // The socket dies in the same tick, before the batched write is flushed.
  first.fail();
  await tick();
  expect(first.framesOf('msg')).toEqual([]); // it really never went out
  h.clock.advance(1000);
  const second = h.server.last();
  welcome(second, NEW_SESSION);
  await tick();
  expect(second.framesOf('msg')).toEqual([{ t: 'msg', id: 'c1', data: 'never left' }]);
  second.receive({ t: 'ok', id: 'c1' });
  expect(await p).toBe('resolved');
});

it('a send whose socket.send threw is sent in the new session', async () => {
  const h = setup();
  const first = connected(h);
  first.send = () => {
    throw new Error('boom');
  };
  const p = outcome(h.client.send('x'));
  await tick();
  expect(h.events.of('error').map((e) => e.code)).toEqual(['send_failed']);
  first.serverClose(1006);
  h.clock.advance(1000);
  const second = h.server.last();
  welcome(second, NEW_SESSION);
  await tick();
  expect(second.framesOf('msg')).toEqual([{ t: 'msg', id: 'c1', data: 'x' }]);
  second.receive({ t: 'ok', id: 'c1' });
  expect(await p).toBe('resolved');
});

it('a send that reached the socket is still rejected with session_lost', async () => {
  const h = setup();
  const first = connected(h);
  const p = outcome(h.client.send('went out'));
  await tick();
  expect(first.framesOf('msg')).toHaveLength(1);
  first.fail();
  h.clock.advance(1000);
  const second = h.server.last();
  welcome(second, { ...NEW_SESSION, reason: 'epoch_changed', resumed: true });
  await tick();
  expect(second.framesOf('msg')).toEqual([]);
  expect(await p).toBe('rejected session_lost');
});

/** Random values in the order the client asks for them, then 0.5. */
const script =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0.5;

it('a send waiting out a retry delay after a retryable nack is kept and sent in the new session', async () => {
  // First the retry delay (1 * 500 ms), then the reconnect delay (0.1 * 500 ms).
  const h = setup({ random: script(1, 0.1) });
  const first = connected(h);
  const p = outcome(h.client.send('retry me'));
  await tick();
  first.receive({ t: 'nack', id: 'c1', code: 'overloaded', message: '', retryable: true });
  first.fail();
  h.clock.advance(50);
  const second = h.server.last();
  expect(second).not.toBe(first);
  welcome(second, NEW_SESSION);
  await tick();
  // Not resent at the welcome (its retry delay is still running), and not rejected…
  expect(second.framesOf('msg')).toEqual([]);
  h.clock.advance(449);
  await tick();
  expect(second.framesOf('msg')).toEqual([]);
  // …but sent in the new session when the delay ends.
  h.clock.advance(1);
  await tick();
  expect(second.framesOf('msg')).toEqual([{ t: 'msg', id: 'c1', data: 'retry me' }]);
  second.receive({ t: 'ok', id: 'c1', data: 'done' });
  expect(await p).toBe('resolved');
});

it('a nacked send whose retry fell due while disconnected is sent in the new session', async () => {
  // First the retry delay (0.1 * 500 ms), then the reconnect delay (1 * 500 ms).
  const h = setup({ random: script(0.1, 1) });
  const first = connected(h);
  const p = outcome(h.client.send('retry me'));
  await tick();
  first.receive({ t: 'nack', id: 'c1', code: 'overloaded', message: '', retryable: true });
  first.fail();
  h.clock.advance(50); // the retry falls due with no connection: nothing goes out
  await tick();
  h.clock.advance(450);
  const second = h.server.last();
  expect(second).not.toBe(first);
  welcome(second, NEW_SESSION);
  await tick();
  expect(second.framesOf('msg')).toEqual([{ t: 'msg', id: 'c1', data: 'retry me' }]);
  second.receive({ t: 'ok', id: 'c1' });
  expect(await p).toBe('resolved');
});

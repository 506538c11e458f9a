/**
 * Regression: client messages received before `bye` are handled and answered before the
 * session is forgotten (frames of a batch are handled in order).
 */
import { expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

it('a msg followed by bye in the same message is handled and answered first', async () => {
  const h = new HubHarness();
  const seen: unknown[] = [];
  h.hub.clientMessages.handler = (m) => {
    seen.push(m.data);
    return 'done';
  };
  const a = await h.session();
  a.t.peerSends({ t: 'msg', id: 'c1', data: 'last words' }, { t: 'bye' });
  await h.settle();
  expect(a.t.closed?.code).toBe(1000);
  expect.soft(seen).toEqual(['last words']); // fails: []
  expect.soft(a.t.framesOf('ok').map((f) => f.id)).toEqual(['c1']); // fails: [] (no ok, no nack)
});

/**
 * Regression: a throwing `message` listener must not leave the id claimed with the handler
 * never run (a retry would then be answered `ok dup` for a message never handled).
 */
import { expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

it("a throwing 'message' listener does not stop the handler or the ok", async () => {
  const h = new HubHarness();
  let handled = 0;
  h.hub.clientMessages.handler = () => {
    handled++;
    return 'r';
  };
  let first = true;
  h.events.on('message', () => {
    if (first) {
      first = false;
      throw new Error('app bug');
    }
  });
  const a = await h.session();
  a.t.peerSends({ t: 'msg', id: 'c1', data: 1 });
  await h.settle();
  a.t.peerSends({ t: 'msg', id: 'c1', data: 1 }); // SDK retry
  await h.settle();
  expect.soft(a.t.framesOf('ok')).not.toContainEqual({ t: 'ok', id: 'c1', dup: true }); // fails
  expect.soft(handled).toBe(1); // fails: 0
});

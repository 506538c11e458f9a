/**
 * Regression: replies and pongs are not held back by the high-water mark, so a peer that
 * keeps sending without reading is bounded by a hard limit (maxBuffered): past it the
 * connection is closed as a slow consumer (4002).
 */
import { expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

it('a non-reading peer that floods pings is closed with 4002 at the hard bound', async () => {
  const h = new HubHarness({ writer: { highWaterMark: 1024, maxBuffered: 64 * 1024 } });
  const a = await h.session();
  // The peer stopped reading: everything we send stays buffered.
  let buffered = 0;
  Object.defineProperty(a.t, 'bufferedAmount', { get: () => buffered });
  const realSend = a.t.send.bind(a.t);
  a.t.send = (text: string) => {
    buffered += text.length;
    realSend(text);
  };
  const ping = Array.from({ length: 1000 }, () => '{"t":"ping"}').join('\n');
  for (let i = 0; i < 100; i++) {
    a.t.peerSendsRaw(ping);
    await h.settle();
  }
  // Bounded: at most one batch past the hard bound, then closed.
  expect(buffered).toBeLessThan(64 * 1024 + 256 * 1024);
  expect(a.t.closed?.code).toBe(4002);
  expect(a.t.framesOf('error')).toMatchObject([{ code: 'slow_consumer' }]);
});

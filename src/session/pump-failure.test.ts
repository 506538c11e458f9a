/**
 * Regression: a live send is written directly only right after the last written seq; after a
 * failed store read (a hole), the connection is closed (4003, error unavailable) so that the
 * client resumes from its ack — it never acks past a message it did not get.
 */
import { expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

it('a failed pump read closes the connection instead of letting a later send jump the hole', async () => {
  const h = new HubHarness({ writer: { highWaterMark: 100 } });
  const errors = h.record('error');
  const a = await h.session();

  // The socket is congested: seq 1 waits in the outbox.
  a.t.bufferedAmount = 1000;
  a.t.peerSends({ t: 'ping' }); // any write, so a flush sees bufferedAmount > mark
  await h.settle();
  await h.hub.send(a.sid, 'm1');
  await h.settle();
  expect(a.t.seqs).toEqual([]);

  // The store fails the pump's one read.
  const realRead = h.store.read.bind(h.store);
  let fail = true;
  h.store.read = async (...args: Parameters<typeof realRead>) => {
    if (fail) {
      fail = false;
      throw new Error('store hiccup');
    }
    return realRead(...args);
  };
  a.t.drain(0); // congestion clears → pump → read rejects
  await h.settle();
  expect(errors.map((e) => e.where)).toContain('pump');

  expect(a.t.closed?.code).toBe(4003);
  expect(a.t.framesOf('error')).toMatchObject([{ code: 'unavailable' }]);
  // The later send is stored, never written past the hole; a resume replays both.
  await h.hub.send(a.sid, 'm2');
  await h.settle();
  expect(a.t.seqs).toEqual([]);
  const b = h.connect();
  await h.hello(b, { sid: a.sid, key: a.key, ack: 0 });
  await h.settle();
  expect(b.seqs).toEqual([1, 2]);
});

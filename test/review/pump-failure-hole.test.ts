/**
 * REVIEW: hub.deliver() (src/session/hub.ts:238) writes a new seq whenever no pump is running
 * and the connection is writable, without checking that everything between sentSeq and that
 * seq was written. If a pump fails (store read rejects: Redis hiccup), the deferred messages
 * are never retried, and the next live send is written past the hole. The SDK then acks
 * past the hole (cumulative ack), so the skipped message is deleted: silent loss on a live
 * connection, which protocol.md addition 15 says cannot happen.
 */
import { expect, it } from 'vitest';
import { HubHarness } from '../../src/session/test-support/hub-harness.js';

it('a failed pump read leaves a hole that the next live send jumps over', async () => {
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

  // A new live send is written directly, past seq 1.
  await h.hub.send(a.sid, 'm2');
  await h.settle();
  // Expected: [1, 2] (or a close so the client resumes). Actual: [2], connection open.
  expect.soft(a.t.seqs).toEqual([1, 2]);
  // The client acks 2 (cumulative) and seq 1 is gone for good.
  a.t.peerSends({ t: 'ack', seq: 2 });
  await h.settle();
  expect.soft(a.t.closed).toBeDefined();
});

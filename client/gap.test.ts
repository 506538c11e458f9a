/**
 * Regression: each loss is reported once. The resume's `missing` counts the messages lost up
 * to `welcome.last`, so a live seq hole is reported only for its part above `welcome.last`;
 * and every welcome with `missing` > 0 (also reason `epoch_changed`) emits a `resume` gap.
 */
import { expect, it } from 'vitest';
import { connected, msg, setup, welcome } from './test-support/harness.js';

it('a resume gap with nothing replayed is not reported a second time as a live gap', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1), msg(2));
  first.serverClose(4002);
  h.clock.advance(250);
  const second = h.server.last();
  // Seqs 3..6 expired while away: nothing retained after ack 2.
  welcome(second, { resumed: true, recovered: false, reason: 'gap', missing: 4, last: 6 });
  expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 4 }]);
  second.receive(msg(7));
  expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 4 }]);
  expect(h.events.of('message').map((m) => m.seq)).toEqual([1, 2, 7]);
});

it('a resume gap whose lost messages are the newest ones (replay stops short of last) is reported once', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1));
  first.serverClose(1006);
  h.clock.advance(250);
  const second = h.server.last();
  // 2 and 3 retained and replayed, 4 lost (TTL), last 4.
  welcome(second, { resumed: true, recovered: false, reason: 'gap', missing: 1, last: 4 });
  second.receive(msg(2), msg(3));
  second.receive(msg(5));
  expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 1 }]);
});

it('a live hole that straddles welcome.last is reported only above it', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1));
  first.serverClose(1006);
  h.clock.advance(250);
  const second = h.server.last();
  // 2..4 lost while away (counted in missing); 5 and 6 lost after the welcome.
  welcome(second, { resumed: true, recovered: false, reason: 'gap', missing: 3, last: 4 });
  second.receive(msg(7));
  expect(h.events.of('gap')).toEqual([
    { reason: 'resume', missing: 3 },
    { reason: 'live', from: 5, to: 6 },
  ]);
});

it('a welcome with reason epoch_changed and missing > 0 emits a resume gap', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1), msg(2), msg(3));
  first.serverClose(1006);
  h.clock.advance(250);
  welcome(h.server.last(), {
    resumed: true,
    recovered: false,
    reason: 'epoch_changed',
    missing: 2,
    last: 1,
    epoch: 'e2',
  });
  expect(h.events.of('gap')).toEqual([{ reason: 'resume', missing: 2 }]);
});

it('a welcome with epoch_changed and no missing count emits no gap', () => {
  const h = setup();
  const first = connected(h);
  first.receive(msg(1));
  first.serverClose(1006);
  h.clock.advance(250);
  welcome(h.server.last(), {
    resumed: true,
    recovered: false,
    reason: 'epoch_changed',
    last: 0,
    epoch: 'e2',
  });
  expect(h.events.of('resumed')).toEqual([{ recovered: false, reason: 'epoch_changed' }]);
  expect(h.events.of('gap')).toEqual([]);
});

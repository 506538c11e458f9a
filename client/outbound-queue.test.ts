import { describe, expect, it } from 'vitest';
import { isClientError } from './errors.js';
import { OutboundQueue } from './outbound-queue.js';
import { ManualClock } from './test-support/manual-clock.js';

function setup(max = 10) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const online = { value: true };
  const queue = new OutboundQueue({
    max,
    clock,
    backoff: { baseMs: 100, capMs: 1000 },
    random: () => 1,
    transmit: (frame, done) => {
      if (!online.value) return;
      sent.push(frame);
      done();
    },
  });
  return { clock, sent, queue, online };
}

describe('OutboundQueue', () => {
  it('transmits on add and resolves with ok data, once', async () => {
    const { queue, sent } = setup();
    const p = queue.add('a', 'frame-a');
    expect(sent).toEqual(['frame-a']);
    queue.ok('a', { n: 1 });
    queue.ok('a', { n: 2 });
    await expect(p).resolves.toEqual({ n: 1 });
    expect(queue.size).toBe(0);
  });

  it('ignores answers for unknown ids', () => {
    const { queue } = setup();
    expect(() => queue.ok('nope', 1)).not.toThrow();
    expect(() => queue.nack('nope', 'x', 'y', false)).not.toThrow();
  });

  it('resends every unanswered message in order', () => {
    const { queue, sent } = setup();
    void queue.add('a', 'A');
    void queue.add('b', 'B');
    void queue.add('c', 'C');
    queue.ok('b', null);
    sent.length = 0;
    queue.resendAll();
    expect(sent).toEqual(['A', 'C']);
  });

  it('rejects with the nack code when the nack is not retryable', async () => {
    const { queue } = setup();
    const p = queue.add('a', 'A');
    queue.nack('a', 'invalid_input', 'no', false);
    const error: unknown = await p.catch((e: unknown) => e);
    expect(isClientError(error) && error.code).toBe('invalid_input');
    expect(queue.size).toBe(0);
  });

  it('retries a retryable nack after a growing full-jitter delay, skipping resends meanwhile', () => {
    const { queue, sent, clock } = setup();
    void queue.add('a', 'A');
    sent.length = 0;
    queue.nack('a', 'busy', 'later', true);
    queue.resendAll();
    expect(sent).toEqual([]);
    clock.advance(99);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual(['A']);
    queue.nack('a', 'busy', 'later', true);
    clock.advance(199);
    expect(sent).toEqual(['A']);
    clock.advance(1);
    expect(sent).toEqual(['A', 'A']);
  });

  it('retries after retryAfterMs when the nack carries one (a rate limit), not its own backoff', () => {
    const { queue, sent, clock } = setup();
    void queue.add('a', 'A');
    void queue.add('b', 'B');
    sent.length = 0;
    // Backoff alone would wait 100 ms (random 1, base 100); the hints are shorter and longer.
    queue.nack('a', 'rate_limited', 'slow down', true, 30);
    queue.nack('b', 'rate_limited', 'slow down', true, 250);
    clock.advance(29);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual(['A']);
    clock.advance(219);
    expect(sent).toEqual(['A']);
    clock.advance(1);
    expect(sent).toEqual(['A', 'B']);
    // Hints do not grow the backoff: a later nack without one waits the first delay.
    queue.nack('a', 'busy', 'later', true);
    clock.advance(100);
    expect(sent).toEqual(['A', 'B', 'A']);
  });

  it('caps a retryAfterMs hint at backoff.capMs', () => {
    const { queue, sent, clock } = setup();
    void queue.add('a', 'A');
    sent.length = 0;
    queue.nack('a', 'rate_limited', 'slow down', true, 60_000);
    clock.advance(1000);
    expect(sent).toEqual(['A']);
  });

  it('does not retry a message answered while it waited', async () => {
    const { queue, sent, clock } = setup();
    const p = queue.add('a', 'A');
    queue.nack('a', 'busy', 'later', true);
    queue.ok('a', 'done');
    clock.advance(10_000);
    expect(sent).toEqual(['A']);
    await expect(p).resolves.toBe('done');
    expect(clock.pending).toBe(0);
  });

  it('rejects over the bound with queue_full', async () => {
    const { queue } = setup(2);
    void queue.add('a', 'A');
    void queue.add('b', 'B');
    const error: unknown = await queue.add('c', 'C').catch((e: unknown) => e);
    expect(isClientError(error) && error.code).toBe('queue_full');
    expect(queue.size).toBe(2);
  });

  it('rejectAll rejects everything and cancels retry timers', async () => {
    const { queue, clock } = setup();
    const a = queue.add('a', 'A');
    const b = queue.add('b', 'B');
    queue.nack('b', 'busy', 'later', true);
    queue.rejectAll((id) => new Error(`gone ${id}`));
    await expect(a).rejects.toThrow('gone a');
    await expect(b).rejects.toThrow('gone b');
    expect(queue.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

describe('OutboundQueue.rejectTransmitted', () => {
  it('rejects what went out (it may have been handled) and keeps what never did', async () => {
    const { queue, online, sent } = setup();
    const first = queue.add('a', 'A');
    online.value = false;
    const second = queue.add('b', 'B');
    queue.rejectTransmitted((id) => new Error(`lost ${id}`));
    await expect(first).rejects.toThrow('lost a');
    online.value = true;
    queue.resendAll();
    expect(sent).toEqual(['A', 'B']);
    queue.ok('b', 2);
    expect(await second).toBe(2);
  });
});

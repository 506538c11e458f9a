/**
 * The rate rule of client messages (client-limits.ts): a burst, then the rate; refusals in a
 * row promised retry times one interval apart; a refusal past the longest wait is persistent.
 */
import { describe, expect, it } from 'vitest';
import { ACCEPTED, PERSISTENT, RateBucket, RateLimit } from './client-limits.js';

const T0 = 1_700_000_000_000;

/** `n` messages at `now`: the answers in order. */
function burst(limit: RateLimit, bucket: RateBucket, now: number, n: number): number[] {
  return Array.from({ length: n }, () => limit.take(bucket, now));
}

describe('RateLimit', () => {
  it('accepts `burst` messages at one instant, then refuses with the wait for the next slot', () => {
    const limit = new RateLimit({ rate: 100, burst: 200, maxWaitMs: 10_000 });
    const bucket = new RateBucket(T0);
    expect(burst(limit, bucket, T0, 200).every((w) => w === ACCEPTED)).toBe(true);
    // One interval (10 ms) per refusal in a row: each is told a later slot.
    expect(burst(limit, bucket, T0, 3)).toEqual([10, 20, 30]);
  });

  it('refills at the rate: a client that waits as told is accepted', () => {
    const limit = new RateLimit({ rate: 10, burst: 2, maxWaitMs: 10_000 });
    const bucket = new RateBucket(T0);
    expect(burst(limit, bucket, T0, 4)).toEqual([ACCEPTED, ACCEPTED, 100, 200]);
    // Each retry at its promised time fits.
    expect(limit.take(bucket, T0 + 100)).toBe(ACCEPTED);
    expect(limit.take(bucket, T0 + 200)).toBe(ACCEPTED);
    // Sending at the rate is accepted indefinitely.
    for (let i = 3; i < 50; i++) expect(limit.take(bucket, T0 + i * 100)).toBe(ACCEPTED);
  });

  it('a quiet spell fills the bucket again, but never beyond `burst`', () => {
    const limit = new RateLimit({ rate: 10, burst: 3, maxWaitMs: 10_000 });
    const bucket = new RateBucket(T0);
    burst(limit, bucket, T0, 3);
    const later = T0 + 60_000;
    expect(burst(limit, bucket, later, 4)).toEqual([ACCEPTED, ACCEPTED, ACCEPTED, 100]);
  });

  it('a refusal that would promise more than maxWaitMs is persistent', () => {
    // 10/s: every refusal in a row promises 100 ms more; 1 s of promises is 10 refusals.
    const limit = new RateLimit({ rate: 10, burst: 1, maxWaitMs: 1000 });
    const bucket = new RateBucket(T0);
    expect(limit.take(bucket, T0)).toBe(ACCEPTED);
    const waits = burst(limit, bucket, T0, 11);
    expect(waits.slice(0, 10)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(waits[10]).toBe(PERSISTENT);
  });

  it('a client sending at twice the rate, ignoring the answers, ends up persistent', () => {
    const limit = new RateLimit({ rate: 100, burst: 10, maxWaitMs: 2000 });
    const bucket = new RateBucket(T0);
    let now = T0;
    let outcome = 0;
    let refused = 0;
    // 250 messages a second (every 4 ms): 100 fit, 150 are refused and promised ever later.
    for (let i = 0; i < 10_000 && outcome !== PERSISTENT; i++, now += 4) {
      outcome = limit.take(bucket, now);
      if (outcome > 0) refused++;
    }
    expect(outcome).toBe(PERSISTENT);
    expect(refused).toBeGreaterThan(100);
  });

  it('a client sending a little over the rate is refused the excess but not closed', () => {
    const limit = new RateLimit({ rate: 100, burst: 10, maxWaitMs: 2000 });
    const bucket = new RateBucket(T0);
    const answers = new Map<string, number>();
    // 150 a second for a minute: the promises never reach 2 s ahead.
    for (let now = T0; now < T0 + 60_000; now += 1000 / 150) {
      const w = limit.take(bucket, now);
      const kind = w === ACCEPTED ? 'accepted' : w === PERSISTENT ? 'persistent' : 'refused';
      answers.set(kind, (answers.get(kind) ?? 0) + 1);
    }
    expect(answers.get('persistent')).toBeUndefined();
    // About the rate got through: 100/s for 60 s, plus the burst.
    expect(answers.get('accepted')).toBeGreaterThanOrEqual(6000);
    expect(answers.get('accepted')).toBeLessThanOrEqual(6011);
  });

  it('rates that do not divide 1000 keep their burst exact', () => {
    const limit = new RateLimit({ rate: 3, burst: 7, maxWaitMs: 10_000 });
    const bucket = new RateBucket(T0);
    const waits = burst(limit, bucket, T0, 8);
    expect(waits.slice(0, 7).every((w) => w === ACCEPTED)).toBe(true);
    expect(waits[7]).toBe(334);
  });

  it('admit keeps refused messages in order: a later message never overtakes one that waits', () => {
    const limit = new RateLimit({ rate: 10, burst: 2, maxWaitMs: 10_000 });
    const bucket = new RateBucket(T0);
    const accepted: string[] = [];
    const retryAt = new Map<string, number>();
    const send = (id: string, now: number): void => {
      const w = limit.admit(bucket, id, now);
      if (w === ACCEPTED) accepted.push(id);
      else retryAt.set(id, now + w);
    };
    for (const id of ['a', 'b', 'c', 'd']) send(id, T0);
    expect(accepted).toEqual(['a', 'b']);
    // At 150 ms the bucket has room for one more (take alone would accept e), but c and d
    // wait for their turn: e is refused, after them.
    send('e', T0 + 150);
    expect(accepted).toEqual(['a', 'b']);
    expect(retryAt.get('e')! > retryAt.get('d')!).toBe(true);
    // A retry that comes back early (d before c) is refused again and stays behind c.
    send('d', retryAt.get('c')! - 1);
    // Every client retries when told, in time order, until all are accepted.
    for (let i = 0; i < 20 && accepted.length < 5; i++) {
      const [id, at] = [...retryAt].sort((x, y) => x[1] - y[1])[0]!;
      retryAt.delete(id);
      send(id, at);
    }
    expect(accepted).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(bucket.waiting?.size).toBe(0);
  });

  it('admit gives up a refused message whose client has not come back within maxWaitMs', () => {
    const limit = new RateLimit({ rate: 10, burst: 1, maxWaitMs: 1000 });
    const bucket = new RateBucket(T0);
    expect(limit.admit(bucket, 'a', T0)).toBe(ACCEPTED);
    const lost = limit.admit(bucket, 'lost', T0);
    expect(lost).toBeGreaterThan(0);
    // 'lost' never comes back; long after its slot another message is first in line.
    expect(limit.admit(bucket, 'next', T0 + lost + 1001)).toBe(ACCEPTED);
    expect(bucket.waiting?.size).toBe(0);
  });
});

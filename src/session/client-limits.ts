/**
 * The limits on what one client may send (docs/security.md "Limits"): the rate of its `msg`
 * frames and how deep their JSON may nest. The rate is a token bucket per connection (a
 * connection serves one session), kept as GCRA (the generic cell rate algorithm): two
 * numbers per connection that has sent a message, nothing for one that has not, no timer,
 * and no allocation per message.
 */

export interface ClientLimits {
  /** `clientRate`: client messages per second a connection may send, sustained. */
  readonly rate: number;
  /** `clientBurst`: messages accepted at once after a quiet spell (the bucket's size). */
  readonly burst: number;
  /**
   * `clientRateMaxWait`: the longest retry-after a refusal may promise (ms). A refusal that
   * would need a longer one closes the connection (4003 `rate_limited`).
   */
  readonly maxWaitMs: number;
  /** `maxJsonDepth`: levels of arrays and objects a frame may nest inside its own object. */
  readonly maxDepth: number;
}

/** `take` accepted the message. */
export const ACCEPTED = 0;
/** `take` refused the message, and waiting would take longer than `maxWaitMs`: close. */
export const PERSISTENT = -1;

/**
 * One connection's bucket: its state only (the rule is `RateLimit`, shared by every
 * connection). `tat` (theoretical arrival time) is when the bucket would be full again.
 * `promised` is the last retry time a refusal handed out. Times are ms from `base` (the
 * connection's first message), which keeps them small and exact.
 */
export class RateBucket {
  tat = 0;
  promised = 0;
  /**
   * The ids refused and not accepted since, in the order they were first refused, each with
   * its promised retry time (ms from `base`): only the first may be accepted, so refused
   * messages are handled in the order they were sent, never overtaken by later ones. Made
   * at the first refusal; bounded (each entry holds a promised slot within `maxWaitMs`, one
   * interval apart), and emptied as the client comes back.
   */
  waiting: Map<string, number> | undefined = undefined;
  constructor(readonly base: number) {}
}

/**
 * The rate rule of `ClientLimits`. A message is accepted while the bucket's `tat` is at most
 * `(burst - 1) / rate` ahead of now, and then moves `tat` one interval (1 / rate) on. A
 * refused message is told to come back at the first time one more fits after the retries
 * already promised: refusals in a row get times one interval apart, so a client that waits
 * as told comes back at the rate and is accepted. A refusal that would have to promise more
 * than `maxWaitMs` means the client keeps sending faster than the rate, whatever it is told.
 */
export class RateLimit {
  private readonly interval: number;
  private readonly tolerance: number;
  private readonly maxWaitMs: number;

  constructor(limits: Pick<ClientLimits, 'rate' | 'burst' | 'maxWaitMs'>) {
    this.interval = 1000 / limits.rate;
    // Float slack: `burst` messages at one instant must all fit, however the sum rounds.
    this.tolerance = this.interval * (limits.burst - 1) + 1e-6;
    this.maxWaitMs = limits.maxWaitMs;
  }

  /**
   * One message at `now` (ms, the server's clock): `ACCEPTED` (0); else the whole ms to wait
   * before sending it again (≥ 1); or `PERSISTENT` (-1) when that wait would be longer than
   * `maxWaitMs`.
   */
  /**
   * `take` for message `id`, keeping refused messages in order: while some are waiting for
   * their retry, only the first of them may be accepted; any other message is refused too
   * (a later one joins the end of the line). An entry whose client has not come back within
   * `maxWaitMs` after its promised time is given up (the client dropped it).
   */
  admit(bucket: RateBucket, id: string, now: number): number {
    const waiting = bucket.waiting;
    if (waiting === undefined || waiting.size === 0) {
      const wait = this.take(bucket, now);
      if (wait > 0) (bucket.waiting ??= new Map()).set(id, bucket.promised);
      return wait;
    }
    const t = now - bucket.base;
    for (const [first, slot] of waiting) {
      if (t <= slot + this.maxWaitMs) break;
      waiting.delete(first);
    }
    const head = waiting.keys().next();
    if (head.done === true || head.value === id) {
      const wait = this.take(bucket, now);
      if (wait === 0) waiting.delete(id);
      else if (wait > 0) waiting.set(id, bucket.promised);
      return wait;
    }
    const wait = this.refuse(bucket, now);
    if (wait > 0) waiting.set(id, bucket.promised);
    return wait;
  }

  take(bucket: RateBucket, now: number): number {
    const t = now - bucket.base;
    const tat = bucket.tat > t ? bucket.tat : t;
    // Literals, not ACCEPTED and PERSISTENT: reading an exported binding here made V8
    // allocate on every call (measured: a scavenge every ~30 000 calls instead of none).
    if (tat - t <= this.tolerance) {
      bucket.tat = tat + this.interval;
      return 0;
    }
    return this.promise(bucket, t, tat - this.tolerance);
  }

  /** Refuse a message at `now` whatever the bucket holds (another one is first in line). */
  refuse(bucket: RateBucket, now: number): number {
    const t = now - bucket.base;
    const tat = bucket.tat > t ? bucket.tat : t;
    return this.promise(bucket, t, tat - this.tolerance);
  }

  /** The wait to promise a refused message: the first slot after those promised and after
   *  `fits` (when one more fits the bucket); `-1` past `maxWaitMs`. */
  private promise(bucket: RateBucket, t: number, fits: number): number {
    const next = bucket.promised + this.interval;
    const slot = next > fits ? next : fits;
    const wait = slot - t;
    if (wait > this.maxWaitMs) return -1;
    bucket.promised = slot;
    return wait < 1 ? 1 : Math.ceil(wait);
  }
}

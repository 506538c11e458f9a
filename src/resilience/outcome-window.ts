/**
 * The sliding windows a breaker computes its failure and slow-call rates over. Both keep
 * running totals and subtract what leaves the window, so recording a call is O(1) and never
 * allocates; memory is O(window) and fixed at construction.
 * - CountWindow: the last `size` outcomes, in a ring of one byte each.
 * - TimeWindow: `buckets` fixed buckets of `ms / buckets` each; whole buckets are evicted as
 *   time passes (at most `buckets` per call, so O(1) amortized and bounded).
 */

/** Outcome bits, one byte per call in the count window. */
const FAILED = 1;
const SLOW = 2;

export interface OutcomeWindow {
  /** Calls, failures and slow calls currently in the window. */
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  /** Records one call that ended at `now` (ms; ignored by a count window). */
  record(now: number, failed: boolean, slow: boolean): void;
  /** Drops what has aged out by `now` (a count window never ages). */
  advance(now: number): void;
  /** Empties the window (the breaker closed or was reset). */
  clear(): void;
}

export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly ring: Uint8Array;
  private next = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  record(_now: number, failed: boolean, slow: boolean): void {
    const i = this.next;
    if (this.calls === this.ring.length) {
      const old = this.ring[i]!;
      this.failures -= old & FAILED;
      this.slow -= (old & SLOW) >> 1;
    } else {
      this.calls++;
    }
    const bits = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    this.ring[i] = bits;
    this.failures += bits & FAILED;
    this.slow += (bits & SLOW) >> 1;
    this.next = i + 1 === this.ring.length ? 0 : i + 1;
  }

  advance(): void {}

  clear(): void {
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
    this.next = 0;
  }
}

export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly bucketCalls: Uint32Array;
  private readonly bucketFailures: Uint32Array;
  private readonly bucketSlow: Uint32Array;
  private readonly bucketMs: number;
  /** Index of the bucket that `headEpoch` maps to. */
  private head = 0;
  /** floor(time / bucketMs) of the newest bucket; -1 before the first call. */
  private headEpoch = -1;

  constructor(
    readonly ms: number,
    readonly buckets: number,
  ) {
    this.bucketMs = ms / buckets;
    this.bucketCalls = new Uint32Array(buckets);
    this.bucketFailures = new Uint32Array(buckets);
    this.bucketSlow = new Uint32Array(buckets);
  }

  record(now: number, failed: boolean, slow: boolean): void {
    this.advance(now);
    const h = this.head;
    this.bucketCalls[h]!++;
    this.calls++;
    if (failed) {
      this.bucketFailures[h]!++;
      this.failures++;
    }
    if (slow) {
      this.bucketSlow[h]!++;
      this.slow++;
    }
  }

  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    // A clock that steps back (NTP) keeps recording into the newest bucket.
    if (epoch <= this.headEpoch) return;
    if (this.headEpoch < 0) {
      this.headEpoch = epoch;
      return;
    }
    const steps = Math.min(epoch - this.headEpoch, this.bucketCalls.length);
    let h = this.head;
    for (let s = 0; s < steps; s++) {
      h = h + 1 === this.bucketCalls.length ? 0 : h + 1;
      this.calls -= this.bucketCalls[h]!;
      this.failures -= this.bucketFailures[h]!;
      this.slow -= this.bucketSlow[h]!;
      this.bucketCalls[h] = 0;
      this.bucketFailures[h] = 0;
      this.bucketSlow[h] = 0;
    }
    this.head = h;
    this.headEpoch = epoch;
  }

  clear(): void {
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
    this.headEpoch = -1;
  }
}

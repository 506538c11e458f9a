/**
 * The resume benchmark's view of a numbered stream at the client (bench/resume.bench.ts): what
 * was lost, duplicated or reordered, and how long each cut took to resumed delivery.
 */
import type { ChaosProxy } from '../../test/support/chaos-proxy.js';
import { sleep, until } from './common.js';

export interface Anomaly {
  kind: 'duplicate' | 'reordered';
  n: number;
  /** Cuts made before it was delivered. */
  cut: number;
  previous: number;
}

/**
 * Counts a numbered stream at the client and times each cut: cut → the client's next
 * connection attempt (detection + backoff) → the first message delivered on a connection
 * opened after the cut (handshake + resume + replay).
 */
export class StreamObserver {
  seen = new Uint8Array(1 << 16);
  /** Cuts made before n was delivered (its connection's epoch). */
  epochOf = new Int32Array(1 << 16);
  /** Per epoch (= cuts before the connection): whether its resume said recovered. */
  recoveredOf: (boolean | undefined)[] = [];
  max = 0;
  unique = 0;
  delivered = 0;
  duplicates = 0;
  reordered = 0;
  anomalies: Anomaly[] = [];
  cuts = 0;
  private phase: 'live' | 'cut' | 'attempted' = 'live';
  private cutAt = 0;
  private attemptAt = 0;
  private previous = 0;
  private sinceResume = 0;
  private waiter: { k: number; resolve: (ok: boolean) => void } | undefined;
  toAttempt: number[] = [];
  attemptToDelivery: number[] = [];
  toDelivery: number[] = [];

  onCut(t: number): void {
    this.cuts++;
    this.phase = 'cut';
    this.cutAt = t;
    this.sinceResume = 0;
  }

  /** A new connection (attempt) was started by the client. */
  onAttempt(t: number): void {
    if (this.phase !== 'cut') return;
    this.phase = 'attempted';
    this.attemptAt = t;
  }

  /** The connection of the current epoch said whether it recovered. */
  onResumed(recovered: boolean): void {
    this.recoveredOf[this.cuts] = recovered;
  }

  onMessage(n: number, t: number): void {
    if (n >= this.seen.length) {
      const size = Math.max(n + 1, this.seen.length * 2);
      const seen = new Uint8Array(size);
      seen.set(this.seen);
      this.seen = seen;
      const epoch = new Int32Array(size);
      epoch.set(this.epochOf);
      this.epochOf = epoch;
    }
    this.delivered++;
    if (this.seen[n] === 1) {
      this.duplicates++;
      if (this.anomalies.length < 50)
        this.anomalies.push({ kind: 'duplicate', n, cut: this.cuts, previous: this.previous });
    } else {
      this.seen[n] = 1;
      this.unique++;
      this.epochOf[n] = this.cuts;
      if (n < this.max) {
        this.reordered++;
        if (this.anomalies.length < 50)
          this.anomalies.push({ kind: 'reordered', n, cut: this.cuts, previous: this.previous });
      } else this.max = n;
    }
    this.previous = n;
    if (this.phase === 'attempted') {
      this.toAttempt.push(this.attemptAt - this.cutAt);
      this.attemptToDelivery.push(t - this.attemptAt);
      this.toDelivery.push(t - this.cutAt);
      this.phase = 'live';
    }
    if (this.phase === 'live') {
      this.sinceResume++;
      if (this.waiter !== undefined && this.sinceResume >= this.waiter.k) {
        this.waiter.resolve(true);
        this.waiter = undefined;
      }
    }
  }

  /** Resolves true once k messages were delivered on the connection after the last cut. */
  deliveredAfterResume(k: number, timeoutMs: number): Promise<boolean> {
    if (this.phase === 'live' && this.sinceResume >= k) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.waiter = {
        k,
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
    });
  }

  /** After the final drain: the numbers in 1..sent never delivered, as ranges. */
  lost(sent: number): { count: number; ranges: { from: number; to: number; epoch: number }[] } {
    let count = 0;
    const ranges: { from: number; to: number; epoch: number }[] = [];
    for (let n = 1; n <= sent; n++) {
      if (n < this.seen.length && this.seen[n] === 1) continue;
      count++;
      const last = ranges[ranges.length - 1];
      if (last !== undefined && last.to === n - 1) last.to = n;
      else {
        // The epoch of the last delivered number before the hole: the loss happened at the
        // reconnect after it (or within its connection).
        let p = n - 1;
        while (p > 0 && this.seen[p] !== 1) p--;
        ranges.push({ from: n, to: n, epoch: p > 0 ? this.epochOf[p]! : 0 });
      }
    }
    return { count, ranges };
  }
}

function lostSilently(
  stream: StreamObserver,
  ranges: { from: number; to: number; epoch: number }[],
): number {
  let silent = 0;
  // A hole after epoch e happened at the reconnect into epoch e + 1 (or, after the last cut,
  // within the last connection): silent when that connection said it recovered.
  for (const r of ranges)
    if ((stream.recoveredOf[r.epoch + 1] ?? stream.recoveredOf[r.epoch]) === true)
      silent += r.to - r.from + 1;
  return silent;
}

/** What the client saw of a stream of `sent` numbers, the same figures for both systems. */
export function streamCounts(stream: StreamObserver, proxy: ChaosProxy, sent: number) {
  const lost = stream.lost(sent);
  return {
    cuts: stream.cuts,
    socketsCut: proxy.cuts,
    sent,
    delivered: stream.delivered,
    unique: stream.unique,
    lost: lost.count,
    lostRanges: lost.ranges.slice(0, 50),
    lostSilently: lostSilently(stream, lost.ranges),
    duplicates: stream.duplicates,
    reordered: stream.reordered,
    anomalies: stream.anomalies,
  };
}

/** Waits until every streamed number arrived (or 10 s), then a little more for late repeats. */
export async function drain(stream: StreamObserver, sent: number): Promise<void> {
  await until(() => stream.unique >= sent, 10_000);
  await sleep(300);
}

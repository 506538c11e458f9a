/**
 * Cumulative ack batching: one `ack` carrying the highest processed seq at most every
 * `delayMs`, or at once when `maxUnacked` messages wait. A burst of N messages costs the
 * server one ack instead of N; the cap bounds what a crash makes the server resend.
 */
import type { ClientClock } from './clock.js';

export class AckBatcher {
  private latest = 0;
  private acked = 0;
  private unacked = 0;
  private timer: unknown;
  private armed = false;

  constructor(
    private readonly clock: ClientClock,
    private readonly delayMs: number,
    private readonly send: (seq: number) => void,
    private readonly maxUnacked = 64,
  ) {}

  /** Records that every message up to `seq` has been processed. */
  processed(seq: number): void {
    if (seq > this.latest) this.latest = seq;
    if (this.latest <= this.acked) return;
    if (++this.unacked >= this.maxUnacked) {
      this.flush();
    } else if (!this.armed) {
      this.armed = true;
      this.timer = this.clock.setTimeout(() => {
        this.armed = false;
        this.flush();
      }, this.delayMs);
    }
  }

  /** Sends the pending ack now, if there is one. */
  flush(): void {
    this.disarm();
    this.unacked = 0;
    if (this.latest <= this.acked) return;
    this.acked = this.latest;
    this.send(this.latest);
  }

  /** Forgets pending acks: the server already knows `ackedUpTo` (from `hello.resume.ack`). */
  reset(ackedUpTo: number): void {
    this.disarm();
    this.latest = ackedUpTo;
    this.acked = ackedUpTo;
    this.unacked = 0;
  }

  private disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    this.clock.clearTimeout(this.timer);
  }
}

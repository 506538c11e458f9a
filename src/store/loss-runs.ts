/**
 * The seqs a session lost (TTL expiry, drop-oldest eviction) and has not had acked past, so
 * that `resume` can report an exact `missing` count without keeping a record per message.
 *
 * Losses always come off the head of the outbox, so lost seqs arrive in increasing order and
 * consecutive losses form runs [from, to]. A run only extends by exactly `to + 1`: the seqs
 * between two runs were superseded (or retained and later removed some other way), and
 * superseded seqs are not missing.
 */
export const DEFAULT_MAX_RUNS = 256;

export class LossRuns {
  /** Flattened pairs [from0, to0, from1, to1, …] in increasing order. */
  private runs: number[] = [];
  private total = 0;

  /**
   * @param maxRuns bound on the runs kept. Past it, the two oldest runs merge into one that
   *   also covers the superseded seqs between them, so `count` over-counts in that extreme
   *   case (hundreds of separate losses in one unacked stretch): it never under-counts, so a
   *   resume with losses is never reported as complete.
   */
  constructor(private readonly maxRuns = DEFAULT_MAX_RUNS) {}

  /** Lost seqs above the last trim. */
  get count(): number {
    return this.total;
  }

  /** The highest lost seq above the last trim (0 if none). */
  get highest(): number {
    const n = this.runs.length;
    return n === 0 ? 0 : this.runs[n - 1]!;
  }

  /** Record that `seq` was lost; `seq` must exceed every seq recorded before. */
  add(seq: number): void {
    const n = this.runs.length;
    this.total++;
    if (n > 0 && this.runs[n - 1] === seq - 1) {
      this.runs[n - 1] = seq;
      return;
    }
    this.runs.push(seq, seq);
    if (this.runs.length > this.maxRuns * 2) {
      // Merging [a, b] and [c, d] into [a, d] counts the c - b - 1 seqs between them too.
      const b = this.runs[1]!;
      const c = this.runs[2]!;
      this.total += c - b - 1;
      this.runs.splice(1, 2);
    }
  }

  /** Forget every loss at or below `ack`: the client has moved past it. */
  trim(ack: number): void {
    let i = 0;
    while (i < this.runs.length) {
      const from = this.runs[i]!;
      const to = this.runs[i + 1]!;
      if (to <= ack) {
        this.total -= to - from + 1;
        i += 2;
        continue;
      }
      if (from <= ack) {
        this.total -= ack - from + 1;
        this.runs[i] = ack + 1;
      }
      break;
    }
    if (i > 0) this.runs.splice(0, i);
  }
}

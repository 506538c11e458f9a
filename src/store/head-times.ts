/**
 * The enqueue time of every outbox's oldest message, in one contiguous array, so that the
 * store's oldest retained message (`StoreStats.oldestAt`, read by every `/metrics` scrape and
 * every dashboard snapshot) is one sequential pass over 8 bytes per outbox instead of a walk
 * through every session's objects. That walk cost 1.3 ms per call at 10 000 sessions with its
 * data out of cache (bench/dashboard-snapshot.bench.ts), growing to ~100 ms at 1 million;
 * the pass reads 80 KB at 10 000.
 *
 * Each outbox owns a slot from its creation until its session is forgotten, and writes its
 * head's time there whenever its head changes (once per append to an empty outbox and once per
 * removal: an ack, an expiry, an eviction, a clear). Empty outboxes and free slots read
 * `Infinity`. Slots are reused (a free list), so the array is as long as the most outboxes
 * that existed at once (bounded by the sessions; 8 bytes each, plus the free list), and it
 * starts over at its first size whenever the last outbox is gone.
 */
const INITIAL = 1024;

export class HeadTimes {
  private times = new Float64Array(INITIAL).fill(Infinity);
  private free: number[] = [];
  /** Slots handed out at least once (the part of the array a pass reads). */
  private used = 0;

  alloc(): number {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    if (this.used === this.times.length) {
      const grown = new Float64Array(this.times.length * 2).fill(Infinity);
      grown.set(this.times);
      this.times = grown;
    }
    return this.used++;
  }

  set(slot: number, at: number): void {
    this.times[slot] = at;
  }

  release(slot: number): void {
    this.times[slot] = Infinity;
    this.free.push(slot);
    // The last outbox gone: back to the first size, so that memory returns to its baseline
    // after sessions come and go (the cleanup benchmark's check: 100 000 sessions reaped had
    // left ~1 MB here, the array and the free list at their high-water mark).
    if (this.free.length === this.used) {
      this.times = new Float64Array(INITIAL).fill(Infinity);
      this.free = [];
      this.used = 0;
    }
  }

  /** The oldest head time, or undefined when every outbox is empty. */
  oldest(): number | undefined {
    const t = this.times;
    let min = Infinity;
    for (let i = 0; i < this.used; i++) {
      const v = t[i]!;
      if (v < min) min = v;
    }
    return min === Infinity ? undefined : min;
  }

  /** Slots in use (outboxes alive), for tests. */
  get live(): number {
    return this.used - this.free.length;
  }

  /** Slots the array can hold without growing, for tests. */
  get capacity(): number {
    return this.times.length;
  }
}

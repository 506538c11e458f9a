/**
 * Deadlines bucketed by time, so that finding what is due costs O(buckets passed + entries
 * due), never O(entries registered): 1M sessions whose deadlines lie in the future cost a
 * sweep a handful of Map lookups.
 *
 * An entry holds at most one registration, at its earliest known deadline. Deadlines that
 * move later are not tracked eagerly: the entry fires early, and its owner checks the real
 * deadline and registers again. Deadlines that move earlier must be registered (`schedule`
 * keeps the earlier of the two), so an entry never fires late.
 */
export interface WheelEntry {
  /** The bucket this entry is registered in; owned by the wheel. */
  wheelBucket: number | undefined;
}

/** Default bucket width, ms: well under the 1 s sweep interval, so a sweep fires few early. */
export const DEFAULT_BUCKET_MS = 100;

export class ExpiryWheel<T extends WheelEntry> {
  private readonly buckets = new Map<number, Set<T>>();
  /** Highest bucket already drained; later registrations below it land in it instead. */
  private cursor: number | undefined;
  private registered = 0;

  constructor(private readonly bucketMs = DEFAULT_BUCKET_MS) {}

  /** Number of registered entries. */
  get size(): number {
    return this.registered;
  }

  /** Register `entry` to fire at or after `at`, unless it already fires no later. */
  schedule(entry: T, at: number): void {
    let bucket = Math.floor(at / this.bucketMs);
    if (this.cursor !== undefined && bucket < this.cursor) bucket = this.cursor;
    const current = entry.wheelBucket;
    if (current !== undefined) {
      if (current <= bucket) return;
      this.removeFrom(entry, current);
    }
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(entry);
    entry.wheelBucket = bucket;
    this.registered++;
  }

  unschedule(entry: T): void {
    if (entry.wheelBucket !== undefined) this.removeFrom(entry, entry.wheelBucket);
  }

  /**
   * Unregister and return every entry whose bucket starts at or before `now`. Entries from
   * the current bucket may not be due yet: the caller checks and re-schedules them.
   */
  due(now: number): T[] {
    const last = Math.floor(now / this.bucketMs);
    const out: T[] = [];
    const cursor = this.cursor;
    if (cursor === undefined || last - cursor > this.buckets.size) {
      // After a long pause, walking the few live buckets beats walking every empty one.
      const keys: number[] = [];
      for (const key of this.buckets.keys()) if (key <= last) keys.push(key);
      keys.sort((a, b) => a - b);
      for (const key of keys) this.drain(key, out);
    } else {
      for (let key = cursor; key <= last; key++) this.drain(key, out);
    }
    if (cursor === undefined || last > cursor) this.cursor = last;
    return out;
  }

  private drain(key: number, out: T[]): void {
    const set = this.buckets.get(key);
    if (set === undefined) return;
    this.buckets.delete(key);
    for (const entry of set) {
      entry.wheelBucket = undefined;
      out.push(entry);
    }
    this.registered -= set.size;
  }

  private removeFrom(entry: T, bucket: number): void {
    const set = this.buckets.get(bucket);
    entry.wheelBucket = undefined;
    if (set?.delete(entry) !== true) return;
    this.registered--;
    if (set.size === 0) this.buckets.delete(bucket);
  }
}

/**
 * A bounded, time-windowed set of ids with a value per id (the outbound dedup window keeps
 * the original seq; the inbound one keeps nothing useful).
 *
 * Ids are recorded with non-decreasing timestamps, so the expired ids are always the oldest:
 * a FIFO queue of entries beside the Map gives them in order, and each check drops the
 * expired prefix by key. Every entry is queued once and dropped once, so a check is O(1)
 * amortized whatever the window holds (the original scanned the whole window on every send:
 * 397 µs at 20k ids).
 *
 * Why not iterate the Map from its oldest entry: V8 keeps deleted entries in a Map's table
 * until it rehashes, and a new iterator steps over all of them, so with ids expiring
 * continuously each eviction cost ~1 ns per id already dropped — 8–14 µs per check at the
 * default 10k ids per session (benchmark dedup-window).
 *
 * Why not generations of Maps dropped whole, with no delete per id: tried with the same
 * answers (bench/lib/generational-dedup-window.ts) and measured beside this class by the
 * same benchmark, it was no faster for a new id at 1M ids (0.99–1.08×) and slower elsewhere
 * (1.22–1.25× for a new id at 1k, 1.25–1.28× for a random hit at 1M): a miss must look in two
 * or three Maps, each as cache-cold as the one delete it saves (docs/performance.md).
 */
interface Entry<V> {
  readonly id: string;
  readonly at: number;
  value: V;
  /** Removed from the Map already (re-recorded, deleted, found expired): skip when dequeued. */
  gone: boolean;
}

/** A dead prefix of the queue is cut off once it is this long and half the array. */
const COMPACT_MIN = 1024;

export class DedupWindow<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Every live entry once, oldest first, behind a dead prefix of `head` slots. */
  private queue: Entry<V>[] = [];
  private head = 0;
  /** Queued entries marked gone (deleted or re-recorded) behind the head, not yet skipped. */
  private dead = 0;

  /**
   * @param windowMs how long an id is remembered, ms; an id seen at `t` is forgotten at
   *   `t + windowMs`.
   * @param maxIds most ids remembered; the oldest go first.
   */
  /**
   * @param onForget called with each id the window forgets by itself (expired, or pushed out
   *   by `maxIds`); not for `delete` or a re-recorded id.
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxIds: number,
    private readonly onForget?: (id: string) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value recorded for `id` if it was seen within the window. */
  get(id: string, now: number): V | undefined {
    this.evictExpired(now);
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    // A clock that stepped backwards can leave an expired id behind a fresher one.
    if (entry.at + this.windowMs <= now) {
      this.remove(entry);
      this.onForget?.(entry.id);
      return undefined;
    }
    return entry.value;
  }

  /** Record `id` as seen at `now`. A re-recorded id moves to the back with its new time. */
  set(id: string, value: V, now: number): void {
    if (this.maxIds <= 0 || this.windowMs <= 0) return;
    this.evictExpired(now);
    const previous = this.entries.get(id);
    if (previous !== undefined) this.markGone(previous);
    const entry: Entry<V> = { id, at: now, value, gone: false };
    this.entries.set(id, entry);
    this.queue.push(entry);
    if (this.entries.size > this.maxIds) this.evictOldest();
  }

  /**
   * Change the value of a recorded `id`, keeping its time and place (an expired id still here
   * is changed too: the next check drops it). Returns false when `id` is not recorded.
   */
  update(id: string, value: V): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    entry.value = value;
    return true;
  }

  delete(id: string): void {
    const entry = this.entries.get(id);
    if (entry !== undefined) this.remove(entry);
  }

  private remove(entry: Entry<V>): void {
    this.markGone(entry);
    this.entries.delete(entry.id);
  }

  /**
   * Gone entries leave the queue when they reach its head; behind a long-lived id that could
   * take the whole window, so ids deleted or re-recorded over and over (a client retrying a
   * refused message) would grow the queue past `maxIds`. Once the gone entries outnumber the
   * live ones (plus a slack), the queue is rebuilt from the live ones: O(1) amortized, and
   * the queue never holds more than twice the ids plus the slack.
   */
  private markGone(entry: Entry<V>): void {
    entry.gone = true;
    if (++this.dead <= this.entries.size + COMPACT_MIN) return;
    this.queue = this.queue.slice(this.head).filter((e) => !e.gone);
    this.head = 0;
    this.dead = 0;
  }

  private evictExpired(now: number): void {
    const queue = this.queue;
    let head = this.head;
    while (head < queue.length) {
      const entry = queue[head]!;
      if (entry.gone) this.dead--;
      else {
        if (entry.at + this.windowMs > now) break;
        entry.gone = true;
        this.entries.delete(entry.id);
        this.onForget?.(entry.id);
      }
      head++;
    }
    this.advance(head);
  }

  private evictOldest(): void {
    const queue = this.queue;
    let head = this.head;
    while (head < queue.length) {
      const entry = queue[head++]!;
      if (entry.gone) this.dead--;
      else {
        entry.gone = true;
        this.entries.delete(entry.id);
        this.onForget?.(entry.id);
        break;
      }
    }
    this.advance(head);
  }

  private advance(head: number): void {
    if (head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (head >= COMPACT_MIN && head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }
}

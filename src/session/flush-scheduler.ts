/**
 * Coalesces writes: frames queued during one turn of the event loop leave as one WebSocket
 * message per connection (frames joined by '\n'). Per-message write system calls are most
 * of a WebSocket server's cost (docs/performance.md, "end-to-end push": raw ws corked in
 * batches of 64 sends is 4.7× faster than one send per message), and the outbox is a
 * natural batch.
 *
 * It also tells a connection whether the loop is saturated (autocorking, as Linux does for
 * TCP): when the loop waited less than SATURATED_IDLE_MS for I/O since the previous run, it is
 * busy from one check phase to the next, and a connection that wrote in the previous run is
 * streaming. Such a connection holds its frames for one more loop iteration so that two
 * iterations' frames leave in one write (docs/performance.md, "What we do to be fast").
 * Idle time, not the time between runs: a loaded loop's turns are long (at 100 connections
 * × 1 KB one turn's writes took over 1 ms), and a loop with time to spare sleeps between
 * them, however short they are.
 */
export interface Flushable {
  flush(): void;
}

export type Defer = (fn: () => void) => void;

/** Less idle time than this (ms) between two runs means a saturated loop. */
export const SATURATED_IDLE_MS = 0.05;

/**
 * `runs` wraps here, so that it (and what connections store of it above four flag bits)
 * stays a small integer (≤ 2^30 − 1).
 */
export const RUN_MASK = 0x3ffffff;

export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;
  /** Runs started so far, modulo RUN_MASK + 1. */
  runs = 0;
  /** The loop was idle less than SATURATED_IDLE_MS between the previous run and this one. */
  saturated = false;
  private lastIdle = Number.NEGATIVE_INFINITY;

  /**
   * @param idleTime the time the event loop has spent waiting for I/O since it started, ms
   *   (`performance.eventLoopUtilization().idle`; read once per run, ~80 ns).
   */
  constructor(
    private readonly defer: Defer = (fn) => setImmediate(fn),
    private readonly idleTime: () => number = () => performance.eventLoopUtilization().idle,
  ) {}

  mark(item: Flushable): void {
    this.dirty.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(this.run);
    }
  }

  /**
   * Whether a connection that last wrote in run `lastWrite` is streaming in a saturated loop:
   * it wrote in this run or the one before, and the loop did not wait for I/O in between.
   */
  streaming(lastWrite: number): boolean {
    return this.saturated && ((this.runs - lastWrite) & RUN_MASK) <= 1;
  }

  /** Flush everything now (tests, shutdown). */
  readonly run = (): void => {
    const idle = this.idleTime();
    this.saturated = idle - this.lastIdle < SATURATED_IDLE_MS;
    this.lastIdle = idle;
    this.runs = (this.runs + 1) & RUN_MASK;
    this.scheduled = false;
    const items = this.dirty;
    this.dirty = [];
    for (let i = 0; i < items.length; i++) {
      try {
        items[i]!.flush();
      } catch (error) {
        // The items after it stay due (each thinks it is marked): flush them next turn.
        for (let j = i + 1; j < items.length; j++) this.mark(items[j]!);
        throw error;
      }
    }
  };
}

/**
 * Coalesces writes: frames queued during one turn of the event loop leave as one WebSocket
 * message per connection (frames joined by '\n'). Per-message write system calls are most
 * of a WebSocket server's cost (docs/performance.md, "end-to-end push": raw ws corked in
 * batches of 64 sends is 4.7× faster than one send per message), and the outbox is a
 * natural batch.
 *
 * It also tells a connection whether the loop is saturated (autocorking, as Linux does for
 * TCP): a run that starts less than SATURATED_GAP_MS after the previous one means the loop is
 * busy from one check phase to the next, and a connection that wrote in the previous run is
 * streaming. Such a connection holds its frames for one more loop iteration so that two
 * iterations' frames leave in one write (docs/performance.md, "What we do to be fast").
 */
export interface Flushable {
  flush(): void;
}

export type Defer = (fn: () => void) => void;

/** Runs closer together than this (ms, start to start) mean a saturated loop. */
export const SATURATED_GAP_MS = 1;

/** `runs` wraps here, so that it (and what connections store of it) stays a small integer. */
export const RUN_MASK = 0x7ffffff;

export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;
  /** Runs started so far, modulo RUN_MASK + 1. */
  runs = 0;
  /** This run started within SATURATED_GAP_MS of the previous one. */
  saturated = false;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly defer: Defer = (fn) => setImmediate(fn),
    private readonly now: () => number = () => performance.now(),
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
   * it wrote in this run or the one before, and runs follow each other closely.
   */
  streaming(lastWrite: number): boolean {
    return this.saturated && ((this.runs - lastWrite) & RUN_MASK) <= 1;
  }

  /** Flush everything now (tests, shutdown). */
  readonly run = (): void => {
    const start = this.now();
    this.saturated = start - this.lastStart < SATURATED_GAP_MS;
    this.lastStart = start;
    this.runs = (this.runs + 1) & RUN_MASK;
    this.scheduled = false;
    const items = this.dirty;
    this.dirty = [];
    for (const item of items) item.flush();
  };
}

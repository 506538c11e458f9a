/**
 * Coalesces writes: frames queued during one turn of the event loop leave as one WebSocket
 * message per connection (frames joined by '\n'). Per-message write system calls are most
 * of a WebSocket server's cost (docs/performance.md, "end-to-end push": raw ws corked in
 * batches of 64 sends is 4.7× faster than one send per message), and the outbox is a
 * natural batch.
 */
export interface Flushable {
  flush(): void;
}

export type Defer = (fn: () => void) => void;

export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  constructor(private readonly defer: Defer = (fn) => setImmediate(fn)) {}

  mark(item: Flushable): void {
    this.dirty.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(this.run);
    }
  }

  /** Flush everything now (tests, shutdown). */
  readonly run = (): void => {
    this.scheduled = false;
    const items = this.dirty;
    this.dirty = [];
    for (const item of items) item.flush();
  };
}

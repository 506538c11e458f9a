/**
 * Outgoing frames for one connection, batched: frames written in the same tick (a loop of
 * `send` calls) or while one server message is handled (its pongs and acks) leave as one
 * WebSocket message joined by '\n', as PROTOCOL.md allows. Per-message system calls are most
 * of a WebSocket server's cost, so the batch saves the server more than the client.
 */

/**
 * Batches stay under this many UTF-16 units (at most 192 KiB of UTF-8), well below the
 * server's 1 MiB default: an oversize message is a terminal 1009 close.
 */
const MAX_BATCH_CHARS = 64 * 1024;

export class FrameWriter {
  private out: string[] = [];
  private chars = 0;
  private holding = false;
  private scheduled = false;

  /** @param sink sends one WebSocket message (or drops it when no connection is up). */
  constructor(private readonly sink: (text: string) => void) {}

  /** Queues a frame; it leaves with the others written in this tick. */
  write(frame: string): void {
    if (this.chars + frame.length > MAX_BATCH_CHARS) this.flush();
    this.out.push(frame);
    this.chars += frame.length;
    if (this.holding || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Queues a frame and sends at once, unless a `hold` is in progress (then it joins that). */
  writeNow(frame: string): void {
    this.write(frame);
    if (!this.holding) this.flush();
  }

  /** Runs `fn` and sends everything it wrote as one message. */
  hold(fn: () => void): void {
    this.holding = true;
    try {
      fn();
    } finally {
      this.holding = false;
    }
    this.flush();
  }

  flush(): void {
    if (this.out.length === 0) return;
    const text = this.out.length === 1 ? this.out[0]! : this.out.join('\n');
    this.clear();
    this.sink(text);
  }

  /** Drops unsent frames (the connection they were meant for is gone). */
  clear(): void {
    this.out = [];
    this.chars = 0;
  }
}

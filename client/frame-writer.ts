/**
 * Outgoing frames for one connection, batched: frames written in the same tick (a loop of
 * `send` calls) or while one server message is handled (its pongs and acks) leave as one
 * WebSocket message joined by '\n', as docs/protocol.md §1 allows. Per-message system calls are most
 * of a WebSocket server's cost, so the batch saves the server more than the client.
 */

/**
 * Batches of several frames stay under this many UTF-16 units (at most 192 KiB of UTF-8),
 * well below the server's 1 MiB default: an oversize message is a terminal 1009 close.
 */
const MAX_BATCH_CHARS = 64 * 1024;

export class FrameWriter {
  private out: string[] = [];
  /** Called once their frame has been handed to the socket (see `write`). */
  private sentHooks: (() => void)[] = [];
  private chars = 0;
  private holding = false;
  private scheduled = false;
  private readonly maxChars: number;

  /**
   * @param sink sends one WebSocket message; returns whether the socket took it (false when
   *   no connection is up or the socket's `send` threw).
   * @param maxMessageBytes the largest WebSocket message the server accepts: a batch of
   *   several frames stays within it (a UTF-16 unit is at most 3 bytes of UTF-8). A single
   *   frame always leaves alone once it is over the batch bound; its size is the caller's
   *   to check.
   */
  constructor(
    private readonly sink: (text: string) => boolean,
    maxMessageBytes = Infinity,
  ) {
    this.maxChars = Math.max(1, Math.min(MAX_BATCH_CHARS, Math.floor(maxMessageBytes / 3)));
  }

  /**
   * Queues a frame; it leaves with the others written in this tick. `sent` is called when
   * the batch holding it has been handed to the socket without an error, and never if the
   * batch is dropped (`clear`) or the socket refused it.
   */
  write(frame: string, sent?: () => void): void {
    // + 1 for the '\n' that joins it to the batch.
    if (this.out.length > 0 && this.chars + 1 + frame.length > this.maxChars) this.flush();
    this.chars += (this.out.length > 0 ? 1 : 0) + frame.length;
    this.out.push(frame);
    if (sent !== undefined) this.sentHooks.push(sent);
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

  /** Frames written from here to `end()` leave as one message at `end()`. */
  begin(): void {
    this.holding = true;
  }

  /** Sends everything written since `begin()` as one message. */
  end(): void {
    this.holding = false;
    this.flush();
  }

  flush(): void {
    if (this.out.length === 0) return;
    const text = this.out.length === 1 ? this.out[0]! : this.out.join('\n');
    const hooks = this.sentHooks;
    this.clear();
    if (this.sink(text)) for (const sent of hooks) sent();
  }

  /** Drops unsent frames (the connection they were meant for is gone). */
  clear(): void {
    this.out = [];
    this.sentHooks = [];
    this.chars = 0;
  }
}

/**
 * stdout of the bridge: JSON-RPC messages, one `JSON.stringify` + `\n` each, in order, and
 * nothing else. A write the stream cannot take at once (`write()` returned false) holds the
 * following lines here until `drain`.
 */
import type { Writable } from 'node:stream';

export class JsonLineWriter {
  private readonly queue: string[] = [];
  private head = 0;
  private blocked = false;
  private broken = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * @param out the stream (process.stdout)
   * @param onBroken called once if the stream fails (EPIPE: the reader went away); later
   *   lines are dropped
   */
  constructor(
    private readonly out: Writable,
    private readonly onBroken: (error: Error) => void,
  ) {
    out.on('error', (error: Error) => this.fail(error));
  }

  /** Lines waiting for `drain`. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Queues one message; it is written after every message queued before it. */
  write(message: unknown): void {
    if (this.broken) return;
    const line = `${JSON.stringify(message)}\n`;
    if (this.blocked) this.queue.push(line);
    else if (!this.out.write(line)) this.block();
  }

  /**
   * Resolves once every queued line has been handed to the stream and the stream has written
   * it (or failed), or after `timeoutMs`: a reader that stopped reading cannot hold the exit.
   */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const written = (async () => {
      if (this.blocked && !this.broken)
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      if (this.broken || this.out.destroyed || this.out.writableEnded) return;
      // An empty write's callback runs once everything before it is written.
      await new Promise<void>((resolve) => this.out.write('', () => resolve()));
    })();
    await Promise.race([written, deadline]);
    clearTimeout(timer);
  }

  private block(): void {
    this.blocked = true;
    this.out.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    while (this.head < this.queue.length) {
      const line = this.queue[this.head]!;
      this.queue[this.head++] = '';
      if (!this.out.write(line)) {
        this.compact();
        this.block();
        return;
      }
    }
    this.compact();
    this.wakeIdle();
  };

  private compact(): void {
    if (this.head === 0) return;
    this.queue.splice(0, this.head);
    this.head = 0;
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    this.queue.length = 0;
    this.head = 0;
    this.blocked = false;
    this.out.off('drain', this.onDrain);
    this.wakeIdle();
    this.onBroken(error);
  }
}

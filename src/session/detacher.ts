/**
 * Detaches of sessions whose connection closed here: sent to the store and tracked until
 * answered, so that shutdown can wait for them (a shared store must record them before its
 * user closes it, or the sessions would stay attached with no node to serve them).
 */
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';

export class Detacher {
  /** Detaches sent to the store and not answered yet. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly events: Emitter<CoreEvents>,
    private readonly options: { readonly sessionTtlMs: number },
    private readonly node: string,
  ) {}

  /** Mark `sid` detached in the store; it is reaped after the session TTL. */
  detach(sid: string): void {
    const done: Promise<unknown> = this.outbox.store
      .detach(sid, this.clock.now(), this.options.sessionTtlMs, this.node)
      .catch((error: unknown) => this.events.emit('error', { where: 'detach', error }))
      .finally(() => this.pending.delete(done));
    // Bounded by the connections closing at once; `settled()` waits for these.
    this.pending.add(done);
  }

  /** Wait, at most `timeoutMs`, for the detaches sent so far. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * The one sweeper: every interval, expire messages past their TTL and reap detached
 * sessions past the session TTL. Its cost is the store's sweep, proportional to what
 * expires. Sweeps never overlap.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';
import type { StoredMessage } from '../store/store.js';

export interface SweeperContext {
  readonly outbox: Outbox;
  readonly events: Emitter<CoreEvents>;
  /** Messages of `sid` expired (the hub closes its connection, here or elsewhere, with 4002
   *  if some were never written to it). */
  lost(sid: string, messages: readonly StoredMessage[]): void;
}

export function startSweeper(ctx: SweeperContext, clock: Clock, intervalMs: number): TimerHandle {
  let running = false;
  return clock.every(intervalMs, () => {
    if (running) return;
    running = true;
    ctx.outbox
      .sweep()
      .then((r) => {
        // An attached client whose unsent messages expired must learn of the loss.
        for (const e of r.expired) ctx.lost(e.sid, e.messages);
      })
      .catch((error: unknown) => ctx.events.emit('error', { where: 'sweep', error }))
      .finally(() => {
        running = false;
      });
  });
}

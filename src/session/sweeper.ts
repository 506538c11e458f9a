/**
 * The one sweeper: every interval, expire messages past their TTL and reap detached
 * sessions past the session TTL. Its cost is the store's sweep, proportional to what
 * expires. Sweeps never overlap.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';

export function startSweeper(
  outbox: Outbox,
  clock: Clock,
  intervalMs: number,
  events: Emitter<CoreEvents>,
): TimerHandle {
  let running = false;
  return clock.every(intervalMs, () => {
    if (running) return;
    running = true;
    outbox
      .sweep()
      .catch((error: unknown) => events.emit('error', { where: 'sweep', error }))
      .finally(() => {
        running = false;
      });
  });
}

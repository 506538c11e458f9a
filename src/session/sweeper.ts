/**
 * The one sweeper: every interval, expire messages past their TTL and reap detached
 * sessions past the session TTL. Its cost is the store's sweep, proportional to what
 * expires. Sweeps never overlap.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Hub } from './hub.js';

export function startSweeper(hub: Hub, clock: Clock, intervalMs: number): TimerHandle {
  let running = false;
  return clock.every(intervalMs, () => {
    if (running) return;
    running = true;
    hub.outbox
      .sweep()
      .then((r) => {
        // An attached client whose unsent messages expired must learn of the loss.
        for (const e of r.expired) hub.lost(e.sid, e.messages);
      })
      .catch((error: unknown) => hub.events.emit('error', { where: 'sweep', error }))
      .finally(() => {
        running = false;
      });
  });
}

/**
 * What another node told this one over the session bus (docs/architecture.md, "Several
 * nodes"): a hint to read the store (`appended`), messages lost or refused, a takeover of a
 * session attached here, a session ended elsewhere. Each is applied to the sessions attached
 * on this node; the store's seq stays the truth (src/store/session-bus.ts).
 */
import { CloseCode } from '../protocol/index.js';
import type { BusEvent } from '../store/session-bus.js';
import type { Delivery } from './delivery.js';
import type { PositionCheck } from './position-check.js';
import type { SessionRegistry } from './session-registry.js';

/** The parts of the hub a bus event acts on. */
export interface BusEventTargets {
  /** This node's name: a takeover by this node is not news. */
  readonly node: string;
  readonly registry: SessionRegistry;
  readonly delivery: Delivery;
  readonly positions: PositionCheck;
}

export function onBusEvent(e: BusEvent, here: BusEventTargets): void {
  switch (e.type) {
    case 'appended':
      here.delivery.catchUp(e.stream.sid, e.seq);
      return;
    case 'lost':
      here.delivery.lostUpTo(e.stream.sid, e.upTo);
      return;
    case 'refused':
      here.delivery.refused(e.sid);
      return;
    case 'takeover':
      if (e.owner !== here.node) {
        // A resume of it in flight here checks the store's owner once attached.
        here.registry.takeoverHeard(e.sid);
        here.positions.verifyOwner(e.sid);
      }
      return;
    case 'ended':
      here.registry.end(e.sid)?.conn.close(CloseCode.Normal, endReason(e.by));
      return;
  }
}

/** The close reason of a session ended by `by`. */
export const endReason = (by: 'bye' | 'admin' | 'user_limit'): string =>
  by === 'user_limit' ? 'too many sessions' : 'session ended';

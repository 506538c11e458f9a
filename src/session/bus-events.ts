/**
 * What another node told this one over the session bus (docs/architecture.md, "Several
 * nodes"): a hint to read the store (`appended`), messages lost or refused, a takeover of a
 * session attached here, a session ended elsewhere. Each is applied to the sessions attached
 * on this node; the store's seq stays the truth (src/store/session-bus.ts).
 */
import { CloseCode, ErrorCode } from '../protocol/index.js';
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
      here.registry
        .end(e.sid)
        ?.conn.close(CloseCode.Normal, endReason(e.by), endedFrame(e.by, e.reason));
      return;
    case 'disconnect':
      here.registry.disconnect(e.sid, e.reason)?.conn.close(...disconnectClose(e.reason));
      return;
  }
}

/**
 * The `error` frame before the 1000 of a session the server ended (protocol 1.1): the client
 * learns `session_ended` and the reason. None after `bye` (the client asked).
 */
export function endedFrame(
  by: 'bye' | 'admin' | 'user_limit',
  reason: string | undefined,
): { code: string; message: string } | undefined {
  if (by === 'bye') return undefined;
  const fallback =
    by === 'user_limit' ? 'too many sessions for this user' : 'the server ended the session';
  return { code: ErrorCode.SessionEnded, message: reason ?? fallback };
}

/** How a connection closes when the application disconnects its session (kept: 4004). */
export function disconnectClose(
  reason: string | undefined,
): [number, string, { code: string; message: string }] {
  return [
    CloseCode.Disconnected,
    'disconnected',
    { code: ErrorCode.Disconnected, message: reason ?? 'disconnected by the server; resume' },
  ];
}

/** The close reason of a session ended by `by`. */
export const endReason = (by: 'bye' | 'admin' | 'user_limit'): string =>
  by === 'user_limit' ? 'too many sessions' : 'session ended';

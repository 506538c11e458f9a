/**
 * The messages of the Redis bus (src/store/redis/redis-bus.ts) on its channel.
 *
 * Wire format, one JSON array per message, version first (unknown versions are malformed, so
 * a future format is ignored by old nodes and repaired by seq):
 *   [1, from, "a", sid, seq]        appended   [1, from, "t", sid, owner]   takeover
 *   [1, from, "l", sid, upTo]       lost       [1, from, "e", sid, by]      ended
 *   [1, from, "r", sid]             refused    [1, busId, "p"]              probe
 *   [1, from, "d", sid(, reason)]   disconnect
 * `ended` may carry a sixth element, the reason told to the client (`[1, from, "e", sid, by,
 * reason]`); without a reason both messages keep the 1.0 length. A node of 1.0 reads only the
 * five-element end, so an end with a reason is published twice (`encodeBusMessages`): with the
 * reason, then without (a newer node ends the session on the first, the second finds nothing
 * left to end; an older node counts the first as malformed and ends it on the second).
 * `from` is the publishing node (for a probe: the probing bus instance). A malformed message
 * decodes to undefined: the bus counts and ignores it, never throws.
 */
import type { BusEvent } from '../session-bus.js';

const VERSION = 1;

/** The encoded message of `event` published by `from`. */
export function encodeBusEvent(from: string, event: BusEvent): string {
  switch (event.type) {
    case 'appended':
      return JSON.stringify([VERSION, from, 'a', event.stream.sid, event.seq]);
    case 'lost':
      return JSON.stringify([VERSION, from, 'l', event.stream.sid, event.upTo]);
    case 'refused':
      return JSON.stringify([VERSION, from, 'r', event.sid]);
    case 'takeover':
      return JSON.stringify([VERSION, from, 't', event.sid, event.owner]);
    case 'ended':
      return JSON.stringify(
        event.reason === undefined
          ? [VERSION, from, 'e', event.sid, event.by]
          : [VERSION, from, 'e', event.sid, event.by, event.reason],
      );
    case 'disconnect':
      return JSON.stringify(
        event.reason === undefined
          ? [VERSION, from, 'd', event.sid]
          : [VERSION, from, 'd', event.sid, event.reason],
      );
  }
}

/**
 * The messages that publish `event`, in order: one, except for an end with a reason, which is
 * followed by the same end without it, the message older nodes read (see the module comment).
 */
export function encodeBusMessages(from: string, event: BusEvent): string[] {
  const first = encodeBusEvent(from, event);
  if (event.type !== 'ended' || event.reason === undefined) return [first];
  return [first, encodeBusEvent(from, { type: 'ended', sid: event.sid, by: event.by })];
}

export type DecodedBusMessage =
  | { readonly kind: 'event'; readonly from: string; readonly event: BusEvent }
  | { readonly kind: 'probe'; readonly from: string };

const isSeq = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The message `text` decoded, or undefined if it is not one this version understands. */
export function decodeBusMessage(text: string): DecodedBusMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(m) || m[0] !== VERSION || !isName(m[1])) return undefined;
  const from = m[1];
  const [, , code, sid, arg, extra] = m as unknown[];
  const event = (e: BusEvent): DecodedBusMessage => ({ kind: 'event', from, event: e });
  switch (code) {
    case 'p':
      return m.length === 3 ? { kind: 'probe', from } : undefined;
    case 'a':
      return m.length === 5 && isName(sid) && isSeq(arg)
        ? event({ type: 'appended', stream: { kind: 'session', sid }, seq: arg })
        : undefined;
    case 'l':
      return m.length === 5 && isName(sid) && isSeq(arg)
        ? event({ type: 'lost', stream: { kind: 'session', sid }, upTo: arg })
        : undefined;
    case 'r':
      return m.length === 4 && isName(sid) ? event({ type: 'refused', sid }) : undefined;
    case 't':
      return m.length === 5 && isName(sid) && isName(arg)
        ? event({ type: 'takeover', sid, owner: arg })
        : undefined;
    case 'e':
      if (!isName(sid) || (arg !== 'bye' && arg !== 'admin' && arg !== 'user_limit'))
        return undefined;
      if (m.length === 5) return event({ type: 'ended', sid, by: arg });
      return m.length === 6 && typeof extra === 'string'
        ? event({ type: 'ended', sid, by: arg, reason: extra })
        : undefined;
    case 'd':
      if (!isName(sid)) return undefined;
      if (m.length === 4) return event({ type: 'disconnect', sid });
      return m.length === 5 && typeof arg === 'string'
        ? event({ type: 'disconnect', sid, reason: arg })
        : undefined;
    default:
      return undefined;
  }
}

/** The encoded probe of bus instance `from`. */
export function encodeBusProbe(from: string): string {
  return JSON.stringify([VERSION, from, 'p']);
}
